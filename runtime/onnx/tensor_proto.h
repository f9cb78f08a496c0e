// TensorProto <-> Tensor, and the tensor files the CLI reads and writes
// (ONNX TensorProto .pb and NumPy .npy).
#pragma once

#include <string>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace onnx {
class TensorProto;
}

namespace bnfold::onnx_io {

// Converts a TensorProto whose data is inline (external data must already be
// resolved into raw_data). Validates dims, dtype and that the data holds
// exactly as many elements as the shape says, before allocating anything.
// `what` names the tensor in errors, e.g. "initializer 'W'".
StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto,
                                 const std::string& what);
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
