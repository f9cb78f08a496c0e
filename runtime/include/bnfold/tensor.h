// Tensor: a dense, row-major buffer with an element type and a shape, either
// owned by the tensor or borrowed from the caller (no copy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"

namespace bnfold {

// Values match onnx.TensorProto.DataType so conversion is a cast.
enum class DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBfloat16 = 16,
};

// Size of one element in bytes; 0 for types without a fixed-size layout
// (string, undefined).
size_t DataTypeSize(DataType type);
// ONNX spelling: "float", "int64", "float16", ...
const char* DataTypeName(DataType type);
bool IsFloatingPoint(DataType type);

// Number of elements of `shape`, or an error when a dim is negative or the
// product (or its size in bytes for `type`) overflows.
StatusOr<int64_t> CheckedElementCount(const std::vector<int64_t>& shape);
StatusOr<size_t> CheckedByteSize(DataType type,
                                 const std::vector<int64_t>& shape);

std::string ShapeToString(const std::vector<int64_t>& shape);

class Tensor {
 public:
  Tensor() = default;

  // A zero-initialised tensor that owns its (64-byte aligned) buffer.
  static StatusOr<Tensor> Allocate(DataType type, std::vector<int64_t> shape);
  // A view of caller-owned memory; the caller keeps it alive and sized.
  static Tensor Wrap(DataType type, std::vector<int64_t> shape, void* data);
  // A tensor over `data` that keeps `owner` alive as long as it (or a copy)
  // lives, e.g. a buffer read from a file: no copy. `data` must hold
  // CheckedByteSize(type, shape) bytes aligned for `type`.
  static Tensor Adopt(DataType type, std::vector<int64_t> shape,
                      std::shared_ptr<void> owner, void* data);

  DataType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t num_elements() const;
  size_t byte_size() const;
  bool owns_data() const { return owner_ != nullptr; }
  // Owns its buffer and no copy of this tensor shares it: writing through
  // data() changes no other tensor.
  bool owns_data_alone() const { return owner_ != nullptr && owner_.use_count() == 1; }

  // Element `index` (row-major) converted to double, for any numeric dtype
  // (float16/bfloat16 included); NaN for non-numeric types.
  double GetAsDouble(int64_t index) const;
  // Stores `value` converted (rounded) to the dtype at `index`.
  void SetFromDouble(int64_t index, double value);

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* data_as() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data_as() const {
    return static_cast<const T*>(data_);
  }

 private:
  DataType dtype_ = DataType::kUndefined;
  std::vector<int64_t> shape_;
  std::shared_ptr<void> owner_;
  void* data_ = nullptr;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

}  // namespace bnfold
