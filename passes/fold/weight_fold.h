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

#include <functional>
#include <string>
#include <vector>

#include "passes/fold/fold_util.h"
#include "passes/fold/linear_op.h"

namespace bnfold::passes {

// W', one of:
// - `data`, a new tensor, when another node or tensor also reads W;
// - `rescale`, when nothing else reads W (CanRewriteInPlace): the match has
//   checked every element and the commit writes W' into W's own buffer
//   (ConstantRewrite::rescale). No second copy of the weights, which are
//   most of a model's bytes: fewer pages to fault in at load.
struct FoldedWeight {
  ir::ConstTensorPtr data;
  std::function<void(Tensor& w)> rescale;
};

// W' = W * scale[output channel], in W's dtype. `scale` has op.out_channels
// entries. NoMatch when an element is (or rounds to) a non-finite number;
// `what` names the weight in that reason ("weight of Conv 'c1'").
MatchOr<FoldedWeight> ScaleOutputChannels(const LinearOpInfo& op,
                                          const std::vector<double>& scale,
                                          const std::string& what);

struct InputScaledWeight {
  FoldedWeight weight;
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
