// The element types of the kernels' own C++ loops, and the one dispatch
// from a run-time DataType to a compile-time one. New kernels dispatch
// through this header, not through a switch of their own:
//
//   DispatchElement<kNumericElements>(dtype, [&]<DataType kType>() {
//     using E = Element<kType>;
//     const auto* x = static_cast<const typename E::Storage*>(data);
//     typename E::Compute v = E::Load(x[0]);  // float for float16/bfloat16
//     ...
//   });
//
// The sets (combine with |): kFloatingElements (float, double, float16,
// bfloat16), kIntegerElements (the eight integer types), kBoolElement;
// kNumericElements is floating | integer, kAllElements adds bool.
//
// Element<kType>::Storage is the C++ type of one stored element: the 16-bit
// floats are the tags Float16 / BFloat16 (two bytes, never mistaken for
// uint16), bool is one byte holding 0 or 1. Compute is the type arithmetic
// is done in: float for the 16-bit floats, bool for bool, the type itself
// otherwise. Load/Store convert between the two (round-to-nearest-even into
// the 16-bit floats).
#pragma once

#include <cstdint>
#include <limits>

#include "bnfold/tensor.h"
#include "runtime/common/half.h"

namespace bnfold::onednn {

// Storage of the 16-bit floats: distinct types, so that a template on the
// storage type can tell them from uint16 and compute them through float.
struct Float16 {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

// Sets of element types, for DispatchElement.
enum ElementSet : unsigned {
  kFloatingElements = 1u << 0,
  kIntegerElements = 1u << 1,
  kBoolElement = 1u << 2,
  kNumericElements = kFloatingElements | kIntegerElements,
  kAllElements = kNumericElements | kBoolElement,
};

template <DataType kType>
struct Element;

template <typename T>
struct PlainElement {
  using Storage = T;
  using Compute = T;
  static Compute Load(Storage v) { return v; }
  static Storage Store(Compute v) { return v; }
  static constexpr bool kFloating = std::numeric_limits<T>::is_iec559;
  static constexpr ElementSet kSet = kFloating ? kFloatingElements : kIntegerElements;
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
  using Storage = Float16;
  using Compute = float;
  static Compute Load(Storage v) { return HalfToFloat(v.bits); }
  static Storage Store(Compute v) { return Float16{FloatToHalf(v)}; }
  static constexpr bool kFloating = true;
  static constexpr ElementSet kSet = kFloatingElements;
};

template <>
struct Element<DataType::kBfloat16> {
  using Storage = BFloat16;
  using Compute = float;
  static Compute Load(Storage v) { return Bfloat16ToFloat(v.bits); }
  static Storage Store(Compute v) { return BFloat16{FloatToBfloat16(v)}; }
  static constexpr bool kFloating = true;
  static constexpr ElementSet kSet = kFloatingElements;
};

// ONNX bool is one byte holding 0 or 1.
template <>
struct Element<DataType::kBool> {
  using Storage = uint8_t;
  using Compute = bool;
  static Compute Load(Storage v) { return v != 0; }
  static Storage Store(Compute v) { return v ? 1 : 0; }
  static constexpr bool kFloating = false;
  static constexpr ElementSet kSet = kBoolElement;
};

// The type list DispatchElement walks: every type that has an Element.
template <DataType... kTypes>
struct ElementTypeList {};
using ElementTypes =
    ElementTypeList<DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kBfloat16,
                    DataType::kInt8, DataType::kUint8, DataType::kInt16, DataType::kUint16,
                    DataType::kInt32, DataType::kUint32, DataType::kInt64, DataType::kUint64,
                    DataType::kBool>;

namespace element_type_internal {

template <DataType kType, unsigned kSet, typename Fn>
bool CallIfInSet(DataType dtype, Fn& fn) {
  if constexpr ((Element<kType>::kSet & kSet) != 0) {
    if (dtype == kType) {
      fn.template operator()<kType>();
      return true;
    }
  }
  return false;
}

template <unsigned kSet, typename Fn, DataType... kTypes>
bool Dispatch(ElementTypeList<kTypes...>, DataType dtype, Fn& fn) {
  return (CallIfInSet<kTypes, kSet>(dtype, fn) || ...);
}

}  // namespace element_type_internal

// Calls fn.template operator()<kType>() with kType == dtype when dtype is in
// the set kSet; false (fn not called) otherwise.
template <unsigned kSet, typename Fn>
bool DispatchElement(DataType dtype, Fn&& fn) {
  return element_type_internal::Dispatch<kSet>(ElementTypes{}, dtype, fn);
}

// Whether dtype is in the set kSet.
template <unsigned kSet>
bool IsElementIn(DataType dtype) {
  return DispatchElement<kSet>(dtype, []<DataType>() {});
}

}  // namespace bnfold::onednn
