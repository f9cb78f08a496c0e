// What the quantization family's kernel files (kernels/quantize.cc,
// quantize_matmul.cc, quantize_conv.cc) share: scales and zero points read
// at run time, saturation, int8/uint8 dispatch, and the registration of the
// parts that quantize.cc's RegisterQuantKernels calls.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"

namespace bnfold::onednn {

// Element i of a buffer of any numeric type, as a double (scales and zero
// points: one dispatch per value, negligible next to the work per value).
inline double ValueAt(const void* data, DataType dtype, int64_t i) {
  double v = 0.0;
  DispatchElement<kAllElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    v = static_cast<double>(E::Load(static_cast<const typename E::Storage*>(data)[i]));
  });
  return v;
}

inline bool IsScaleType(DataType t) {
  return t == DataType::kFloat || t == DataType::kFloat16 || t == DataType::kBfloat16;
}

// Saturating cast of an already rounded value to integer type T.
template <typename T>
T Saturate(double v) {
  if (std::isnan(v)) return 0;
  v = std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()),
                 static_cast<double>(std::numeric_limits<T>::max()));
  return static_cast<T>(v);
}

// Quantized operand of a matmul or convolution: its type, its zero point's
// input (-1 when absent) and how many zero points it has (1 or one per row
// of A / column of B / output channel of W).
struct QuantOperand {
  DataType dtype = DataType::kUint8;
  int zero_input = -1;
  int64_t zero_count = 1;
  int scale_input = -1;
  int64_t scale_count = 1;
  DataType scale_type = DataType::kFloat;
};

// Parameter `k` of an operand (per-tensor when its count is 1).
inline double ZeroAt(const QuantOperand& q, ExecContext& ctx, int64_t k) {
  if (q.zero_input < 0 || ctx.input(q.zero_input) == nullptr) return 0.0;
  return ValueAt(ctx.input(q.zero_input), q.dtype, q.zero_count == 1 ? 0 : k);
}
inline double ScaleAt(const QuantOperand& q, ExecContext& ctx, int64_t k) {
  return ValueAt(ctx.input(q.scale_input), q.scale_type, q.scale_count == 1 ? 0 : k);
}

// Checks a scale/zero-point input: a scalar, [1], or `per` values.
inline Status CheckQuantParam(const CompileContext& ctx, int input, int64_t per,
                              const std::string& name, int64_t* count) {
  if (input < 0 || ctx.num_inputs() <= input || !ctx.has_input(input)) return Status::Ok();
  const TensorDesc& t = ctx.input(input);
  if (t.dims.size() > 1 || (t.num_elements() != 1 && t.num_elements() != per)) {
    return InvalidModel(ctx.Describe() + ": " + name + " has shape " + ShapeToString(t.dims) +
                        ", expected a scalar or " + std::to_string(per) + " values");
  }
  *count = t.num_elements();
  return Status::Ok();
}

inline std::vector<int32_t> ZeroPoints(const QuantOperand& q, ExecContext& ctx) {
  std::vector<int32_t> z(static_cast<size_t>(q.zero_count));
  for (int64_t k = 0; k < q.zero_count; ++k) z[k] = static_cast<int32_t>(ZeroAt(q, ctx, k));
  return z;
}

inline bool Is8Bit(DataType t) { return t == DataType::kInt8 || t == DataType::kUint8; }

// Calls fn.template operator()<TA, TB>() for int8/uint8 A and B.
template <typename Fn>
void Dispatch8Bit(DataType a, DataType b, Fn&& fn) {
  auto inner = [&]<typename TA>() {
    if (b == DataType::kInt8) {
      fn.template operator()<TA, int8_t>();
    } else {
      fn.template operator()<TA, uint8_t>();
    }
  };
  if (a == DataType::kInt8) {
    inner.template operator()<int8_t>();
  } else {
    inner.template operator()<uint8_t>();
  }
}

void RegisterQuantMatMulKernels(KernelRegistry& registry);
void RegisterQuantConvKernels(KernelRegistry& registry);

}  // namespace bnfold::onednn
