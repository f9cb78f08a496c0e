#include "passes/fold_batchnorm.h"

#include "passes/fold/batchnorm_affine.h"
#include "passes/fold/shape_chain.h"

namespace bnfold::passes {

namespace {

// Preconditions 7-9 through shape-only ops: `chain` (data order) leads from
// the producer's output to the BN's input.
MatchOr<FoldBatchNormMatch> MatchThroughChain(ir::Node& batchnorm, const ChannelAffine& affine,
                                              std::vector<ir::Node*> chain) {
  const ir::Value& y = *chain.front()->input(0);
  MATCH_OR_RETURN(LinearProducer producer, MatchLinearProducer(y));  // 7
  for (size_t i = 0; i < chain.size(); ++i) {  // 8
    const ir::Value& value = *chain[i]->input(0);
    if (std::string why = SoleUseReason(value, *chain[i]); !why.empty()) {
      return NoMatch{"'" + value.name() + "' (read by " + chain[i]->Describe() + ") " + why};
    }
  }
  if (std::string why = SoleUseReason(*batchnorm.input(0), batchnorm); !why.empty()) {
    return NoMatch{chain.back()->Describe() + " output " + why};
  }
  // 9: the static shapes prove where each producer channel lands on BN's axis 1.
  MATCH_OR_RETURN(Dims start, StaticDims(y));
  const ChannelLayout& layout = producer.layout;
  const int rank = static_cast<int>(start.size());
  const int start_axis = rank - 1 - layout.axis_from_end;
  if ((layout.rank >= 0 && layout.rank != rank) || start_axis < 0 ||
      start[start_axis] != layout.channels) {
    return NoMatch{producer.op.node->Describe() + " output has shape " + ShapeString(start) +
                   ", not " + std::to_string(layout.channels) + " channels on " +
                   layout.Describe()};
  }
  MATCH_OR_RETURN(std::vector<Dims> dims, ChainDims(chain, start));
  const Dims& end = dims.back();
  if (end.size() < 2 || end[1] != affine.channels()) {
    return NoMatch{"its input has shape " + ShapeString(end) + " after " + DescribeChain(chain) +
                   ", not " + std::to_string(affine.channels()) + " channels on axis 1"};
  }
  MATCH_OR_RETURN(std::vector<int64_t> g,
                  ProveChannelMap(chain, dims, start_axis, 1, MapDirection::kStartToEnd));
  FoldBatchNormMatch match;
  match.batchnorm = &batchnorm;
  match.producer = producer;
  match.chain = std::move(chain);
  MATCH_OR_RETURN(match.rewrite, PlanOutputAffine(producer, affine.Gather(g)));  // 10
  return match;
}

}  // namespace

MatchOr<FoldBatchNormMatch> MatchFoldBatchNorm(ir::Node& batchnorm) {
  MATCH_OR_RETURN(ChannelAffine affine, MatchInferenceBatchNorm(batchnorm));  // 1-6
  const ir::Value& x = *batchnorm.input(0);
  std::vector<ir::Node*> chain;  // 7: shape-only ops between the producer and the BN
  for (ir::Node* p = x.producer(); p != nullptr && IsShapeOnlyKind(p->kind()) &&
                                   p->input(0) != nullptr;
       p = p->input(0)->producer()) {
    chain.insert(chain.begin(), p);
  }
  if (!chain.empty()) return MatchThroughChain(batchnorm, affine, std::move(chain));
  MATCH_OR_RETURN(LinearProducer producer, MatchLinearProducer(x));  // 7
  if (std::string why = SoleUseReason(x, batchnorm); !why.empty()) {  // 8
    return NoMatch{producer.op.node->Describe() + " output " + why,
                   producer.op.node->op_type() + " output shared"};
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
  return ApplyOutputFold(graph, match.producer, match.rewrite, match.batchnorm,
                         match.chain.empty() ? nullptr : match.chain.back());
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
      decision.brief = match.brief();
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
