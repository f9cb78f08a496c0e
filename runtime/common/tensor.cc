#include "bnfold/tensor.h"

#include <cmath>
#include <limits>

#include "bnfold/version.h"
#include "runtime/common/buffer.h"
#include "runtime/common/half.h"

namespace bnfold {

const char* Version() { return "0.1.0"; }

size_t DataTypeSize(DataType type) {
  switch (type) {
    case DataType::kFloat: return 4;
    case DataType::kUint8: return 1;
    case DataType::kInt8: return 1;
    case DataType::kUint16: return 2;
    case DataType::kInt16: return 2;
    case DataType::kInt32: return 4;
    case DataType::kInt64: return 8;
    case DataType::kBool: return 1;
    case DataType::kFloat16: return 2;
    case DataType::kDouble: return 8;
    case DataType::kUint32: return 4;
    case DataType::kUint64: return 8;
    case DataType::kComplex64: return 8;
    case DataType::kComplex128: return 16;
    case DataType::kBfloat16: return 2;
    case DataType::kString:
    case DataType::kUndefined: return 0;
  }
  return 0;
}

const char* DataTypeName(DataType type) {
  switch (type) {
    case DataType::kUndefined: return "undefined";
    case DataType::kFloat: return "float";
    case DataType::kUint8: return "uint8";
    case DataType::kInt8: return "int8";
    case DataType::kUint16: return "uint16";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kString: return "string";
    case DataType::kBool: return "bool";
    case DataType::kFloat16: return "float16";
    case DataType::kDouble: return "double";
    case DataType::kUint32: return "uint32";
    case DataType::kUint64: return "uint64";
    case DataType::kComplex64: return "complex64";
    case DataType::kComplex128: return "complex128";
    case DataType::kBfloat16: return "bfloat16";
  }
  return "unknown";
}

bool IsFloatingPoint(DataType type) {
  return type == DataType::kFloat || type == DataType::kFloat16 ||
         type == DataType::kDouble || type == DataType::kBfloat16;
}

StatusOr<int64_t> CheckedElementCount(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      return InvalidArgument("shape " + ShapeToString(shape) +
                             " has a negative dimension");
    }
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) {
      return InvalidArgument("shape " + ShapeToString(shape) +
                             " has more elements than fit in 64 bits");
    }
    count *= dim;
  }
  return count;
}

StatusOr<size_t> CheckedByteSize(DataType type,
                                 const std::vector<int64_t>& shape) {
  StatusOr<int64_t> count = CheckedElementCount(shape);
  if (!count.ok()) return count.status();
  const size_t elem = DataTypeSize(type);
  if (elem == 0) {
    return Unsupported(std::string("element type ") + DataTypeName(type) +
                       " has no fixed size");
  }
  if (static_cast<uint64_t>(*count) >
      std::numeric_limits<size_t>::max() / 2 / elem) {
    return InvalidArgument("shape " + ShapeToString(shape) +
                           " is too large to allocate");
  }
  return static_cast<size_t>(*count) * elem;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

StatusOr<Tensor> Tensor::Allocate(DataType type, std::vector<int64_t> shape) {
  StatusOr<size_t> bytes = CheckedByteSize(type, shape);
  if (!bytes.ok()) return bytes.status();
  std::shared_ptr<void> owner = AllocateBuffer(*bytes, /*zeroed=*/true);
  if (owner == nullptr) {
    return InvalidArgument("cannot allocate " + std::to_string(*bytes) +
                           " bytes for a tensor of shape " +
                           ShapeToString(shape));
  }
  Tensor t;
  t.dtype_ = type;
  t.shape_ = std::move(shape);
  t.data_ = owner.get();
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::Adopt(DataType type, std::vector<int64_t> shape,
                     std::shared_ptr<void> owner, void* data) {
  Tensor t;
  t.dtype_ = type;
  t.shape_ = std::move(shape);
  t.owner_ = std::move(owner);
  t.data_ = data;
  return t;
}

Tensor Tensor::Wrap(DataType type, std::vector<int64_t> shape, void* data) {
  Tensor t;
  t.dtype_ = type;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

int64_t Tensor::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

size_t Tensor::byte_size() const {
  return static_cast<size_t>(num_elements()) * DataTypeSize(dtype_);
}

double Tensor::GetAsDouble(int64_t i) const {
  const Tensor& t = *this;
  const void* p = t.data();
  switch (t.dtype()) {
    case DataType::kFloat: return static_cast<const float*>(p)[i];
    case DataType::kDouble: return static_cast<const double*>(p)[i];
    case DataType::kFloat16: return HalfToFloat(static_cast<const uint16_t*>(p)[i]);
    case DataType::kBfloat16: return Bfloat16ToFloat(static_cast<const uint16_t*>(p)[i]);
    case DataType::kInt8: return static_cast<const int8_t*>(p)[i];
    case DataType::kUint8: return static_cast<const uint8_t*>(p)[i];
    case DataType::kInt16: return static_cast<const int16_t*>(p)[i];
    case DataType::kUint16: return static_cast<const uint16_t*>(p)[i];
    case DataType::kInt32: return static_cast<const int32_t*>(p)[i];
    case DataType::kUint32: return static_cast<const uint32_t*>(p)[i];
    case DataType::kInt64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DataType::kUint64: return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    case DataType::kBool: return static_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
    default: return std::nan("");
  }
}

void Tensor::SetFromDouble(int64_t i, double v) {
  Tensor& t = *this;
  void* p = t.data();
  switch (t.dtype()) {
    case DataType::kFloat: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DataType::kDouble: static_cast<double*>(p)[i] = v; break;
    case DataType::kFloat16: static_cast<uint16_t*>(p)[i] = DoubleToHalf(v); break;
    case DataType::kBfloat16: static_cast<uint16_t*>(p)[i] = DoubleToBfloat16(v); break;
    case DataType::kInt8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); break;
    case DataType::kUint8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); break;
    case DataType::kInt16: static_cast<int16_t*>(p)[i] = static_cast<int16_t>(v); break;
    case DataType::kUint16: static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(v); break;
    case DataType::kInt32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
    case DataType::kUint32: static_cast<uint32_t*>(p)[i] = static_cast<uint32_t>(v); break;
    case DataType::kInt64: static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v); break;
    case DataType::kUint64: static_cast<uint64_t*>(p)[i] = static_cast<uint64_t>(v); break;
    case DataType::kBool: static_cast<uint8_t*>(p)[i] = v != 0.0; break;
    default: break;
  }
}

}  // namespace bnfold
