// fold-batchnorm: an inference BatchNormalization folded into the constant
// weights of the linear op that produces its input.
//
// Before:  X -> Conv(W, b) -> t -> BatchNormalization(scale, B, mean, var) -> Y
// After:   X -> Conv(W', b') -> Y
//
//   s = scale / sqrt(var + epsilon)     (per channel, in double)
//   W' = W * s on the output-channel axis,   b' = (b - mean) * s + B
// Producers (see output_fold.h for each formula):
//   Conv 1-D/2-D/3-D, any group (depthwise included), with or without bias;
//   ConvTranspose, any group, with or without bias;
//   Gemm, any transB, alpha and beta, C absent / scalar / [N] / [1,N] / [M,N];
//   MatMul with a constant 2-D right operand, optionally followed by the Add
//   of a constant bias (rank-2 output: BN's channel axis 1 is the last axis).
// Through shape-only ops (shape_chain.h):
//   X -> MatMul(B) -> y -> Reshape/Flatten/Transpose... -> t -> BN -> Y
//   folds as B' = B * s[g(n)], bias' = bias * s[g(n)] + t[g(n)] for each
//   column n, where g(n) is the BN channel column n provably lands on; the
//   shape ops stay and produce Y.
//
// Preconditions (numbered as in the recorded reasons):
//  1-6. The BN is an inference-mode per-channel affine map (batchnorm_affine.h:
//       mode per opset, only Y read, constant non-overridable parameters,
//       floating types, per-channel shapes, finite values).
//  7. X is produced by one of the producers above, whose weights (and bias or
//     C) are constants no caller can override, directly or through a chain
//     of Reshape / Flatten / Transpose reading each other's output (input 0).
//  8. X, every value of the chain (and, for MatMul + Add, the MatMul's
//     output) has exactly one reader and is not a graph output: the
//     producer's result changes.
//  9. Directly: the BN's channel axis 1 is the producer's output-channel axis
//     and the channel counts agree. Through a chain: the static shapes prove
//     (ProveChannelMap) that each producer channel lands on one BN channel;
//     every dim fixed except a batch axis 0 every op keeps outermost.
// 10. Every folded value is finite in its storage dtype.
// Every BN gets a BatchNormDecision: folded into which node, or why not.
#pragma once

#include <memory>
#include <vector>

#include "passes/fold/fold_util.h"
#include "passes/fold/output_fold.h"
#include "passes/pass.h"

namespace bnfold::passes {

struct FoldBatchNormMatch {
  ir::Node* batchnorm = nullptr;
  LinearProducer producer;
  LinearRewrite rewrite;
  // Shape-only ops from the producer's output to the BN's input, in data
  // order; empty when the producer feeds the BN directly.
  std::vector<ir::Node*> chain;
};

// Pure: inspects `batchnorm` and its producer, computes the folded constants.
MatchOr<FoldBatchNormMatch> MatchFoldBatchNorm(ir::Node& batchnorm);
// Applies a match; fails only on an internal error, before any rewiring.
Status RewriteFoldBatchNorm(ir::Graph& graph, const FoldBatchNormMatch& match);

class FoldBatchNormPass : public Pass {
 public:
  const char* name() const override { return "fold-batchnorm"; }
  Status Run(ir::Graph& graph, PassReport& report) const override;
};

std::shared_ptr<const Pass> MakeFoldBatchNormPass();

}  // namespace bnfold::passes
