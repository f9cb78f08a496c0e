// Helpers for the Conv/ConvTranspose/Gemm/MatMul kernel tests: a small
// ModelProto builder (so tests can attach initializers with data), seeded
// random tensors, a one-shot run through the public Session API, and a
// comparison against a double-precision reference.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/tensor.h"

namespace bnfold::testing {

struct Attr {
  std::string name;
  std::variant<int64_t, float, std::vector<int64_t>, std::string> value;
};

// Builds a single-graph ModelProto. Dims of -1 become the symbolic dim "N".
class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset);
  ~ModelBuilder();
  ModelBuilder& Input(const std::string& name, DataType type, const std::vector<int64_t>& dims);
  ModelBuilder& Initializer(const std::string& name, const Tensor& value);
  // `value` as an initializer when `constant`, else as a graph input of its
  // type and dims, fed from `feeds`.
  ModelBuilder& Operand(const std::string& name, const Tensor& value, bool constant,
                        std::vector<NamedTensor>* feeds);
  ModelBuilder& Node(const std::string& op, const std::vector<std::string>& inputs,
                     const std::vector<std::string>& outputs, const std::vector<Attr>& attrs = {});
  // An output of rank `rank` whose dims the model leaves to shape inference.
  ModelBuilder& Output(const std::string& name, DataType type, int rank);
  std::string Bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Uniform values in [-1, 1], reproducible for a seed; float32 unless asked.
Tensor RandomTensor(const std::vector<int64_t>& dims, uint32_t seed,
                    DataType type = DataType::kFloat);

// SessionOptions with `threads` (the rest default).
SessionOptions ThreadsOption(int threads);

// Opens `model` and runs it once; the first output, or the error.
StatusOr<Tensor> RunModel(const std::string& model, const std::vector<NamedTensor>& inputs,
                          int threads = 1);

// A reference result: values and, per element, the sum of the magnitudes of
// the terms that made it (the scale of its rounding error).
struct Reference {
  std::vector<int64_t> dims;
  std::vector<double> values;
  std::vector<double> magnitude;
};

// Conv geometry for the reference: per spatial axis.
struct ConvParams {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads_begin;  // per spatial axis
};

// Spatial dims padded to 3 with unit axes so one loop nest covers 1D-3D.
std::vector<int64_t> Spatial3(const std::vector<int64_t>& dims, int64_t fill);
std::vector<int64_t> Axis3(const std::vector<int64_t>& v, int64_t fill);

// y[n, m, o] = b[m] + sum_{c in group(m), k} x[n, c, o*s + k*d - pad] * w[m, c', k],
// in double precision; x given as doubles with dims x_dims.
Reference ReferenceConv(const std::vector<int64_t>& x_dims, const std::vector<double>& x,
                        const Tensor& w, const Tensor* b, const ConvParams& p,
                        const std::vector<int64_t>& out_dims);

// The elements of `t` as doubles.
std::vector<double> Values(const Tensor& t);

// Every element of `got` within rtol * magnitude + atol of the reference.
void ExpectMatches(const Tensor& got, const Reference& want, double rtol = 1e-5,
                   double atol = 1e-6);

}  // namespace bnfold::testing
