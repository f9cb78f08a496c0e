// oneDNN layout helpers for the element-wise kernels: choosing a broadcast
// operand's layout to match a blocked activation, and spotting oneDNN's slow
// reference implementations (which the kernels avoid in favour of their C++
// loops). Constant operands are reordered with ReorderConstant (reorder.h).
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

// True for oneDNN's generic reference implementations ("ref:any"): correct
// but element-by-element slow.
bool IsReferenceImpl(const dnnl::primitive_desc_base& pd);

}  // namespace bnfold::onednn
