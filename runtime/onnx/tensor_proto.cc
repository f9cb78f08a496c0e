#include "runtime/onnx/tensor_proto.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "onnx/onnx_pb.h"
#include "runtime/common/file_util.h"
#include "runtime/common/npy.h"

namespace bnfold::onnx_io {

namespace {

bool IsSupportedType(DataType t) {
  return DataTypeSize(t) != 0 && t != DataType::kComplex64 &&
         t != DataType::kComplex128;
}

// Copies `count` typed-field values into `dst` converting each to T.
template <typename T, typename Field>
void CopyField(const Field& field, void* dst, int64_t count) {
  T* out = static_cast<T*>(dst);
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(field.Get(i));
}

}  // namespace

std::string ElementTypeName(int32_t onnx_type) {
  // Types added after ONNX 1.12 (IR 9 and 10), which its enum lacks.
  switch (onnx_type) {
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    default: break;
  }
  if (onnx_type <= 0 || !onnx::TensorProto_DataType_IsValid(onnx_type)) {
    return "unknown (data_type " + std::to_string(onnx_type) + ")";
  }
  return DataTypeName(static_cast<DataType>(onnx_type));
}

StatusOr<DataType> SupportedElementType(int32_t onnx_type, const std::string& what) {
  if (onnx_type <= 0 || onnx_type > kMaxOnnxElementType) {
    return InvalidModel(what + " has invalid element type " + std::to_string(onnx_type));
  }
  const DataType dtype = static_cast<DataType>(onnx_type);
  if (!onnx::TensorProto_DataType_IsValid(onnx_type) || !IsSupportedType(dtype)) {
    return Unsupported(what + " has element type " + ElementTypeName(onnx_type) +
                       ", which bnfold does not support");
  }
  return dtype;
}

namespace {

// What TensorFromProto checks before touching the data: the dtype, the
// shape, and that the data present matches the shape (so a huge shape
// with little data is an error, not a huge allocation).
struct CheckedTensorProto {
  DataType dtype = DataType::kUndefined;
  std::vector<int64_t> dims;
  size_t bytes = 0;
  int64_t count = 0;
};

StatusOr<CheckedTensorProto> CheckTensorProto(const onnx::TensorProto& proto,
                                              const std::string& what) {
  StatusOr<DataType> supported = SupportedElementType(proto.data_type(), what);
  if (!supported.ok()) return supported.status();
  CheckedTensorProto checked;
  checked.dtype = *supported;
  const DataType dtype = checked.dtype;
  if (proto.has_segment()) {
    return Unsupported(what + " is segmented, which bnfold does not support");
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return Internal(what + " still refers to external data");
  }
  checked.dims.assign(proto.dims().begin(), proto.dims().end());
  const std::vector<int64_t>& dims = checked.dims;
  StatusOr<size_t> bytes = CheckedByteSize(dtype, dims);
  if (!bytes.ok()) return InvalidModel(what + ": " + bytes.status().message());
  checked.bytes = *bytes;
  checked.count = static_cast<int64_t>(*bytes / DataTypeSize(dtype));
  const int64_t count = checked.count;

  int64_t available = 0;
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != *bytes) {
      return InvalidModel(what + ": raw_data has " +
                          std::to_string(proto.raw_data().size()) +
                          " bytes but shape " + ShapeToString(dims) + " of " +
                          DataTypeName(dtype) + " needs " +
                          std::to_string(*bytes));
    }
    available = count;
  } else {
    switch (dtype) {
      case DataType::kFloat: available = proto.float_data_size(); break;
      case DataType::kDouble: available = proto.double_data_size(); break;
      case DataType::kInt64: available = proto.int64_data_size(); break;
      case DataType::kUint32:
      case DataType::kUint64: available = proto.uint64_data_size(); break;
      default: available = proto.int32_data_size(); break;
    }
    if (available != count) {
      return InvalidModel(what + " holds " + std::to_string(available) +
                          " elements but shape " + ShapeToString(dims) +
                          " needs " + std::to_string(count));
    }
  }
  return checked;
}

}  // namespace

StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto,
                                 const std::string& what) {
  StatusOr<CheckedTensorProto> checked = CheckTensorProto(proto, what);
  if (!checked.ok()) return checked.status();
  const DataType dtype = checked->dtype;
  const std::vector<int64_t>& dims = checked->dims;
  const size_t bytes = checked->bytes;
  const int64_t count = checked->count;
  StatusOr<Tensor> tensor = Tensor::Allocate(dtype, dims);
  if (!tensor.ok()) return tensor.status().WithContext(what);
  void* dst = tensor->data();
  if (proto.has_raw_data()) {
    std::memcpy(dst, proto.raw_data().data(), bytes);
    return tensor;
  }
  switch (dtype) {
    case DataType::kFloat: CopyField<float>(proto.float_data(), dst, count); break;
    case DataType::kDouble: CopyField<double>(proto.double_data(), dst, count); break;
    case DataType::kInt64: CopyField<int64_t>(proto.int64_data(), dst, count); break;
    case DataType::kUint32: CopyField<uint32_t>(proto.uint64_data(), dst, count); break;
    case DataType::kUint64: CopyField<uint64_t>(proto.uint64_data(), dst, count); break;
    case DataType::kInt32: CopyField<int32_t>(proto.int32_data(), dst, count); break;
    case DataType::kInt16: CopyField<int16_t>(proto.int32_data(), dst, count); break;
    case DataType::kInt8: CopyField<int8_t>(proto.int32_data(), dst, count); break;
    case DataType::kUint16:
    case DataType::kFloat16:
    case DataType::kBfloat16: CopyField<uint16_t>(proto.int32_data(), dst, count); break;
    case DataType::kUint8: CopyField<uint8_t>(proto.int32_data(), dst, count); break;
    case DataType::kBool: {
      auto* out = static_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < count; ++i) out[i] = proto.int32_data(i) != 0;
      break;
    }
    default:
      return Unsupported(what + ": element type " + DataTypeName(dtype));
  }
  return tensor;
}

StatusOr<Tensor> TensorViewOfRawData(const onnx::TensorProto& proto, const std::string& what,
                                     std::shared_ptr<void> owner) {
  StatusOr<CheckedTensorProto> checked = CheckTensorProto(proto, what);
  if (!checked.ok()) return checked.status();
  if (!proto.has_raw_data()) return Internal(what + " has no raw_data to view");
  // The IR shares constants as const; the only writer is a fold rewriting a
  // weight nothing else reads, after BorrowedInitializers::Take has moved
  // this buffer into `owner` (passes::CanRewriteInPlace).
  void* data = const_cast<char*>(proto.raw_data().data());
  return Tensor::Adopt(checked->dtype, std::move(checked->dims), std::move(owner), data);
}

void TensorToProto(const Tensor& tensor, const std::string& name,
                   onnx::TensorProto* proto) {
  proto->Clear();
  if (!name.empty()) proto->set_name(name);
  proto->set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto->add_dims(d);
  proto->set_raw_data(tensor.data(), tensor.byte_size());
}

StatusOr<NamedTensor> ReadTensorFile(const std::string& path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    StatusOr<Tensor> t = ReadNpyFile(path);
    if (!t.ok()) return t.status();
    return NamedTensor{"", std::move(*t)};
  }
  StatusOr<std::string> bytes = ReadFileToString(path, kMaxTensorFileBytes);
  if (!bytes.ok()) return bytes.status();
  onnx::TensorProto proto;
  if (!proto.ParseFromString(*bytes)) {
    return InvalidArgument(path + ": not a serialized ONNX TensorProto");
  }
  StatusOr<Tensor> t = TensorFromProto(proto, path);
  if (!t.ok()) return t.status();
  return NamedTensor{proto.name(), std::move(*t)};
}

Status WriteTensorProtoFile(const std::string& path, const std::string& name,
                            const Tensor& tensor) {
  onnx::TensorProto proto;
  TensorToProto(tensor, name, &proto);
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    return Internal(path + ": cannot serialize tensor '" + name + "'");
  }
  return WriteFileAtomically(path, bytes);
}

}  // namespace bnfold::onnx_io
