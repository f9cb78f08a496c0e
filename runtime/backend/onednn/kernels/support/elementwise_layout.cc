#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"

#include <string>

namespace bnfold::onednn {

std::optional<dnnl::memory::desc> SameTagDesc(const dnnl::memory::desc& like,
                                              const std::vector<int64_t>& like_dims,
                                              const std::vector<int64_t>& dims) {
  using tag = dnnl::memory::format_tag;
  std::vector<tag> candidates;
  switch (like_dims.size()) {
    case 3: candidates = {tag::nCw16c, tag::nCw8c, tag::nCw4c, tag::nwc}; break;
    case 4: candidates = {tag::nChw16c, tag::nChw8c, tag::nChw4c, tag::nhwc}; break;
    case 5: candidates = {tag::nCdhw16c, tag::nCdhw8c, tag::nCdhw4c, tag::ndhwc}; break;
    default: return std::nullopt;
  }
  if (dims.size() != like_dims.size()) return std::nullopt;
  for (tag t : candidates) {
    if (like == dnnl::memory::desc(like_dims, dnnl::memory::data_type::f32, t)) {
      return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, t);
    }
  }
  return std::nullopt;
}

bool IsReferenceImpl(const dnnl::primitive_desc_base& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

int64_t DeclareSameLayoutOutput(CompileContext& ctx, bool keeps_zero) {
  const TensorDesc& x = ctx.input(0);
  if (!x.is_plain() && keeps_zero) {
    ctx.AcceptInputLayout(0);
    ctx.SetOutput(0, x.dtype, x.dims, x.layout);
    return static_cast<int64_t>(x.byte_size() / DataTypeSize(x.dtype));
  }
  ctx.SetOutput(0, x.dtype, x.dims);
  return x.num_elements();
}

}  // namespace bnfold::onednn
