// A two-operand element-wise loop writing a dense output while reading each
// operand through its own strides (0 along broadcast axes). The plan is made
// at compile time with the dims collapsed, so that Execute runs long inner
// rows whose operand strides are 0 or 1 in the common cases, without
// allocating.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"

namespace bnfold::onednn {

struct BroadcastLoop {
  int64_t total = 0;  // output elements
  int64_t inner = 1;  // length of the innermost row
  int64_t inner_stride[2] = {0, 0};
  // The collapsed dims above the innermost one and each operand's strides on
  // them.
  std::vector<int64_t> outer_dims;
  std::vector<int64_t> outer_strides[2];

  // Element offset of operand `k` at the start of output row `row`.
  int64_t RowOffset(int k, int64_t row) const {
    int64_t offset = 0;
    for (size_t i = outer_dims.size(); i-- > 0;) {
      offset += (row % outer_dims[i]) * outer_strides[k][i];
      row /= outer_dims[i];
    }
    return offset;
  }
};

// The loop over an output of `out_dims` reading operand 0 with `strides_a`
// and operand 1 with `strides_b` (both of out_dims' rank, in elements).
BroadcastLoop MakeBroadcastLoop(const std::vector<int64_t>& out_dims,
                                const std::vector<int64_t>& strides_a,
                                const std::vector<int64_t>& strides_b);

// `dims` (rank <= out_dims' rank) padded with leading 1s to out_dims' rank,
// numpy's alignment.
std::vector<int64_t> AlignRight(const std::vector<int64_t>& dims, size_t rank);

// The two operands of a binary op aligned for the loop: each one's dims
// padded to the output's rank (1 on broadcast axes) and the output dims.
// Numpy broadcasting, or with `legacy` (the opset < 7 arithmetic, comparison
// and logical ops) the `broadcast`/`axis` attributes: without broadcast=1
// the shapes must match; with it, B's dims line up with A's from `axis`
// (default: trailing alignment) and the output has A's shape.
Status AlignBinaryOperands(const CompileContext& ctx, bool legacy,
                           std::vector<std::vector<int64_t>>* aligned,
                           std::vector<int64_t>* out_dims);

template <typename A, typename B, typename Out, typename Op>
inline void RunBroadcastRow(const A* a, int64_t sa, const B* b, int64_t sb, Out* out,
                            int64_t n, const Op& op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const B bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const A av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = op(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i * sa], b[i * sb]);
  }
}

// out[i] = op(a[...], b[...]) over the whole output. `a` may alias `out` when
// it is read densely (a running accumulator).
template <typename A, typename B, typename Out, typename Op>
void RunBroadcastLoop(const BroadcastLoop& loop, const A* a, const B* b, Out* out, int threads,
                      const Op& op) {
  ParallelRanges(loop.total, threads, [&](int64_t begin, int64_t end) {
    int64_t row = begin / loop.inner;
    int64_t col = begin % loop.inner;
    while (begin < end) {
      const int64_t len = std::min(loop.inner - col, end - begin);
      const A* pa = a + loop.RowOffset(0, row) + col * loop.inner_stride[0];
      const B* pb = b + loop.RowOffset(1, row) + col * loop.inner_stride[1];
      RunBroadcastRow(pa, loop.inner_stride[0], pb, loop.inner_stride[1], out + begin, len, op);
      begin += len;
      col = 0;
      ++row;
    }
  });
}

}  // namespace bnfold::onednn
