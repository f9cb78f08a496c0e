#include "runtime/backend/onednn/kernels/support/elementwise_broadcast.h"

namespace bnfold::onednn {

BroadcastLoop MakeBroadcastLoop(const std::vector<int64_t>& out_dims,
                                const std::vector<int64_t>& strides_a,
                                const std::vector<int64_t>& strides_b) {
  BroadcastLoop loop;
  loop.total = 1;
  for (int64_t d : out_dims) loop.total *= d;
  if (loop.total == 0) return loop;

  // Size-1 dims do not move any operand; drop them. Then merge a dim into
  // the one below it whenever both operands step through the pair as one
  // run (this also merges two broadcast dims: 0 == 0 * d).
  std::vector<int64_t> dims;
  std::vector<int64_t> strides[2];
  const std::vector<int64_t>* given[2] = {&strides_a, &strides_b};
  for (size_t i = 0; i < out_dims.size(); ++i) {
    if (out_dims[i] == 1) continue;
    const bool merge = !dims.empty() &&
                       (*given[0])[i] * out_dims[i] == strides[0].back() &&
                       (*given[1])[i] * out_dims[i] == strides[1].back();
    if (merge) {
      dims.back() *= out_dims[i];
      strides[0].back() = (*given[0])[i];
      strides[1].back() = (*given[1])[i];
    } else {
      dims.push_back(out_dims[i]);
      strides[0].push_back((*given[0])[i]);
      strides[1].push_back((*given[1])[i]);
    }
  }
  if (dims.empty()) return loop;  // a single element: inner = 1, strides 0
  loop.inner = dims.back();
  for (int k = 0; k < 2; ++k) {
    loop.inner_stride[k] = strides[k].back();
    loop.outer_strides[k].assign(strides[k].begin(), strides[k].end() - 1);
  }
  loop.outer_dims.assign(dims.begin(), dims.end() - 1);
  return loop;
}

std::vector<int64_t> AlignRight(const std::vector<int64_t>& dims, size_t rank) {
  std::vector<int64_t> aligned(rank - dims.size(), 1);
  aligned.insert(aligned.end(), dims.begin(), dims.end());
  return aligned;
}

}  // namespace bnfold::onednn
