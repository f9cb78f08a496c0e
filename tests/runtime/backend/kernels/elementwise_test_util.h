// Helpers for the element-wise kernel tests: build a small model from ONNX
// text, run it through the public Session API, read results as doubles, and
// compute numpy-style broadcast references in double precision.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/tensor.h"
#include "onnx/onnx_pb.h"

namespace bnfold::testing {

// The model written in ONNX's text syntax (onnx::OnnxParser); fails the
// test on a parse error.
onnx::ModelProto ParseModel(const std::string& text);

// Adds a constant initializer (not a graph input, so it cannot be
// overridden) holding `values` converted to `dtype`.
void AddInitializer(onnx::ModelProto* model, const std::string& name, DataType dtype,
                    const std::vector<int64_t>& dims, const std::vector<double>& values);

StatusOr<std::unique_ptr<Session>> OpenModel(const onnx::ModelProto& model,
                                             bool optimize = true);

// A tensor holding `values` converted to `dtype` (float16/bfloat16 rounded).
Tensor MakeTensor(DataType dtype, const std::vector<int64_t>& shape,
                  const std::vector<double>& values);

// Runs the model once and returns its first output; a failed run fails the
// test and returns an empty tensor.
Tensor RunSingleOutput(const onnx::ModelProto& model, const std::vector<NamedTensor>& inputs,
                       bool optimize = true);

std::vector<double> ToDoubles(const Tensor& tensor);

// `count` deterministic values in [lo, hi).
std::vector<double> SpreadValues(int64_t count, double lo, double hi, uint32_t seed = 1);

int64_t ElementCount(const std::vector<int64_t>& dims);

// Flat row-major index into a tensor of `dims` (right-aligned with the
// multi-index `index` of a larger output; size-1 dims read index 0).
int64_t BroadcastIndex(const std::vector<int64_t>& dims, const std::vector<int64_t>& index);

// out[i] = fn(a, b) over numpy's broadcast of a (dims_a) and b (dims_b),
// indexed by multi-index: an implementation independent of the kernels'.
template <typename Fn>
std::vector<double> BroadcastReference(const std::vector<double>& a,
                                       const std::vector<int64_t>& dims_a,
                                       const std::vector<double>& b,
                                       const std::vector<int64_t>& dims_b,
                                       const std::vector<int64_t>& out_dims, Fn fn) {
  const int64_t total = ElementCount(out_dims);
  std::vector<double> out(total);
  std::vector<int64_t> index(out_dims.size(), 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t rest = flat;
    for (size_t d = out_dims.size(); d-- > 0;) {
      index[d] = rest % out_dims[d];
      rest /= out_dims[d];
    }
    out[flat] = fn(a[BroadcastIndex(dims_a, index)], b[BroadcastIndex(dims_b, index)]);
  }
  return out;
}

}  // namespace bnfold::testing
