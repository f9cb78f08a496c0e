#include "passes/fold_affine.h"

namespace bnfold::passes {

namespace {

// A Mul/Add/Sub/Div reading a linear op's output and a constant (even an
// overridable one): a fold candidate whose refusal is worth a note.
bool LooksLikeCandidate(const ir::Node& op) {
  if (op.num_inputs() != 2 || op.input(0) == nullptr || op.input(1) == nullptr) return false;
  for (int i = 0; i < 2; ++i) {
    const ir::Node* producer = op.input(i)->producer();
    const bool follows_linear =
        producer != nullptr &&
        (IsLinearKind(producer->kind()) || MatchLinearProducer(*op.input(i)).ok());
    if (follows_linear && op.input(1 - i)->constant_data()) return true;
  }
  return false;
}

}  // namespace

MatchOr<FoldAffineMatch> MatchFoldAffine(ir::Node& op, bool* interesting) {
  *interesting = false;
  if (op.kind() != ir::OpKind::kMul && op.kind() != ir::OpKind::kAdd &&
      op.kind() != ir::OpKind::kSub && op.kind() != ir::OpKind::kDiv) {
    return NoMatch{op.Describe() + " is not Mul/Add/Sub/Div"};
  }
  *interesting = LooksLikeCandidate(op);
  MATCH_OR_RETURN(AffineOperands operands, SplitAffineOperands(op));  // 1
  MATCH_OR_RETURN(LinearProducer producer, MatchLinearProducer(*operands.data));  // 2
  const bool shift_only = op.kind() == ir::OpKind::kAdd ||
                          (op.kind() == ir::OpKind::kSub && !operands.constant_first);
  if (shift_only && producer.op.spec->bias == BiasForm::kAddAfter &&
      producer.bias_add == nullptr) {  // 5
    *interesting = false;
    return NoMatch{op.Describe() + " already is the bias of " + producer.op.node->Describe()};
  }
  if (std::string why = SoleUseReason(*operands.data, op); !why.empty()) {  // 3
    return NoMatch{producer.op.node->Describe() + " output " + why};
  }
  MATCH_OR_RETURN(ChannelAffine affine, ToChannelAffine(operands, producer.layout));  // 1, 4
  FoldAffineMatch match;
  match.op = &op;
  match.producer = producer;
  MATCH_OR_RETURN(match.rewrite, PlanOutputAffine(producer, affine));  // 6
  return match;
}

Status RewriteFoldAffine(ir::Graph& graph, const FoldAffineMatch& match) {
  return ApplyOutputFold(graph, match.producer, match.rewrite, match.op);
}

Status FoldAffinePass::Run(ir::Graph& graph, PassReport& report) const {
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted;
  return VisitLiveNodes(graph, /*reverse=*/false, [&](ir::Node* node) -> StatusOr<bool> {
    bool interesting = false;
    MatchOr<FoldAffineMatch> match = MatchFoldAffine(*node, &interesting);
    if (!match.ok()) {
      if (interesting) report.notes.push_back(node->Describe() + " not folded: " + match.reason());
      return false;
    }
    const std::string what = node->Describe();  // the rewrite deletes `node`
    const std::string into = match->producer.op.node->Describe();
    Status status = RewriteFoldAffine(graph, *match);
    if (!status.ok()) return status.WithContext(what);
    report.notes.push_back("folded " + what + " into " + into);
    ++report.rewrites;
    return true;
  });
}

std::shared_ptr<const Pass> MakeFoldAffinePass() { return std::make_shared<FoldAffinePass>(); }

}  // namespace bnfold::passes
