#include "passes/fold/fold_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "runtime/ir/tensor_util.h"

namespace bnfold::passes {

DoubleTensor ToDoubleTensor(const Tensor& tensor) {
  return DoubleTensor{tensor.shape(), ir::ToDoubleVector(tensor)};
}

DoubleTensor ConstantAsDouble(const ir::Value& value) {
  return ToDoubleTensor(*value.constant_data());
}

MatchOr<ir::ConstTensorPtr> RoundToDtype(DataType dtype, const DoubleTensor& values,
                                         const std::string& what) {
  StatusOr<ir::ConstTensorPtr> made = ir::MakeConstant(dtype, values.shape, values.values);
  if (!made.ok()) return NoMatch{"cannot build the folded " + what + ": " + made.status().message()};
  const Tensor& t = **made;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (!std::isfinite(t.GetAsDouble(i))) {
      return NoMatch{"the folded " + what + " would hold a non-finite value (" +
                     NumberString(values.values[i]) + " at element " + std::to_string(i) +
                     " in " + DataTypeName(dtype) + ")"};
    }
  }
  return *made;
}

std::string NotConstantReason(const ir::Value* value, const std::string& role) {
  if (value == nullptr) return role + " is missing";
  if (value->is_overridable()) {
    return role + " '" + value->name() +
           "' is an initializer that is also a graph input (IR >= 4), so the caller "
           "may override it at run time";
  }
  if (!value->constant_data()) {
    return role + " '" + value->name() + "' is computed at run time, not a constant";
  }
  return "";
}

std::string NotFloatingReason(const ir::Value& value, const std::string& role) {
  if (IsFloatingPoint(value.dtype())) return "";
  const std::string what = role + " '" + value.name() + "'";
  if (value.dtype() != DataType::kUndefined) {
    return what + " is " + DataTypeName(value.dtype()) + ", not a floating-point type";
  }
  const std::string& why = value.unknown_type_reason();
  return what + " has no known element type" + (why.empty() ? "" : ": " + why);
}

std::string SoleUseReason(const ir::Value& value, const ir::Node& consumer) {
  if (value.is_graph_output()) {
    return "'" + value.name() + "' is a graph output, so it must keep its unfolded value";
  }
  if (value.uses().size() != 1 || value.uses()[0].node != &consumer) {
    std::string readers;
    for (const ir::Use& u : value.uses()) readers += (readers.empty() ? "" : ", ") + u.node->Describe();
    return "'" + value.name() + "' has " + std::to_string(value.uses().size()) + " uses (" +
           readers + "); folding would change what the others read";
  }
  return "";
}

MatchOr<ir::Use> SoleUse(const ir::Value& value) {
  if (value.is_graph_output()) {
    return NoMatch{"'" + value.name() + "' is a graph output, so it must keep its value",
                   "output is a graph output"};
  }
  if (value.uses().size() != 1) {
    return NoMatch{"'" + value.name() + "' has " + std::to_string(value.uses().size()) +
                       " uses; folding needs exactly one",
                   value.uses().empty() ? "output unused"
                                         : "output has " + std::to_string(value.uses().size()) + " readers"};
  }
  return value.uses()[0];
}

MatchOr<int64_t> IntAttr(const ir::Node& node, const std::string& name, int64_t fallback) {
  StatusOr<int64_t> v = node.GetInt(name, fallback);
  if (!v.ok()) return NoMatch{v.status().message()};
  return *v;
}

MatchOr<float> FloatAttr(const ir::Node& node, const std::string& name, float fallback) {
  StatusOr<float> v = node.GetFloat(name, fallback);
  if (!v.ok()) return NoMatch{v.status().message()};
  return *v;
}

MatchOr<std::vector<int64_t>> IntsAttr(const ir::Node& node, const std::string& name) {
  StatusOr<std::vector<int64_t>> v = node.GetInts(name, {});
  if (!v.ok()) return NoMatch{v.status().message()};
  return *v;
}

MatchOr<std::string> StringAttr(const ir::Node& node, const std::string& name,
                                const std::string& fallback) {
  StatusOr<std::string> v = node.GetString(name, fallback);
  if (!v.ok()) return NoMatch{v.status().message()};
  return *v;
}

std::string ShapeString(const std::vector<int64_t>& shape) { return ShapeToString(shape); }

std::string NumberString(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

int KnownRank(const ir::Value& value) {
  if (value.constant_data()) return static_cast<int>(value.constant_data()->shape().size());
  return value.shape() ? static_cast<int>(value.shape()->size()) : -1;
}

StatusOr<ir::Value*> AddFreshInitializer(ir::Graph& graph, const std::string& base,
                                         ir::ConstTensorPtr data) {
  return graph.AddInitializer(graph.UniqueName(base), std::move(data));
}

StatusOr<ir::Value*> AddFreshValueLike(ir::Graph& graph, const ir::Value& like,
                                       const std::string& suffix) {
  StatusOr<ir::Value*> v = graph.AddValue(graph.UniqueName(like.name() + suffix));
  if (!v.ok()) return v;
  (*v)->set_dtype(like.dtype());
  (*v)->set_shape(like.shape());
  return v;
}

void RemoveIfDead(ir::Graph& graph, ir::Value* value) {
  if (value == nullptr || !value->uses().empty() || value->is_graph_input() ||
      value->is_graph_output()) {
    return;
  }
  ir::Node* producer = value->producer();
  if (producer != nullptr) {
    if (producer->kind() != ir::OpKind::kConstant) return;
    graph.RemoveNode(producer);
  }
  (void)graph.RemoveValue(value);  // cannot fail: checked above
}

void RemoveNodeAndDeadInputs(ir::Graph& graph, ir::Node* node) {
  // Once each: a node may read one value twice (BatchNormalization with the
  // same initializer as scale and var), and the first RemoveIfDead frees it.
  std::vector<ir::Value*> inputs;
  for (ir::Value* in : node->inputs()) {
    if (std::find(inputs.begin(), inputs.end(), in) == inputs.end()) inputs.push_back(in);
  }
  graph.RemoveNode(node);
  for (ir::Value* in : inputs) RemoveIfDead(graph, in);
}

void MoveOutput(ir::Graph& graph, ir::Node* node, int index, ir::Value* target) {
  ir::Value* old = node->output(index);
  graph.SetNodeOutput(node, index, target);
  if (old != nullptr) RemoveIfDead(graph, old);
}

void SetIntAttr(ir::Node& node, const std::string& name, int64_t value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInt;
  a.i = value;
  node.SetAttribute(std::move(a));
}

void SetFloatAttr(ir::Node& node, const std::string& name, float value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kFloat;
  a.f = value;
  node.SetAttribute(std::move(a));
}

Status VisitLiveNodes(ir::Graph& graph, bool reverse,
                      const std::function<StatusOr<bool>(ir::Node*)>& visit) {
  // Node ids are stable and never reused, unlike addresses of deleted
  // nodes; Graph::FindNode answers in O(1) whether one is still there, so a
  // pass that removes N nodes stays linear (rebuilding a live set after each
  // change made the cleanup of a chain of N Identity nodes quadratic).
  std::vector<size_t> order;
  order.reserve(graph.num_nodes());
  for (ir::Node* n : graph.nodes()) order.push_back(n->id());
  if (reverse) std::reverse(order.begin(), order.end());
  for (size_t id : order) {
    ir::Node* node = graph.FindNode(id);
    if (node == nullptr) continue;
    StatusOr<bool> changed = visit(node);
    if (!changed.ok()) return changed.status();
  }
  return Status::Ok();
}

std::string DecisionName(const ir::Node& node) {
  return node.name().empty() ? node.Describe() : node.name();
}

}  // namespace bnfold::passes
