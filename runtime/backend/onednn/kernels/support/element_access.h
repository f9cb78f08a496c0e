// Typed element access for the C++ (non-oneDNN) loops of the pooling,
// normalization, softmax and reduction kernels: how each ONNX element type
// is stored, which type arithmetic on it uses, and a dispatcher from the
// runtime DataType to a compile-time one.
//
//   DispatchElement(dtype, [&]<DataType kType>() {
//     using E = Element<kType>;
//     const auto* x = static_cast<const typename E::Storage*>(data);
//     typename E::Compute v = E::Load(x[0]);
//   });
#pragma once

#include <cstdint>
#include <limits>
#include <utility>

#include "bnfold/tensor.h"
#include "runtime/common/half.h"

namespace bnfold::onednn {

// Storage: the C++ type of one stored element. Compute: the type arithmetic
// is done in (float for the 16-bit floats, the type itself otherwise).
template <DataType kType>
struct Element;

template <typename T>
struct PlainElement {
  using Storage = T;
  using Compute = T;
  static Compute Load(Storage v) { return v; }
  static Storage Store(Compute v) { return v; }
  static constexpr bool kFloating = std::numeric_limits<T>::is_iec559;
};

template <> struct Element<DataType::kFloat> : PlainElement<float> {};
template <> struct Element<DataType::kDouble> : PlainElement<double> {};
template <> struct Element<DataType::kInt8> : PlainElement<int8_t> {};
template <> struct Element<DataType::kUint8> : PlainElement<uint8_t> {};
template <> struct Element<DataType::kInt16> : PlainElement<int16_t> {};
template <> struct Element<DataType::kUint16> : PlainElement<uint16_t> {};
template <> struct Element<DataType::kInt32> : PlainElement<int32_t> {};
template <> struct Element<DataType::kUint32> : PlainElement<uint32_t> {};
template <> struct Element<DataType::kInt64> : PlainElement<int64_t> {};
template <> struct Element<DataType::kUint64> : PlainElement<uint64_t> {};

template <>
struct Element<DataType::kFloat16> {
  using Storage = uint16_t;
  using Compute = float;
  static Compute Load(Storage v) { return HalfToFloat(v); }
  static Storage Store(Compute v) { return FloatToHalf(v); }
  static constexpr bool kFloating = true;
};

template <>
struct Element<DataType::kBfloat16> {
  using Storage = uint16_t;
  using Compute = float;
  static Compute Load(Storage v) { return Bfloat16ToFloat(v); }
  static Storage Store(Compute v) { return FloatToBfloat16(v); }
  static constexpr bool kFloating = true;
};

// ONNX bool is one byte holding 0 or 1.
template <>
struct Element<DataType::kBool> {
  using Storage = uint8_t;
  using Compute = bool;
  static Compute Load(Storage v) { return v != 0; }
  static Storage Store(Compute v) { return v ? 1 : 0; }
  static constexpr bool kFloating = false;
};

// Calls fn.template operator()<kType>() for the floating types (float,
// double, float16, bfloat16); false for any other type.
template <typename Fn>
bool DispatchFloatingElement(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kFloat: fn.template operator()<DataType::kFloat>(); return true;
    case DataType::kDouble: fn.template operator()<DataType::kDouble>(); return true;
    case DataType::kFloat16: fn.template operator()<DataType::kFloat16>(); return true;
    case DataType::kBfloat16: fn.template operator()<DataType::kBfloat16>(); return true;
    default: return false;
  }
}

// As DispatchFloatingElement, plus every integer type and bool.
template <typename Fn>
bool DispatchElement(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kInt8: fn.template operator()<DataType::kInt8>(); return true;
    case DataType::kUint8: fn.template operator()<DataType::kUint8>(); return true;
    case DataType::kInt16: fn.template operator()<DataType::kInt16>(); return true;
    case DataType::kUint16: fn.template operator()<DataType::kUint16>(); return true;
    case DataType::kInt32: fn.template operator()<DataType::kInt32>(); return true;
    case DataType::kUint32: fn.template operator()<DataType::kUint32>(); return true;
    case DataType::kInt64: fn.template operator()<DataType::kInt64>(); return true;
    case DataType::kUint64: fn.template operator()<DataType::kUint64>(); return true;
    case DataType::kBool: fn.template operator()<DataType::kBool>(); return true;
    default: return DispatchFloatingElement(dtype, std::forward<Fn>(fn));
  }
}

}  // namespace bnfold::onednn
