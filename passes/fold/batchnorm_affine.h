// An inference-mode BatchNormalization as the per-channel affine map it is:
//
//   Y[n, c, ...] = (X[n, c, ...] - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c]
//                = X * s[c] + t[c],   s = scale / sqrt(var + epsilon),
//                                     t = B - mean * s          (in double)
//
// Preconditions (each failure is the reason recorded for the BN):
//  1. Inference mode (ir::GetBatchNormMode, the one answer everywhere):
//       opset 1, 6:   is_test != 0 (is_test = 0, the default, means training);
//       opset 7, 9:   no mean/var/saved_* outputs (their presence selects
//                     "output case #1", training mode);
//       opset 14, 15: training_mode = 0 (the default).
//     consumed_inputs and momentum only matter in training: ignored.
//  2. Only output Y is read: no other output is used or a graph output.
//  3. scale, B, mean and var are constants no caller can override
//     (Value::IsConstant()).
//  4. X and the parameters have floating-point types.
//  5. Every parameter holds C values laid out per channel ([C] or [C,1,...]);
//     and C matches X's channel dimension when that is known. With
//     spatial = 0 (opset <= 7) the statistics may be per activation
//     ([C, D1, ...]), which is not a per-channel map: refused.
//  6. var + epsilon > 0 and s, t are finite for every channel (missing
//     epsilon = 1e-5).
#pragma once

#include "passes/fold/channel_affine.h"
#include "passes/fold/fold_util.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes {

MatchOr<ChannelAffine> MatchInferenceBatchNorm(const ir::Node& batchnorm);

}  // namespace bnfold::passes
