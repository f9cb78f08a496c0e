// oneDNN layout helpers for the element-wise kernels: choosing a broadcast
// operand's layout to match a blocked activation, reordering a constant
// operand once at compile time, and spotting oneDNN's slow reference
// implementations (which the kernels avoid in favour of their C++ loops).
#pragma once

#include <optional>
#include <vector>

#include "bnfold/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace bnfold::onednn {

// The float32 desc of `dims` in the same format tag as `like` (a desc of
// `like_dims`), when that tag is one of the channel-blocked or channels-last
// tags convolutions produce; nullopt otherwise.
std::optional<dnnl::memory::desc> SameTagDesc(const dnnl::memory::desc& like,
                                              const std::vector<int64_t>& like_dims,
                                              const std::vector<int64_t>& dims);

// A kernel-owned copy of the plain `data` (described by `plain`) in layout
// `target`.
dnnl::memory ReorderConstant(const Tensor& data, const dnnl::memory::desc& plain,
                             const dnnl::memory::desc& target, const dnnl::engine& engine);

// True for oneDNN's generic reference implementations ("ref:any"): correct
// but element-by-element slow.
bool IsReferenceImpl(const dnnl::primitive_desc_base& pd);

}  // namespace bnfold::onednn
