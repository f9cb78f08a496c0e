// Folding a per-channel affine map x' = x * s + t whose result feeds a linear
// op into that op's constants (used by fold-batchnorm-forward).
//
//   Conv (g groups; C/g inputs and M/g outputs per group):
//     W'[m, c, k...] = W[m, c, k...] * s[i],   i = (m / (M/g)) * (C/g) + c
//     b'[m] = b[m] + sum_{c, k} W[m, c, k] * t[i]
//     With t != 0 this is exact only when the Conv does not pad: zero padding
//     is applied after the affine map, so the borders would see t, not 0.
//   ConvTranspose: W'[c, ...] = W[c, ...] * s[c]; only t = 0 (a shift
//     reaches each output pixel a different number of times).
//   Gemm (transA = 0):  B'[k, n] = B[k, n] * s[k]
//                       C' = beta * C + alpha * sum_k t[k] * B[k, n];  beta' = 1
//   MatMul:             B'[k, n] = B[k, n] * s[k]
//                       bias' = bias + sum_k t[k] * B[k, n]  (an Add is
//                       inserted when the MatMul has no bias Add)
// All arithmetic in double from the original weights.
#pragma once

#include "passes/fold/channel_affine.h"
#include "passes/fold/fold_util.h"
#include "passes/fold/linear_op.h"

namespace bnfold::passes {

struct LinearConsumer {
  LinearOpInfo op;
  ChannelLayout layout;          // where the channels of the data input are
  ir::Node* bias_add = nullptr;  // MatMul's existing constant bias Add
  int bias_add_input = -1;
};

// `node` reading `x` as its data input (input 0), as a linear op with
// constant weights.
MatchOr<LinearConsumer> MatchLinearConsumer(ir::Node& node, const ir::Value& x);

// The new constants for consumer(x * s + t); pure. NoMatch with the reason
// ("padding", transA, ...) when the fold would not be exact.
MatchOr<LinearRewrite> PlanInputAffine(const LinearConsumer& consumer,
                                       const ChannelAffine& affine);

// Removes `affine_node`, reconnects `reader` (the consumer, or a MaxPool in
// between) to `affine_data`, and commits `rewrite`.
Status ApplyInputFold(ir::Graph& graph, const LinearRewrite& rewrite, ir::Node* affine_node,
                      ir::Value* affine_data, ir::Use reader);

}  // namespace bnfold::passes
