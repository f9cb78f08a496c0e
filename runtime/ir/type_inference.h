// bnfold's own type and shape propagation: runs every node's op-schema rule
// (op_schema.h) in graph order, so that each value's dtype() and shape() are
// what bnfold computes, whatever the model file declares and whether or not
// the installed ONNX library knows the model's IR version and opset.
//
// Sources: a constant's data; a graph input's declaration (what the caller
// feeds); otherwise the producer's rule. An op bnfold does not know keeps
// what the model declares for its outputs (or stays unknown, with the
// reason recorded on the value: Value::unknown_type_reason()). A rule that
// cannot compute an output's dtype leaves the declared dtype in place; a
// declared shape is never taken over (folds rely on shapes proved, not
// stated), only compared.
#pragma once

#include <string>
#include <vector>

#include "runtime/ir/graph.h"

namespace bnfold::ir {

struct TypeInferenceReport {
  // Declarations (graph outputs, value_info) that contradict what the graph
  // computes, one line each naming the value and its producer.
  std::vector<std::string> conflicts;
  // Nodes whose rule found them inconsistent ("<node>: <why>"); the
  // kernels report them again when the model is compiled.
  std::vector<std::string> node_errors;
};

// Precondition: `graph` is topologically sorted.
TypeInferenceReport InferTypes(Graph& graph);

// "float[batch,3,224,224]", "float[?]" (unknown dim), "float (rank unknown)".
std::string TypeToString(DataType dtype, const std::optional<StaticShape>& shape);

}  // namespace bnfold::ir
