#include "bnfold/tensor_io.h"

#include "runtime/onnx/tensor_proto.h"

namespace bnfold {

StatusOr<NamedTensor> ReadTensorFile(const std::string& path) {
  return onnx_io::ReadTensorFile(path);
}

Status WriteTensorFile(const std::string& path, const std::string& name,
                       const Tensor& tensor) {
  return onnx_io::WriteTensorProtoFile(path, name, tensor);
}

}  // namespace bnfold
