// ModelProto -> IR. Validates names, attributes and tensor data on the way;
// every error names the node and the reason.
#pragma once

#include <string>
#include <string_view>

#include "bnfold/status.h"
#include "runtime/ir/model.h"

namespace onnx {
class ModelProto;
class GraphProto;
class TypeProto;
}

namespace bnfold::onnx_io {

// `text` (names and messages from a model file) on one line: newlines
// become spaces, other control characters \xNN escapes.
std::string OneLineText(std::string_view text);

// External data must already be inlined. The graph is imported in file order
// (not sorted): the caller sorts it.
StatusOr<ir::Model> ImportModel(const onnx::ModelProto& proto);

// Copies element types and shapes from `graph`'s value_info, inputs and
// outputs onto values of `ir_graph` that have no shape yet.
void ImportValueInfo(const onnx::GraphProto& graph, ir::Graph* ir_graph);

}  // namespace bnfold::onnx_io
