// A 2-D convolution with few output channels (1 to 8, group 1) on AVX-512:
// the last layer of an image-to-image network (RGB out, a mask, a few
// classes).
//
// Why not oneDNN here: its kernels put output channels in the vector lanes,
// 16 per vector, so 3 output channels compute 16. Measured on the AMD EPYC
// (Zen 5) of issue 4, 1 thread, fcn's 3x3 32 -> 3 channels at 512x512:
// Winograd (jit_wino_4x3) 12.9-13.2 ms, direct nChw16c 14.4 ms, brgconv
// nhwc 12.1 ms, gemm nchw 36.7 ms; this kernel 4.4-4.6 ms.
//
// Here the lanes hold 16 input channels of one input pixel (the nChw16c
// input as it comes from the convolution before), and every output value
// is one vector accumulator: 16 / M pixels times M channels fill 16
// accumulators, summed across their lanes together at the end (a transposing
// reduction), which leaves the 16 results in one vector in nhwc order (pixel
// by pixel, M channels each): one masked store. A 3-wide stride-1 kernel
// loads each input vector once for the three taps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/backend/onednn/kernels/support/conv_geometry.h"
#include "runtime/backend/onednn/kernels/x86/vector_activation.h"

namespace bnfold::onednn {

class NarrowOutputConv {
 public:
  static constexpr int64_t kMaxOutputChannels = 8;


  // Whether the CPU runs this kernel and `g` (a Conv on input dims
  // `x_dims`) is a float 2-D convolution it computes: group 1, 1 to
  // kMaxOutputChannels output channels.
  static bool Applies(const ConvGeometry& g, const std::vector<int64_t>& x_dims);

  // Packs `weights` ([M, C, kh, kw], plain). Null when out of memory.
  static std::shared_ptr<const NarrowOutputConv> Create(const ConvGeometry& g,
                                                        const std::vector<int64_t>& x_dims,
                                                        const float* weights,
                                                        std::optional<VectorActivation> activation);

  // The layouts Run reads and writes: nChw16c in, nhwc out.
  static dnnl::memory::desc InputLayout(const std::vector<int64_t>& x_dims);
  static dnnl::memory::desc OutputLayout(const std::vector<int64_t>& y_dims);

  // y = activation(conv(x) + bias); `bias` has M values or is null. Rows of
  // the output are split over `threads` OpenMP threads. No allocation
  // unless C/16 x the kernel's height exceeds 1024 (then one small vector
  // per thread for the row pointers).
  void Run(const float* x, const float* bias, float* y, int threads) const;

 private:
  struct RowJob;  // narrow_conv.cc
  NarrowOutputConv() = default;
  template <int M>
  void RunRows(const float* x, const float* bias, float* y, int threads) const;
  // Output row r (image r / out_h, row r % out_h), M channels.
  template <int M>
  static void ComputeRow(const RowJob& job, int64_t r, const float** tap_rows);

  int64_t images_ = 0, blocks_ = 0, in_channels_ = 0, height_ = 0, width_ = 0;
  int64_t out_h_ = 0, out_w_ = 0, kernel_h_ = 0, kernel_w_ = 0;
  int64_t stride_h_ = 1, stride_w_ = 1, dilation_h_ = 1, dilation_w_ = 1;
  int64_t pad_top_ = 0, pad_left_ = 0;
  int out_channels_ = 0;
  std::optional<VectorActivation> activation_;  // applied to each output value
  // [kh][kw][channel block][M][16], zero beyond C.
  std::shared_ptr<float> packed_;
};

}  // namespace bnfold::onednn
