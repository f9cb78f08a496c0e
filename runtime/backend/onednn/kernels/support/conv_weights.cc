#include "runtime/backend/onednn/kernels/support/conv_weights.h"

#include <numeric>

#include "runtime/backend/onednn/reorder.h"

namespace bnfold::onednn {

namespace {

// The permutation swapping `axis` and `axis + 1` (its own inverse).
std::vector<int> SwapPermutation(size_t rank, int axis) {
  std::vector<int> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[axis], perm[axis + 1]);
  return perm;
}

}  // namespace

dnnl::memory::dims WeightsMapping::DnnlDims() const {
  dnnl::memory::dims dims(view_dims.begin(), view_dims.end());
  if (swap_axis >= 0) std::swap(dims[swap_axis], dims[swap_axis + 1]);
  return dims;
}

dnnl::memory::desc WeightsMapping::PlainInDnnlDims(dnnl::memory::data_type type) const {
  // Strides describe the plain tensor in any dims order, so the view needs no
  // format tag (and no reshape, which would fail for zero-sized dims).
  dnnl::memory::dims dims(view_dims.begin(), view_dims.end());
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  if (swap_axis >= 0) {
    std::swap(dims[swap_axis], dims[swap_axis + 1]);
    std::swap(strides[swap_axis], strides[swap_axis + 1]);
  }
  return dnnl::memory::desc(dims, type, strides);
}

dnnl::memory::desc WeightsMapping::DnnlInOnnxDims(const dnnl::memory::desc& md) const {
  dnnl::memory::desc view = md;
  if (swap_axis >= 0) view = view.permute_axes(SwapPermutation(view_dims.size(), swap_axis));
  const dnnl::memory::dims onnx(onnx_dims.begin(), onnx_dims.end());
  return view.dims() == onnx ? view : view.reshape(onnx);
}

WeightsMapping ConvWeightsMapping(const std::vector<int64_t>& w_dims, int64_t group) {
  WeightsMapping m;
  m.onnx_dims = w_dims;
  m.view_dims = w_dims;
  if (group > 1) {
    m.view_dims[0] = w_dims[0] / group;
    m.view_dims.insert(m.view_dims.begin(), group);
  }
  return m;
}

WeightsMapping ConvTransposeWeightsMapping(const std::vector<int64_t>& w_dims, int64_t group) {
  WeightsMapping m;
  m.onnx_dims = w_dims;
  m.view_dims = w_dims;  // [C, M/G, k..]
  if (group > 1) {
    m.view_dims[0] = w_dims[0] / group;  // [G, C/G, M/G, k..]
    m.view_dims.insert(m.view_dims.begin(), group);
    m.swap_axis = 1;
  } else {
    m.swap_axis = 0;
  }
  return m;
}

WeightsPlacement ChooseWeightsPlacement(CompileContext& ctx, int input, int arg,
                                        const WeightsMapping& mapping,
                                        const dnnl::memory::desc& preferred,
                                        PrimitiveRunner* runner) {
  dnnl::memory::desc in_onnx_dims;
  try {
    in_onnx_dims = mapping.DnnlInOnnxDims(preferred);
  } catch (const dnnl::error&) {
    // Not expressible in the ONNX dims: handled below.
  }
  if (!in_onnx_dims.is_zero()) {
    ctx.RequireInputLayout(input, in_onnx_dims);
    runner->BindInput(arg, input, preferred);
    return WeightsPlacement::kPlannerReorder;
  }
  const Tensor* constant = ctx.constant_input(input);
  if (constant == nullptr) return WeightsPlacement::kPlainView;
  const dnnl::memory::desc plain = mapping.PlainInDnnlDims(preferred.data_type());
  runner->BindMemory(arg, ReorderConstant(*constant, plain, preferred, ctx.engine()));
  return WeightsPlacement::kOwnedReorder;
}

dnnl::memory::desc LayoutOrPlain(const dnnl::memory::desc& md, DataType dtype,
                                 const std::vector<int64_t>& dims) {
  return md == PlainDesc(dtype, dims) ? dnnl::memory::desc() : md;
}

}  // namespace bnfold::onednn
