#include "passes/fold_constants.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "passes/fold/linear_op.h"

namespace bnfold::passes {

namespace {

bool IsAffineKind(ir::OpKind kind) {
  return kind == ir::OpKind::kBatchNormalization || kind == ir::OpKind::kMul ||
         kind == ir::OpKind::kAdd || kind == ir::OpKind::kSub || kind == ir::OpKind::kDiv;
}

// Ops that only move data: a fold may look through them (shape_fold.h).
bool IsShapeOnly(ir::OpKind kind) {
  return kind == ir::OpKind::kReshape || kind == ir::OpKind::kFlatten ||
         kind == ir::OpKind::kTranspose || kind == ir::OpKind::kSqueeze ||
         kind == ir::OpKind::kUnsqueeze || kind == ir::OpKind::kIdentity;
}

// Whether `value`, or what shape-only ops make of it, reaches (downstream)
// or comes from (upstream) a node of a kind `wanted` accepts.
template <typename Wanted>
bool Reaches(const ir::Value* value, bool downstream, Wanted wanted) {
  for (int hops = 0; value != nullptr && hops < 8; ++hops) {
    const ir::Node* next = nullptr;
    if (downstream) {
      if (value->uses().size() != 1 || value->is_graph_output()) return false;
      next = value->uses()[0].node;
    } else {
      next = value->producer();
    }
    if (next == nullptr) return false;
    if (wanted(next->kind())) return true;
    if (!IsShapeOnly(next->kind())) return false;
    value = downstream ? next->output(0) : next->input(0);
  }
  return false;
}

bool AllInputsHaveData(const ir::Node& node) {
  if (node.num_inputs() == 0) return false;
  for (const ir::Value* in : node.inputs()) {
    if (in != nullptr && !in->constant_data()) return false;
  }
  return true;
}

// Which values fold-constants will make constants and which feed a fold,
// memoised: both walk a DAG, which a crafted model can make exponential in
// paths. Stack depth is bounded by kMaxDepth (deeper counts as "no").
class FoldNeeds {
 public:
  // Whether fold-constants will evaluate `node`: every input will be constant.
  bool WillBeEvaluated(const ir::Node& node, int depth) {
    if (node.kind() == ir::OpKind::kConstant || node.num_inputs() == 0 || depth > kMaxDepth) {
      return false;
    }
    if (auto it = evaluated_.find(&node); it != evaluated_.end()) return it->second;
    bool all = true;
    for (const ir::Value* in : node.inputs()) {
      if (in != nullptr && !in->constant_data()) {
        all = all && in->producer() != nullptr && WillBeEvaluated(*in->producer(), depth + 1);
      }
    }
    return evaluated_[&node] = all;
  }

  bool FeedsAFold(const ir::Value& value, int depth) {
    if (value.is_graph_output() || value.uses().empty() || depth > kMaxDepth) return false;
    if (auto it = feeds_.find(&value); it != feeds_.end()) return it->second;
    bool all = true;
    for (const ir::Use& use : value.uses()) all = all && ReaderFolds(use, depth);
    return feeds_[&value] = all;
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool ReaderFolds(const ir::Use& use, int depth) {
    const ir::Node& reader = *use.node;
    const int i = use.input_index;
    const ir::OpKind kind = reader.kind();
    if (kind == ir::OpKind::kBatchNormalization) return i >= 1 && i <= 4;
    if (WillBeEvaluated(reader, depth)) {  // folded in turn: its own readers decide
      for (const ir::Value* out : reader.outputs()) {
        if (out != nullptr && !out->uses().empty() && !FeedsAFold(*out, depth + 1)) return false;
      }
      return true;
    }
    if (IsLinearKind(kind)) {  // weights of a linear op next to a BN or affine op
      return (i == 1 || (i == 2 && kind != ir::OpKind::kMatMul)) &&
             (Reaches(reader.output(0), true, IsAffineKind) ||
              Reaches(reader.input(0), false, IsAffineKind));
    }
    if (IsAffineKind(kind)) {  // the constant of Mul/Add/Sub/Div next to a linear op
      const ir::Value* data = reader.num_inputs() == 2 ? reader.input(1 - i) : nullptr;
      return data != nullptr && !data->constant_data() &&
             (Reaches(data, false, IsLinearKind) ||
              Reaches(reader.output(0), true, IsLinearKind));
    }
    return false;
  }

  std::unordered_map<const ir::Node*, bool> evaluated_;
  std::unordered_map<const ir::Value*, bool> feeds_;
};

// Bytes of the inputs of `node` that nothing else reads (they go with it).
int64_t DyingInputBytes(const ir::Node& node) {
  std::vector<const ir::Value*> seen;
  int64_t bytes = 0;
  for (const ir::Value* in : node.inputs()) {
    if (in == nullptr || std::find(seen.begin(), seen.end(), in) != seen.end()) continue;
    seen.push_back(in);
    const bool only_here = std::all_of(in->uses().begin(), in->uses().end(),
                                       [&](const ir::Use& u) { return u.node == &node; });
    if (only_here && !in->is_graph_input() && !in->is_graph_output()) {
      bytes += static_cast<int64_t>(in->constant_data()->byte_size());
    }
  }
  return bytes;
}

}  // namespace

bool FeedsAFold(const ir::Value& value) { return FoldNeeds().FeedsAFold(value, 0); }

MatchOr<FoldConstantMatch> MatchFoldConstant(ir::Node& node, const ConstantEvaluator& evaluator) {
  if (node.kind() == ir::OpKind::kConstant) return NoMatch{node.Describe() + " is a constant already"};
  if (node.num_inputs() == 0) return NoMatch{node.Describe() + " has no inputs"};
  switch (node.kind()) {
#define BNFOLD_RANDOM_CASE(name) case ir::OpKind::k##name:
    BNFOLD_OPS_RANDOM(BNFOLD_RANDOM_CASE)
#undef BNFOLD_RANDOM_CASE
    return NoMatch{node.Describe() + " draws random values on every run"};
    default: break;
  }
  if (!node.subgraphs().empty()) {  // 1
    return NoMatch{node.Describe() + " has subgraphs (its bodies are folded inside, not run here)"};
  }
  std::vector<ir::ConstTensorPtr> inputs;
  for (const ir::Value* in : node.inputs()) {  // 1
    if (in != nullptr) {
      if (std::string why = NotConstantReason(in, "input"); !why.empty()) return NoMatch{why};
    }
    inputs.push_back(in ? in->constant_data() : nullptr);
  }
  for (const ir::Value* out : node.outputs()) {  // 2
    if (out != nullptr && out->is_graph_output()) {
      return NoMatch{"'" + out->name() + "' is a graph output"};
    }
  }
  StatusOr<std::vector<ir::ConstTensorPtr>> outputs =  // 3
      evaluator.Evaluate(node, inputs, kMaxFoldedBytes);
  if (!outputs.ok()) return NoMatch{outputs.status().message()};
  if (static_cast<int>(outputs->size()) != node.num_outputs()) {
    return NoMatch{node.Describe() + ": the evaluator returned " +
                   std::to_string(outputs->size()) + " outputs"};
  }
  FoldConstantMatch match{&node, std::move(*outputs), -DyingInputBytes(node), true};
  for (int i = 0; i < node.num_outputs(); ++i) {
    const ir::Value* out = node.output(i);
    if (out == nullptr || out->uses().empty()) continue;  // dropped with the node
    if (match.outputs[i] == nullptr) {
      return NoMatch{node.Describe() + ": the evaluator did not compute output '" +
                     out->name() + "'"};
    }
    match.bytes_added += static_cast<int64_t>(match.outputs[i]->byte_size());
    match.feeds_fold = match.feeds_fold && FeedsAFold(*out);
  }
  return match;
}

void RewriteFoldConstant(ir::Graph& graph, const FoldConstantMatch& match) {
  const std::vector<ir::Value*> outputs = match.node->outputs();
  RemoveNodeAndDeadInputs(graph, match.node);
  for (size_t i = 0; i < outputs.size(); ++i) {
    ir::Value* out = outputs[i];
    if (out == nullptr) continue;
    if (out->uses().empty()) {
      RemoveIfDead(graph, out);
      continue;
    }
    graph.SetInitializer(out, match.outputs[i]);  // with its dtype and shape
  }
}

Status FoldConstantsPass::Run(ir::Graph& graph, PassReport& report) const {
  if (options_.evaluator == nullptr) return Internal("fold-constants has no constant evaluator");
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted;
  ConstantFoldingStats& stats = report.constants;
  stats.budget_bytes = options_.constant_growth_budget;
  int64_t budget_left = options_.constant_growth_budget;
  std::map<std::string, int> evaluated;
  Status status = VisitLiveNodes(graph, /*reverse=*/false, [&](ir::Node* node) -> StatusOr<bool> {
    if (node->kind() == ir::OpKind::kConstant || !AllInputsHaveData(*node)) return false;
    MatchOr<FoldConstantMatch> match = MatchFoldConstant(*node, *options_.evaluator);
    if (!match.ok()) {
      report.notes.push_back("kept " + node->Describe() + ": " + match.reason());
      return false;
    }
    const bool over = match->bytes_added > std::max<int64_t>(budget_left, 0);
    if (over && !match->feeds_fold && !options_.fold_large_constants) {  // 4
      ++stats.kept_over_budget;
      report.notes.push_back("kept " + node->Describe() + ": its results would add " +
                             std::to_string(match->bytes_added) +
                             " bytes of constants that no fold needs, over the " +
                             std::to_string(std::max<int64_t>(budget_left, 0)) +
                             " bytes left of the budget (--fold-large-constants folds it)");
      return false;
    }
    if (!match->feeds_fold && match->bytes_added > 0) budget_left -= match->bytes_added;
    stats.bytes_added += match->bytes_added;
    ++stats.evaluated;
    ++evaluated[node->op_type()];
    RewriteFoldConstant(graph, *match);
    ++report.rewrites;
    return true;
  });
  if (!status.ok()) return status;
  if (stats.evaluated > 0) {
    std::string ops;
    for (const auto& [op, n] : evaluated) ops += (ops.empty() ? "" : ", ") + op + " " + std::to_string(n);
    report.notes.push_back("evaluated " + std::to_string(stats.evaluated) +
                           " node(s) into constants (" + ops + "), " +
                           std::to_string(stats.bytes_added) + " bytes added");
  }
  return Status::Ok();
}

std::shared_ptr<const Pass> MakeFoldConstantsPass(const PassOptions& options) {
  return std::make_shared<FoldConstantsPass>(options);
}

}  // namespace bnfold::passes
