// A per-channel affine map y = x * scale[c] + shift[c], and how a constant
// Mul/Add/Sub/Div becomes one.
//
// Which axis is "the channel" depends on the linear op next to it: axis 1 of
// an NCHW Conv input/output, the last axis of a Gemm/MatMul output. A
// constant operand qualifies only when it broadcasts along that one axis and
// no other, so that the op's output has the data operand's shape:
//   Conv output [N, C, H, W]: [C,1,1], [1,C,1,1], [1], [] (scalar)
//   MatMul/Gemm output [M, N]: [N], [1,N], [1], []
// A [C] constant on a conv output broadcasts along W, not C: refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "passes/fold/fold_util.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes {

struct ChannelAffine {
  std::vector<double> scale;
  std::vector<double> shift;

  int64_t channels() const { return static_cast<int64_t>(scale.size()); }
  bool has_shift() const;
  // The map on channels i whose values are those of channel g[i] (each
  // g[i] < channels()): a BN's map seen through a channel map.
  ChannelAffine Gather(const std::vector<int64_t>& g) const;
};

// Where the channels of a tensor are. Counting the axis from the end makes
// right-aligned broadcasting checks work when the rank is unknown.
struct ChannelLayout {
  int rank = -1;           // -1 when unknown
  int axis_from_end = 0;   // 0 = last axis
  int64_t channels = 0;

  // "axis 1 of rank 4" style, for reasons.
  std::string Describe() const;
  // Whether the channel axis is axis 1 (where BatchNormalization normalizes).
  bool ChannelAxisIsOne() const { return rank >= 2 && rank - 1 - axis_from_end == 1; }
};

// A binary op with one constant operand, seen as an affine map of the other.
struct AffineOperands {
  ir::Node* node = nullptr;
  ir::Value* data = nullptr;      // the run-time operand x
  ir::Value* constant = nullptr;  // k
  bool constant_first = false;    // k - x rather than x - k
};

// Mul/Add/Sub/Div (opset >= 7, multidirectional broadcasting) with exactly
// one operand a foldable constant of a floating-point type. Div needs x / k.
MatchOr<AffineOperands> SplitAffineOperands(ir::Node& node);

// The per-channel affine map the op applies to `data`, whose channels are
// described by `layout`; NoMatch when the constant broadcasts along another
// axis, widens the output, or has the wrong channel count, or when Div
// divides by zero.
MatchOr<ChannelAffine> ToChannelAffine(const AffineOperands& operands,
                                       const ChannelLayout& layout);

// The values of constant `k` per channel of `layout` (a scalar-like k is
// repeated); NoMatch when k does not broadcast along the channel axis only.
MatchOr<std::vector<double>> PerChannelValues(const DoubleTensor& k, const std::string& name,
                                              const ChannelLayout& layout);

}  // namespace bnfold::passes
