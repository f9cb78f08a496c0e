// Running a batched convolution one image at a time, in serpentine order.
//
// Some oneDNN kernels exist for one image only (the fused Winograd
// jit_fp32_wino_2x3) and at batch N each layer processes all N images
// before the next one starts, so what a layer writes may be out of cache
// by the time the next reads it. A batch-1 primitive replayed image by image
// uses the one-image kernel, and alternating the direction from one split
// layer to the next (0..N-1, then N-1..0, ...) makes each start on the
// images its producer wrote last, still in cache. Conv chooses which
// layers run so (conv.cc, SplitsImages) from measurements.
//
// An image's slice must be contiguous in every split tensor (the batch axis
// outermost, as in nchw, nhwc and nChw16c): OneImageDesc (image_loop.h)
// checks it. The image views (ImageContext) are the plan's image loop's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/backend/onednn/image_loop.h"
#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

// Whether a split convolution runs its images last to first: every second
// one by CompileContext::convolution_depth (convolutions on the longest path
// from the graph inputs, itself included), so along a chain of convolutions
// the direction alternates.
inline bool RunsImagesReversed(int convolution_depth) { return convolution_depth % 2 == 0; }

// A PrimitiveRunner built for one image, replayed for each of `images`
// with the step's inputs and outputs offset per image.
class PerImageRunner {
 public:
  PerImageRunner() = default;
  // input_strides[i] / output_strides[i]: bytes between images of step input
  // / output i (0: the same buffer for every image, e.g. weights).
  PerImageRunner(PrimitiveRunner runner, int64_t images, bool reversed,
                 std::vector<size_t> input_strides, std::vector<size_t> output_strides);

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const;
  void Execute(ExecContext& ctx) const;

 private:
  PrimitiveRunner runner_;
  int64_t images_ = 0;
  bool reversed_ = false;
  std::vector<size_t> input_strides_;
  std::vector<size_t> output_strides_;
};

}  // namespace bnfold::onednn
