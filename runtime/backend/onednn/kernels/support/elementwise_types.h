// Element types and conversions for the element-wise kernels (activations,
// binary ops, Cast), on the storage types of element_type.h (float16 and
// bfloat16 as its tags Float16 / BFloat16, computed through float).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "bnfold/tensor.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/common/half.h"

namespace bnfold::onednn {

template <typename T>
inline constexpr bool kIsReducedFloat =
    std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
template <typename T>
inline constexpr bool kIsFloating = std::is_floating_point_v<T> || kIsReducedFloat<T>;
template <typename T>
inline constexpr bool kIsInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// The type arithmetic on T is done in: float for the 16-bit floats, T itself
// otherwise.
template <typename T>
struct ComputeTypeOf {
  using type = T;
};
template <>
struct ComputeTypeOf<Float16> {
  using type = float;
};
template <>
struct ComputeTypeOf<BFloat16> {
  using type = float;
};
template <typename T>
using ComputeType = typename ComputeTypeOf<T>::type;

template <typename T>
inline ComputeType<T> Load(T v) {
  if constexpr (std::is_same_v<T, Float16>) {
    return HalfToFloat(v.bits);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return Bfloat16ToFloat(v.bits);
  } else {
    return v;
  }
}

// Floating value -> integer type: truncation toward zero as the ONNX
// reference (numpy astype) does. Out-of-range values are undefined in the
// spec; here NaN gives 0, values beyond int64 saturate, and narrower types
// keep the low bits of the int64 truncation (numpy's behaviour on x86).
template <typename To>
inline To FloatingToInteger(double v) {
  if (std::isnan(v)) return 0;
  if constexpr (std::is_same_v<To, uint64_t>) {
    if (v >= 0x1p64) return std::numeric_limits<uint64_t>::max();
    if (v >= 0x1p63) return static_cast<uint64_t>(v);
  }
  if (v >= 0x1p63) return static_cast<To>(std::numeric_limits<int64_t>::max());
  if (v <= -0x1p63) return static_cast<To>(std::numeric_limits<int64_t>::min());
  return static_cast<To>(static_cast<int64_t>(v));
}

// Converts one element with ONNX Cast semantics: round-to-nearest-even into
// floating types, truncation into integers, wrap-around between integers,
// x != 0 into bool.
template <typename To, typename From>
inline To ConvertElement(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (kIsReducedFloat<From>) {
    return ConvertElement<To>(Load(v));
  } else if constexpr (kIsReducedFloat<To>) {
    // float and the narrow integers are exact in float; anything wider goes
    // through double and round-to-odd so it is rounded only once.
    float f;
    if constexpr (std::is_same_v<From, float> || std::is_same_v<From, bool> ||
                  (kIsInteger<From> && sizeof(From) <= 2)) {
      f = static_cast<float>(v);
    } else {
      f = DoubleToFloatRoundToOdd(static_cast<double>(v));
    }
    if constexpr (std::is_same_v<To, Float16>) {
      return Float16{FloatToHalf(f)};
    } else {
      return BFloat16{FloatToBfloat16(f)};
    }
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (kIsInteger<To> && std::is_floating_point_v<From>) {
    return FloatingToInteger<To>(static_cast<double>(v));
  } else {
    return static_cast<To>(v);
  }
}

// Calls fn.template operator()<T>() with T the storage type of `dtype` for
// every numeric type (float16/bfloat16 as the tag types above). Returns false
// for other types (bool, string, ...).
template <typename Fn>
bool DispatchElementType(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kFloat: fn.template operator()<float>(); return true;
    case DataType::kDouble: fn.template operator()<double>(); return true;
    case DataType::kFloat16: fn.template operator()<Float16>(); return true;
    case DataType::kBfloat16: fn.template operator()<BFloat16>(); return true;
    case DataType::kInt8: fn.template operator()<int8_t>(); return true;
    case DataType::kUint8: fn.template operator()<uint8_t>(); return true;
    case DataType::kInt16: fn.template operator()<int16_t>(); return true;
    case DataType::kUint16: fn.template operator()<uint16_t>(); return true;
    case DataType::kInt32: fn.template operator()<int32_t>(); return true;
    case DataType::kUint32: fn.template operator()<uint32_t>(); return true;
    case DataType::kInt64: fn.template operator()<int64_t>(); return true;
    case DataType::kUint64: fn.template operator()<uint64_t>(); return true;
    default: return false;
  }
}

// DispatchElementType plus bool (as C++ bool: ONNX bool is one byte, 0 or 1).
template <typename Fn>
bool DispatchElementTypeOrBool(DataType dtype, Fn&& fn) {
  if (dtype == DataType::kBool) {
    fn.template operator()<bool>();
    return true;
  }
  return DispatchElementType(dtype, fn);
}

// Below this many elements a loop runs on one thread: starting the OpenMP
// team costs more than the work.
inline constexpr int64_t kParallelGrain = 1 << 15;

// Runs fn(begin, end) over [0, n) split into contiguous chunks, one per
// thread, when the range is large enough to be worth it.
template <typename Fn>
void ParallelRanges(int64_t n, int threads, Fn&& fn) {
  const int64_t chunks = std::min<int64_t>(std::max(threads, 1), n / kParallelGrain);
  if (chunks <= 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    fn(n * c / chunks, n * (c + 1) / chunks);
  }
}

}  // namespace bnfold::onednn
