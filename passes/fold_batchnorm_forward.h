// fold-batchnorm-forward: an inference BatchNormalization (or a constant
// per-channel Mul/Add/Sub/Div) folded into the linear op that READS its
// output — the "BN after activation" placement, where no linear op produces
// the BN's input.
//
// Before:  Conv -> Relu -> BatchNormalization(s, t) -> [MaxPool ->] Conv(W, b) -> Y
// After:   Conv -> Relu -> [MaxPool ->] Conv(W', b') -> Y
// Before:  X -> Sub(mean) -> Div(std) -> Gemm(B, C) -> Y     (input normalization)
// After:   X -> Gemm(B', C') -> Y
// Before:  Relu -> BatchNormalization -> Flatten/Reshape/Transpose... -> Gemm -> Y
// After:   Relu -> Flatten/Reshape/Transpose... -> Gemm(B', C') -> Y
//          (a BN only: consumer input channel k takes the BN's map of the one
//          channel g(k) that provably reaches it, shape_chain.h)
//
// With the BN as x -> x * s + t on the consumer's input channels (formulas in
// input_fold.h):  W'[m, c, k] = W[m, c, k] * s[c],
//                 b'[m] = b[m] + sum_{c, k} W[m, c, k] * t[c]   (c within m's group)
//
// Preconditions (each failure is the reason recorded for the BN):
//  1. The BN is an inference-mode per-channel affine map (batchnorm_affine.h);
//     an elementwise op has one constant, non-overridable, floating operand.
//  2. Its output has exactly one reader and is not a graph output; so does
//     the MaxPool's output when the path goes through one, and every output
//     of a chain of Reshape / Flatten / Transpose (input 0) after a BN.
//  3. A MaxPool in between: its Indices output is unused and every scale is
//     positive (max(s * x + t) = s * max(x) + t needs s > 0).
//  4. The reader is a Conv, ConvTranspose (scale only), Gemm (transA = 0) or
//     MatMul with constant, non-overridable weights, reading it as input 0.
//  5. The channel axes agree: BN's axis 1 is the consumer's input-channel
//     axis (a MatMul input must be rank 2); the channel counts match; an
//     elementwise constant broadcasts along that axis only. Through a chain:
//     the static shapes prove (ProveChannelMap) that each consumer input
//     channel is fed by one BN channel; every dim fixed except a batch axis
//     0 every op keeps outermost.
//  6. A Conv with a nonzero shift must not pad its input ("padding").
//  7. Every folded value is finite in its storage dtype.
// Elementwise ops whose input comes straight from a linear op are left to
// fold-affine (folding them forward would only move a bias around).
// Nodes are visited in reverse order so a chain Sub -> Div -> Conv folds
// from the consumer backwards.
#pragma once

#include <memory>

#include "passes/fold/channel_affine.h"
#include "passes/fold/input_fold.h"
#include "passes/pass.h"

namespace bnfold::passes {

struct FoldForwardMatch {
  ir::Node* source = nullptr;     // the BN or elementwise op
  ir::Value* source_data = nullptr;
  ir::Use reader{nullptr, 0};     // who reads source's output (consumer or MaxPool)
  LinearConsumer consumer;
  LinearRewrite rewrite;
};

// Pure. `interesting` is set for elementwise ops that look like candidates
// (BNs are always reported).
MatchOr<FoldForwardMatch> MatchFoldForward(ir::Node& source, bool* interesting);
Status RewriteFoldForward(ir::Graph& graph, const FoldForwardMatch& match);

class FoldBatchNormForwardPass : public Pass {
 public:
  const char* name() const override { return "fold-batchnorm-forward"; }
  Status Run(ir::Graph& graph, PassReport& report) const override;
};

std::shared_ptr<const Pass> MakeFoldBatchNormForwardPass();

}  // namespace bnfold::passes
