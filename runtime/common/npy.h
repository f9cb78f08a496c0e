// NumPy .npy files (format versions 1-3, little-endian, C order).
#pragma once

#include <string>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold {

StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& what);
StatusOr<Tensor> ReadNpyFile(const std::string& path);
std::string SerializeNpy(const Tensor& tensor);

}  // namespace bnfold
