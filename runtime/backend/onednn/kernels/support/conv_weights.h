// Delivering ONNX weights to a oneDNN primitive whose logical weights dims
// differ from the tensor's: groups add a leading axis ([M, C/G, k..] ->
// [G, M/G, C/G, k..]), ConvTranspose swaps in and out channels, Gemm's
// transB swaps K and N, MatMul adds unit batch axes.
#pragma once

#include <functional>
#include <vector>

#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

// The ONNX tensor seen through a reshape (`view_dims`, same element order)
// and then an optional swap of two adjacent axes (`swap_axis`,
// `swap_axis + 1`), which yields oneDNN's logical weights dims.
struct WeightsMapping {
  std::vector<int64_t> onnx_dims;
  std::vector<int64_t> view_dims;
  int swap_axis = -1;  // -1: no swap

  // The plain ONNX tensor described in oneDNN's logical dims (always exists).
  dnnl::memory::desc PlainInDnnlDims(dnnl::memory::data_type type) const;
  // A oneDNN weights desc described in the ONNX tensor's dims; throws
  // dnnl::error when the layout cannot be expressed so (e.g. a blocked
  // grouped layout whose blocks straddle groups).
  dnnl::memory::desc DnnlInOnnxDims(const dnnl::memory::desc& md) const;
  // oneDNN's logical dims.
  dnnl::memory::dims DnnlDims() const;
};

// Conv's W [M, C/G, k..] as oneDNN's [M, C, k..] or [G, M/G, C/G, k..].
WeightsMapping ConvWeightsMapping(const std::vector<int64_t>& w_dims, int64_t group);
// ConvTranspose's W [C, M/G, k..] as oneDNN's [M, C, k..] or [G, M/G, C/G, k..].
WeightsMapping ConvTransposeWeightsMapping(const std::vector<int64_t>& w_dims, int64_t group);

// How the weights reach the primitive.
enum class WeightsPlacement {
  kPlannerReorder,  // in oneDNN's chosen layout, reordered by the planner
  kOwnedReorder,    // constant, reordered by the kernel into memory it owns
  kPlainView,       // the plain tensor as is (oneDNN works on that layout)
};

// Non-template core of PlaceWeights; returns the placement for
// `preferred` (the weights desc the primitive chose under format any).
WeightsPlacement ChooseWeightsPlacement(CompileContext& ctx, int input, int arg,
                                        const WeightsMapping& mapping,
                                        const dnnl::memory::desc& preferred,
                                        PrimitiveRunner* runner);

// Builds the primitive desc through `make_pd(weights_md)` and binds input
// `input` (the weights) to argument `arg` of `runner`. In order of
// preference:
//  1. oneDNN's preferred layout (format any) when it can be expressed in the
//     ONNX dims: the planner reorders (a constant once at compile time);
//  2. for a constant whose preferred layout cannot be expressed so (blocked
//     grouped weights): reordered here, once, into kernel-owned memory;
//  3. otherwise the plain tensor viewed in oneDNN's dims.
// `plain_only` skips to 3. Must run inside CatchDnnl: oneDNN errors throw.
template <typename PrimitiveDesc>
WeightsPlacement PlaceWeights(CompileContext& ctx, int input, int arg,
                              const WeightsMapping& mapping, bool plain_only,
                              const std::function<PrimitiveDesc(const dnnl::memory::desc&)>& make_pd,
                              PrimitiveDesc* pd, PrimitiveRunner* runner) {
  const dnnl::memory::data_type type = ToDnnlType(ctx.input(input).dtype);
  if (!plain_only) {
    const dnnl::memory::desc any(mapping.DnnlDims(), type, dnnl::memory::format_tag::any);
    *pd = make_pd(any);
    const WeightsPlacement placement =
        ChooseWeightsPlacement(ctx, input, arg, mapping, pd->weights_desc(), runner);
    if (placement != WeightsPlacement::kPlainView) return placement;
  }
  const dnnl::memory::desc plain = mapping.PlainInDnnlDims(type);
  *pd = make_pd(plain);
  // Plain, also when an earlier attempt (e.g. another algorithm) asked for
  // another layout.
  ctx.RequireInputLayout(input, PlainDesc(ctx.input(input).dtype, ctx.input(input).dims));
  runner->BindInput(arg, input, plain);
  return WeightsPlacement::kPlainView;
}

// `md` when it differs from the plain row-major layout of `dims`, else the
// zero desc (the planner's "plain").
dnnl::memory::desc LayoutOrPlain(const dnnl::memory::desc& md, DataType dtype,
                                 const std::vector<int64_t>& dims);

}  // namespace bnfold::onednn
