// Conv and ConvTranspose attribute parsing and shape arithmetic, shared by
// both kernels: kernel_shape (inferred from W when absent), strides,
// dilations, pads and auto_pad, group, and for ConvTranspose output_padding
// and output_shape. Every bad value is an error naming the node.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

struct ConvGeometry {
  int64_t group = 1;
  int64_t in_channels = 0;   // C
  int64_t out_channels = 0;  // M
  std::vector<int64_t> kernel;      // per spatial axis
  std::vector<int64_t> strides;     // per spatial axis
  std::vector<int64_t> dilations;   // per spatial axis, ONNX convention (1 = dense)
  std::vector<int64_t> pads_begin;  // per spatial axis
  // May be negative for ConvTranspose (output_padding grows the output on
  // the end side, which oneDNN expresses as negative end padding).
  std::vector<int64_t> pads_end;
  std::vector<int64_t> output_dims;  // [N, M, spatial...]

  // oneDNN's conventions: dilation 0 = dense.
  std::vector<int64_t> DnnlDilations() const;
};

// Conv: X [N, C, d1..dk], W [M, C/group, k1..kk].
StatusOr<ConvGeometry> ComputeConvGeometry(const CompileContext& ctx,
                                           const std::vector<int64_t>& x_dims,
                                           const std::vector<int64_t>& w_dims);

// ConvTranspose: X [N, C, d1..dk], W [C, M/group, k1..kk].
StatusOr<ConvGeometry> ComputeConvTransposeGeometry(const CompileContext& ctx,
                                                    const std::vector<int64_t>& x_dims,
                                                    const std::vector<int64_t>& w_dims);

}  // namespace bnfold::onednn
