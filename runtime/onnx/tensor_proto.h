// TensorProto <-> Tensor, and the tensor files the CLI reads and writes
// (ONNX TensorProto .pb and NumPy .npy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace onnx {
class TensorProto;
}

namespace bnfold::onnx_io {

// The newest TensorProto.DataType code (IR 10: float4e2m1 = 23).
inline constexpr int32_t kMaxOnnxElementType = 23;

// ONNX spelling of a TensorProto.DataType code, including the types newer
// than the installed ONNX library ("float8e4m3fn").
std::string ElementTypeName(int32_t onnx_type);
// The DataType of ONNX code `onnx_type`: InvalidModel for a code no IR
// version defines (and for UNDEFINED), Unsupported for string, complex and
// the float8/int4/float4 types. `what` names the tensor or value.
StatusOr<DataType> SupportedElementType(int32_t onnx_type, const std::string& what);

// Converts a TensorProto whose data is inline (external data must already be
// resolved into raw_data). Validates dims, dtype and that the data holds
// exactly as many elements as the shape says, before allocating anything.
// `what` names the tensor in errors, e.g. "initializer 'W'".
StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto,
                                 const std::string& what);
// TensorFromProto's checks, then no copy: a tensor over proto.raw_data()'s
// bytes that keeps `owner` alive. The caller keeps those bytes where they
// are for as long as the tensor lives (e.g. by moving the string that holds
// them into `owner`, which keeps the address of a heap-allocated string).
StatusOr<Tensor> TensorViewOfRawData(const onnx::TensorProto& proto, const std::string& what,
                                     std::shared_ptr<void> owner);
// Writes `tensor` as raw little-endian data.
void TensorToProto(const Tensor& tensor, const std::string& name,
                   onnx::TensorProto* proto);

// Reads a serialized TensorProto (.pb) or a NumPy array (.npy), chosen by
// the file's extension. The returned name is the proto's name ("" for npy).
StatusOr<NamedTensor> ReadTensorFile(const std::string& path);
// Writes `tensor` as a serialized TensorProto named `name`.
Status WriteTensorProtoFile(const std::string& path, const std::string& name,
                            const Tensor& tensor);

}  // namespace bnfold::onnx_io
