#include "passes/fold_batchnorm_forward.h"

#include <optional>

#include "passes/fold/batchnorm_affine.h"
#include "passes/fold/shape_chain.h"

namespace bnfold::passes {

namespace {

// Precondition 3: the MaxPool only reorders values, which commutes with an
// increasing map.
std::string MaxPoolReason(const ir::Node& pool, const ChannelAffine& affine) {
  const ir::Value* indices = pool.output(1);
  if (indices != nullptr && (!indices->uses().empty() || indices->is_graph_output())) {
    return pool.Describe() + " has its Indices output in use";
  }
  for (int64_t c = 0; c < affine.channels(); ++c) {
    if (!(affine.scale[c] > 0.0)) {
      return "the scale of channel " + std::to_string(c) + " is " +
             NumberString(affine.scale[c]) + ", not positive: " + pool.Describe() +
             " does not commute with a sign flip or a zero scale";
    }
  }
  return "";
}

// Preconditions 4-5 through shape-only ops: `chain` (data order) leads from
// the BN's output to `consumer`'s data input. The BN's map, proved to reach
// each of the consumer's input channels from one BN channel, becomes a map
// on the consumer's input channels.
MatchOr<ChannelAffine> ThroughChain(const ir::Node& batchnorm, const ChannelAffine& affine,
                                    const std::vector<ir::Node*>& chain,
                                    const LinearConsumer& consumer) {
  MATCH_OR_RETURN(Dims start, StaticDims(*batchnorm.input(0)));
  if (start.size() < 2 || start[1] != affine.channels()) {
    return NoMatch{"its input has shape " + ShapeString(start) + ", not " +
                   std::to_string(affine.channels()) + " channels on axis 1"};
  }
  MATCH_OR_RETURN(std::vector<Dims> dims, ChainDims(chain, start));
  const Dims& end = dims.back();
  const ChannelLayout& layout = consumer.layout;
  const int rank = static_cast<int>(end.size());
  const int end_axis = rank - 1 - layout.axis_from_end;
  if ((layout.rank >= 0 && layout.rank != rank) || end_axis < 0 ||
      end[end_axis] != layout.channels) {
    return NoMatch{consumer.op.node->Describe() + " reads shape " + ShapeString(end) + " after " +
                   DescribeChain(chain) + ", not " + std::to_string(layout.channels) +
                   " channels on " + layout.Describe()};
  }
  MATCH_OR_RETURN(std::vector<int64_t> g,
                  ProveChannelMap(chain, dims, 1, end_axis, MapDirection::kEndToStart));
  return affine.Gather(g);
}

}  // namespace

MatchOr<FoldForwardMatch> MatchFoldForward(ir::Node& source, bool* interesting) {
  const bool is_batchnorm = source.kind() == ir::OpKind::kBatchNormalization;
  *interesting = is_batchnorm;
  FoldForwardMatch match;
  match.source = &source;
  std::optional<ChannelAffine> batchnorm;
  AffineOperands operands;
  if (is_batchnorm) {  // 1
    MATCH_OR_RETURN(batchnorm, MatchInferenceBatchNorm(source));
    match.source_data = source.input(0);
  } else {
    MATCH_OR_RETURN(operands, SplitAffineOperands(source));
    const ir::Node* producer = operands.data->producer();
    if (producer != nullptr && IsLinearKind(producer->kind())) {
      return NoMatch{"its input comes from " + producer->Describe() + ": fold-affine's case"};
    }
    match.source_data = operands.data;
  }
  MATCH_OR_RETURN(match.reader, SoleUse(*source.output(0)));  // 2
  ir::Node* reader = match.reader.node;
  ir::Node* pool = nullptr;
  const ir::Value* consumer_input = source.output(0);
  std::vector<ir::Node*> chain;  // shape-only ops between a BN and its consumer
  if (reader->kind() == ir::OpKind::kMaxPool && match.reader.input_index == 0) {
    pool = reader;
    MATCH_OR_RETURN(ir::Use next, SoleUse(*pool->output(0)));
    reader = next.node;
    consumer_input = pool->output(0);
  } else if (is_batchnorm) {
    ir::Use at = match.reader;
    while (IsShapeOnlyKind(at.node->kind()) && at.input_index == 0) {
      chain.push_back(at.node);
      consumer_input = at.node->output(0);
      MATCH_OR_RETURN(at, SoleUse(*consumer_input));  // 2
    }
    reader = at.node;
  }
  if (!IsLinearKind(reader->kind())) {  // 4
    return NoMatch{"its output feeds " + (chain.empty() ? "" : DescribeChain(chain) + " -> ") +
                       reader->Describe() + ", not a Conv, ConvTranspose, Gemm or MatMul",
                   "before " + reader->op_type()};
  }
  *interesting = true;
  MATCH_OR_RETURN(match.consumer, MatchLinearConsumer(*reader, *consumer_input));
  const ChannelLayout& layout = match.consumer.layout;
  ChannelAffine affine;
  if (is_batchnorm && !chain.empty()) {  // 5, through the chain
    MATCH_OR_RETURN(affine, ThroughChain(source, *batchnorm, chain, match.consumer));
  } else if (is_batchnorm) {  // 5
    if (!layout.ChannelAxisIsOne()) {
      return NoMatch{"BatchNormalization normalizes axis 1 but " + reader->Describe() +
                     " reads its channels on " + layout.Describe()};
    }
    affine = *batchnorm;
  } else {
    MATCH_OR_RETURN(affine, ToChannelAffine(operands, layout));
  }
  if (pool != nullptr) {  // 3
    if (std::string why = MaxPoolReason(*pool, affine); !why.empty()) return NoMatch{why};
  }
  MATCH_OR_RETURN(match.rewrite, PlanInputAffine(match.consumer, affine));  // 5, 6, 7
  return match;
}

Status RewriteFoldForward(ir::Graph& graph, const FoldForwardMatch& match) {
  return ApplyInputFold(graph, match.rewrite, match.source, match.source_data, match.reader);
}

Status FoldBatchNormForwardPass::Run(ir::Graph& graph, PassReport& report) const {
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted;
  return VisitLiveNodes(graph, /*reverse=*/true, [&](ir::Node* node) -> StatusOr<bool> {
    const bool is_batchnorm = node->kind() == ir::OpKind::kBatchNormalization;
    if (!is_batchnorm && node->kind() != ir::OpKind::kMul && node->kind() != ir::OpKind::kAdd &&
        node->kind() != ir::OpKind::kSub && node->kind() != ir::OpKind::kDiv) {
      return false;
    }
    bool interesting = false;
    MatchOr<FoldForwardMatch> match = MatchFoldForward(*node, &interesting);
    const std::string what = node->Describe();  // the rewrite deletes `node`
    BatchNormDecision decision;
    decision.node = DecisionName(*node);
    if (!match.ok()) {
      if (is_batchnorm) {
        decision.reason = match.reason();
        decision.brief = match.brief();
        report.batchnorm.push_back(decision);
      } else if (interesting) {
        report.notes.push_back(what + " not folded forward: " + match.reason());
      }
      return false;
    }
    const std::string into = match->consumer.op.node->Describe();
    Status status = RewriteFoldForward(graph, *match);
    if (!status.ok()) return status.WithContext(what);
    if (is_batchnorm) {
      decision.folded = true;
      decision.folded_into = into;
      report.batchnorm.push_back(decision);
    } else {
      report.notes.push_back("folded " + what + " forward into " + into);
    }
    ++report.rewrites;
    return true;
  });
}

std::shared_ptr<const Pass> MakeFoldBatchNormForwardPass() {
  return std::make_shared<FoldBatchNormForwardPass>();
}

}  // namespace bnfold::passes
