// Folding a per-channel affine map z = y * s + t that follows a linear op
// into that op's constants (shared by fold-batchnorm and fold-affine).
//
//   Conv           W'[m, ...] = W[m, ...] * s[m]               b' = b * s + t
//   ConvTranspose  W'[c, j, ...] = W[c, j, ...] * s[o],  o = (c / (C/g)) * (M/g) + j
//                                                               b' = b * s + t
//   Gemm           B' = B * s on the N axis (axis 1, or 0 with transB = 1);
//                  alpha stays; C' = beta * C * s + t broadcast to [.., N]; beta' = 1
//   MatMul         B' = B * s on axis 1; bias' = bias * s + t (an Add of t is
//                  inserted when the MatMul has no bias and t != 0)
// An absent bias is zero (the new bias input is added). All arithmetic in
// double, stored in the dtype of the tensor it replaces.
#pragma once

#include "passes/fold/channel_affine.h"
#include "passes/fold/fold_util.h"
#include "passes/fold/linear_op.h"

namespace bnfold::passes {

// The op computing y, seen as y = linear(x) (+ bias).
struct LinearProducer {
  LinearOpInfo op;
  ir::Node* bias_add = nullptr;  // MatMul -> Add(constant per-column bias)
  int bias_add_input = -1;       // which input of bias_add is the bias
  ir::Value* output = nullptr;   // y: the linear op's output, or bias_add's
  ChannelLayout layout;          // where y's channels are
};

// y's producer as a linear op with constant weights. A MatMul followed by
// the Add of a constant per-column bias (the tf2onnx Dense pattern) counts as
// one producer when the MatMul's output has no other reader.
MatchOr<LinearProducer> MatchLinearProducer(const ir::Value& y);

// The new constants for z = y * s + t; pure. NoMatch when C does not
// broadcast per column or a folded value is not finite in its dtype.
MatchOr<LinearRewrite> PlanOutputAffine(const LinearProducer& producer,
                                        const ChannelAffine& affine);

// Removes `consumer` (which read producer.output, or `chain_last`'s output),
// commits `rewrite` and makes the producer chain (or `chain_last`, the last
// shape-only op after it) produce consumer's output 0 under its name.
Status ApplyOutputFold(ir::Graph& graph, const LinearProducer& producer,
                       const LinearRewrite& rewrite, ir::Node* consumer,
                       ir::Node* chain_last = nullptr);

}  // namespace bnfold::passes
