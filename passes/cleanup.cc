#include "passes/cleanup.h"

namespace bnfold::passes {

namespace {

std::string DropoutModeReason(const ir::Node& dropout) {
  const int64_t opset = dropout.opset();
  if (opset < 7) {
    if (!dropout.attrs<ir::DropoutAttrs>().is_test) {
      return "is_test = 0: in opset " + std::to_string(opset) + " that is training mode";
    }
  } else if (opset >= 12) {
    const ir::Value* training = dropout.input(2);
    if (training != nullptr) {
      if (!training->IsConstant()) {
        return "its training_mode input '" + training->name() + "' is not a constant";
      }
      const Tensor& t = *training->constant_data();
      if (t.num_elements() != 1 || t.GetAsDouble(0) != 0.0) {
        return "its training_mode input '" + training->name() + "' is not false";
      }
    }
  }
  const ir::Value* mask = dropout.output(1);
  if (mask != nullptr && (!mask->uses().empty() || mask->is_graph_output())) {
    return "its mask output '" + mask->name() + "' is used";
  }
  return "";
}

// Where x comes from decides how a graph-output y can keep its name.
std::string GraphOutputReason(const ir::Value& x, const ir::Value& y) {
  if (!y.is_graph_output()) return "";
  if (x.producer() == nullptr || x.producer()->kind() == ir::OpKind::kConstant) {
    return "it exposes the graph input or constant '" + x.name() + "' as graph output '" +
           y.name() + "'";
  }
  if (x.is_graph_output()) {
    return "its input '" + x.name() + "' is itself a graph output";
  }
  return "";
}

// Removes an Identity-like `node` (precondition: BypassReason is empty).
void Bypass(ir::Graph& graph, ir::Node* node) {
  ir::Value* x = node->input(0);
  ir::Value* y = node->output(0);
  const std::vector<ir::Value*> outputs = node->outputs();
  if (!y->is_graph_output()) {
    graph.ReplaceAllUsesWith(y, x);
    RemoveNodeAndDeadInputs(graph, node);
  } else {
    // Keep the graph output's name: x's producer now produces y.
    const std::vector<ir::Use> uses = x->uses();
    for (const ir::Use& use : uses) {
      if (use.node != node) graph.SetNodeInput(use.node, use.input_index, y);
    }
    ir::Node* producer = x->producer();
    const int index = x->producer_output();
    RemoveNodeAndDeadInputs(graph, node);
    MoveOutput(graph, producer, index, y);
  }
  for (ir::Value* v : outputs) RemoveIfDead(graph, v);
}

bool IsDead(const ir::Node& node) {
  for (const ir::Value* out : node.outputs()) {
    if (out != nullptr && (!out->uses().empty() || out->is_graph_output())) return false;
  }
  return true;
}

}  // namespace

std::string BypassReason(const ir::Node& node) {
  if (node.kind() != ir::OpKind::kIdentity && node.kind() != ir::OpKind::kDropout) {
    return node.Describe() + " is not an Identity or Dropout";
  }
  if (node.input(0) == nullptr || node.output(0) == nullptr) return "it has no data input or output";
  if (node.kind() == ir::OpKind::kDropout) {
    if (std::string why = DropoutModeReason(node); !why.empty()) return why;
  }
  return GraphOutputReason(*node.input(0), *node.output(0));
}

Status CleanupPass::Run(ir::Graph& graph, PassReport& report) const {
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted;
  auto count_constants = [&graph] {
    int n = 0;
    for (const auto& v : graph.values()) n += v->constant_data() != nullptr;
    return n;
  };
  const int nodes_before = static_cast<int>(graph.num_nodes());
  const int constants_before = count_constants();
  int bypassed = 0;
  Status status = VisitLiveNodes(graph, /*reverse=*/false, [&](ir::Node* node) -> StatusOr<bool> {
    if (node->kind() != ir::OpKind::kIdentity && node->kind() != ir::OpKind::kDropout) {
      return false;
    }
    if (std::string why = BypassReason(*node); !why.empty()) {
      report.notes.push_back("kept " + node->Describe() + ": " + why);
      return false;
    }
    Bypass(graph, node);
    ++bypassed;
    return true;
  });
  if (!status.ok()) return status;
  status = VisitLiveNodes(graph, /*reverse=*/true, [&](ir::Node* node) -> StatusOr<bool> {
    if (!IsDead(*node)) return false;
    const std::vector<ir::Value*> outputs = node->outputs();
    RemoveNodeAndDeadInputs(graph, node);
    for (ir::Value* v : outputs) RemoveIfDead(graph, v);
    return true;
  });
  if (!status.ok()) return status;
  std::vector<ir::Value*> unused;
  for (const auto& v : graph.values()) {
    if (v->uses().empty() && v->producer() == nullptr && !v->is_graph_input() &&
        !v->is_graph_output()) {
      unused.push_back(v.get());
    }
  }
  for (ir::Value* v : unused) RemoveIfDead(graph, v);
  // Removing a node also drops the constants only it read: count by difference.
  const int dead_nodes = nodes_before - static_cast<int>(graph.num_nodes()) - bypassed;
  const int dead_constants = constants_before - count_constants();
  report.rewrites += bypassed + dead_nodes + dead_constants;
  if (report.rewrites > 0) {
    report.notes.push_back("removed " + std::to_string(bypassed) + " Identity/Dropout, " +
                           std::to_string(dead_nodes) + " other nodes, " +
                           std::to_string(dead_constants) + " unused constants");
  }
  return Status::Ok();
}

std::shared_ptr<const Pass> MakeCleanupPass() { return std::make_shared<CleanupPass>(); }

}  // namespace bnfold::passes
