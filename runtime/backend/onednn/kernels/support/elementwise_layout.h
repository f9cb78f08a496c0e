// oneDNN layout helpers for the element-wise kernels: choosing a broadcast
// operand's layout to match a blocked activation, and spotting oneDNN's slow
// reference implementations (which the kernels avoid in favour of their C++
// loops), and declaring a unary loop's output in its input's layout. Constant operands are reordered with ReorderConstant (reorder.h).
#pragma once

#include <optional>
#include <vector>

#include "bnfold/tensor.h"
#include "runtime/backend/onednn/kernel.h"
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

// Declares output 0 like input 0 and returns how many elements the C++ loop
// runs over. A blocked input is taken as is when the function maps 0 to 0:
// the loop then runs over the whole padded buffer and the padding stays
// zero, as oneDNN expects. Otherwise the input is asked for plain.
int64_t DeclareSameLayoutOutput(CompileContext& ctx, bool keeps_zero);

}  // namespace bnfold::onednn
