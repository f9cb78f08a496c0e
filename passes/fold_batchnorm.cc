#include "passes/fold_batchnorm.h"

#include "passes/fold/batchnorm_affine.h"

namespace bnfold::passes {

MatchOr<FoldBatchNormMatch> MatchFoldBatchNorm(ir::Node& batchnorm) {
  MATCH_OR_RETURN(ChannelAffine affine, MatchInferenceBatchNorm(batchnorm));  // 1-6
  const ir::Value& x = *batchnorm.input(0);
  MATCH_OR_RETURN(LinearProducer producer, MatchLinearProducer(x));  // 7
  if (std::string why = SoleUseReason(x, batchnorm); !why.empty()) {  // 8
    return NoMatch{producer.op.node->Describe() + " output " + why};
  }
  const ChannelLayout& layout = producer.layout;  // 9
  if (!layout.ChannelAxisIsOne()) {
    return NoMatch{"BatchNormalization normalizes axis 1 but " + producer.op.node->Describe() +
                   " has its output channels on " + layout.Describe()};
  }
  FoldBatchNormMatch match;
  match.batchnorm = &batchnorm;
  match.producer = producer;
  MATCH_OR_RETURN(match.rewrite, PlanOutputAffine(producer, affine));  // 9, 10
  return match;
}

Status RewriteFoldBatchNorm(ir::Graph& graph, const FoldBatchNormMatch& match) {
  return ApplyOutputFold(graph, match.producer, match.rewrite, match.batchnorm);
}

Status FoldBatchNormPass::Run(ir::Graph& graph, PassReport& report) const {
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted;
  return VisitLiveNodes(graph, /*reverse=*/false, [&](ir::Node* node) -> StatusOr<bool> {
    if (node->kind() != ir::OpKind::kBatchNormalization) return false;
    BatchNormDecision decision;
    decision.node = DecisionName(*node);
    MatchOr<FoldBatchNormMatch> match = MatchFoldBatchNorm(*node);
    if (!match.ok()) {
      decision.reason = match.reason();
      report.batchnorm.push_back(decision);
      return false;
    }
    decision.folded = true;
    decision.folded_into = match->producer.op.node->Describe();
    const std::string where = node->Describe();  // the rewrite deletes `node`
    Status status = RewriteFoldBatchNorm(graph, *match);
    if (!status.ok()) return status.WithContext(where);
    report.batchnorm.push_back(decision);
    ++report.rewrites;
    return true;
  });
}

std::shared_ptr<const Pass> MakeFoldBatchNormPass() {
  return std::make_shared<FoldBatchNormPass>();
}

}  // namespace bnfold::passes
