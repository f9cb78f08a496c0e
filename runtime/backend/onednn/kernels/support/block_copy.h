// Copies of whole contiguous blocks, as Concat, Split and Gather do: a
// tensor seen as "outer" rows of "inner" bytes around one axis.
#pragma once

#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace bnfold::onednn {

// Below this many bytes a copy runs on one thread.
inline constexpr size_t kParallelBytes = size_t{1} << 16;

// Splits `dims` around `axis` into (outer count, bytes of one inner block).
inline std::pair<int64_t, size_t> OuterInner(const std::vector<int64_t>& dims, int64_t axis,
                                      size_t element_size) {
  int64_t outer = 1;
  size_t inner = element_size;
  for (int64_t i = 0; i < static_cast<int64_t>(dims.size()); ++i) {
    if (i < axis) outer *= dims[i];
    if (i > axis) inner *= static_cast<size_t>(dims[i]);
  }
  return {outer, inner};
}

// Runs fn(o) for o in [0, outer), on several threads when `bytes` is large.
template <typename Fn>
void ForOuter(int64_t outer, size_t bytes, int threads, Fn&& fn) {
  if (bytes < kParallelBytes || threads <= 1 || outer <= 1) {
    for (int64_t o = 0; o < outer; ++o) fn(o);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t o = 0; o < outer; ++o) fn(o);
}

}  // namespace bnfold::onednn
