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

namespace bnfold {
class PendingFile;
}

namespace bnfold::onnx_io {

// `skeleton` is LoadedModel::skeleton: the input model without nodes and
// initializers.
StatusOr<std::unique_ptr<onnx::ModelProto>> ExportModel(
    const onnx::ModelProto& skeleton, const ir::Graph& graph);

// Serializes `model` into `file` as a stream: no serialized copy of the
// model in memory. The caller finishes and commits the file.
Status SerializeModel(const onnx::ModelProto& model, PendingFile* file);

// Writes `model` to `path` atomically (a PendingFile, streamed).
Status WriteModelFile(const onnx::ModelProto& model, const std::string& path);

}  // namespace bnfold::onnx_io
