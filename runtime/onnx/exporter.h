// IR -> ModelProto, keeping everything of the input model the IR does not
// model (metadata, functions, doc strings, declarations of surviving values).
#pragma once

#include <memory>
#include <string>

#include "bnfold/status.h"
#include "runtime/ir/graph.h"

namespace onnx {
class ModelProto;
}

namespace bnfold::onnx_io {

// `skeleton` is LoadedModel::skeleton: the input model without nodes and
// initializers.
StatusOr<std::unique_ptr<onnx::ModelProto>> ExportModel(
    const onnx::ModelProto& skeleton, const ir::Graph& graph);

// Serializes `model` and writes it to `path` atomically (temp file + rename).
Status WriteModelFile(const onnx::ModelProto& model, const std::string& path);

}  // namespace bnfold::onnx_io
