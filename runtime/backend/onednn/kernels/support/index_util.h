// What the indexing family's kernel files (kernels/indexing.cc,
// indexing_scatter.cc, indexing_dynamic.cc) share: index inputs read and
// bounds-checked, element moves by size, and the registration of the parts
// that indexing.cc's RegisterIndexingKernels calls.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"

namespace bnfold::onednn {

// The element type of an index input: int32 or int64.
inline Status CheckIndexType(const CompileContext& ctx, int i) {
  const DataType t = ctx.input(i).dtype;
  if (t == DataType::kInt32 || t == DataType::kInt64) return Status::Ok();
  return UnsupportedType(ctx, i, "int32, int64");
}

// Element i of an int32/int64 index buffer.
inline int64_t IndexAt(const void* indices, bool int64, int64_t i) {
  return int64 ? static_cast<const int64_t*>(indices)[i] : static_cast<const int32_t*>(indices)[i];
}

// An index in [-dim, dim) mapped to [0, dim); error otherwise.
inline Status WrapIndex(int64_t index, int64_t dim, int64_t axis, int64_t* wrapped) {
  if (index < -dim || index >= dim) {
    return InvalidArgument("index " + std::to_string(index) + " is out of range for axis " +
                           std::to_string(axis) + " of size " + std::to_string(dim));
  }
  *wrapped = index < 0 ? index + dim : index;
  return Status::Ok();
}

// Calls fn.template operator()<T>() with T an unsigned integer of
// `element_size` bytes: kernels that only move elements copy them as such.
template <typename Fn>
void DispatchBySize(size_t element_size, Fn&& fn) {
  switch (element_size) {
    case 1: fn.template operator()<uint8_t>(); break;
    case 2: fn.template operator()<uint16_t>(); break;
    case 4: fn.template operator()<uint32_t>(); break;
    default: fn.template operator()<uint64_t>(); break;
  }
}

// Element types of ops constrained to "all numeric types" (bfloat16 from
// `bf16_since`).
inline Status CheckNumeric(const CompileContext& ctx, int i, int64_t bf16_since) {
  const DataType t = ctx.input(i).dtype;
  if (t == DataType::kBfloat16 && ctx.node().opset() >= bf16_since) return Status::Ok();
  if (t != DataType::kBool && t != DataType::kBfloat16 &&
      IsElementIn<kAllElements>(t)) {
    return Status::Ok();
  }
  return UnsupportedType(ctx, i, "a numeric type");
}

// GatherElements, ScatterElements, Scatter, GatherND, ScatterND
// (kernels/indexing_scatter.cc).
void RegisterGatherScatterKernels(KernelRegistry& registry);
// Compress, NonZero, Unique (kernels/indexing_dynamic.cc).
void RegisterDataDependentKernels(KernelRegistry& registry);

}  // namespace bnfold::onednn
