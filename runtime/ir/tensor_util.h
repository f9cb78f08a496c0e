// Element access helpers for constant tensors of any numeric dtype, used by
// passes and diagnostics that compute in double regardless of storage type.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bnfold/tensor.h"
#include "runtime/ir/graph.h"

namespace bnfold::ir {

// Element `index` converted to double (float, float16, bfloat16, double and
// the integer types). Precondition: index < num_elements(), numeric dtype.
double ReadAsDouble(const Tensor& tensor, int64_t index);
// Stores `value` (rounded to the tensor's dtype) at `index`.
void WriteFromDouble(Tensor& tensor, int64_t index, double value);
// All elements as double.
std::vector<double> ToDoubleVector(const Tensor& tensor);
// A new constant of `dtype` and `shape` holding `values` (rounded).
StatusOr<ConstTensorPtr> MakeConstant(DataType dtype,
                                      const std::vector<int64_t>& shape,
                                      const std::vector<double>& values);
// Integer elements (int32/int64/uint8... ) as int64; error for other types.
StatusOr<std::vector<int64_t>> ToInt64Vector(const Tensor& tensor);

}  // namespace bnfold::ir
