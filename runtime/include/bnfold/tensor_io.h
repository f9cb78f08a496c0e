// Reading and writing tensors as files: ONNX TensorProto (.pb) and NumPy
// (.npy).
#pragma once

#include <string>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold {

// Reads a .npy (by extension) or a serialized TensorProto (anything else).
// The name is the TensorProto's name ("" for .npy).
StatusOr<NamedTensor> ReadTensorFile(const std::string& path);
// Writes a serialized TensorProto named `name`, atomically.
Status WriteTensorFile(const std::string& path, const std::string& name,
                       const Tensor& tensor);

}  // namespace bnfold
