// NumPy .npy files (format versions 1-3, little-endian, C order).
#pragma once

#include <string>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold {

// Parses .npy bytes; `what` names the array in errors. Refuses headers that
// are malformed, Fortran order, big-endian or non-numeric types, and data
// whose size disagrees with the shape (checked before allocating).
StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& what);
StatusOr<Tensor> ReadNpyFile(const std::string& path);
// A version 1.0 .npy file; Unsupported for dtypes NumPy has no type for
// (bfloat16, string, complex).
StatusOr<std::string> SerializeNpy(const Tensor& tensor);

}  // namespace bnfold
