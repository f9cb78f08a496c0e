// The element loops of a fold: a linear op's weight scaled per output
// channel (a map after the op, output_fold.h) or per input channel (a map
// before it, input_fold.h, which also sums W * shift into each output
// channel). They run over the weight's typed data: every element is read as
// double, scaled in double and rounded to the weight's dtype once; no double
// copy of the weight, no per-element index tables. Weights are most of a
// model's bytes, so this is most of what the passes cost.
//
// Channels per element (ONNX layouts, see linear_op.h):
//   Conv           W [M, C/g, k...]: out m, in (m / (M/g)) * (C/g) + c
//   ConvTranspose  W [C, M/g, k...]: in c, out (c / (C/g)) * (M/g) + j
//   Gemm           B [K, N] (in row, out column) or [N, K] with transB = 1
//   MatMul         B [K, N]
#pragma once

#include <string>
#include <vector>

#include "passes/fold_util.h"
#include "passes/linear_op.h"

namespace bnfold::passes {

// W' = W * scale[output channel], in W's dtype. `scale` has op.out_channels
// entries. NoMatch when an element is (or rounds to) a non-finite number;
// `what` names the weight in that reason ("weight of Conv 'c1'").
MatchOr<ir::ConstTensorPtr> ScaleOutputChannels(const LinearOpInfo& op,
                                                const std::vector<double>& scale,
                                                const std::string& what);

struct InputScaledWeight {
  ir::ConstTensorPtr weight;
  // sum of W * shift[input channel] over the elements feeding each output
  // channel (op.out_channels entries); empty without a shift.
  std::vector<double> shift_out;
};

// W' = W * scale[input channel] (op.in_channels entries), and shift_out
// when `shift` is not null. ConvTranspose takes no shift (a shift reaches
// its output borders unevenly; the caller refuses it).
MatchOr<InputScaledWeight> ScaleInputChannels(const LinearOpInfo& op,
                                              const std::vector<double>& scale,
                                              const std::vector<double>* shift,
                                              const std::string& what);

}  // namespace bnfold::passes
