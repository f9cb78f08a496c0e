// Helpers for kernel tests: build a model from ONNX text, open it through
// the public Session API, feed typed tensors and read results back.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/tensor.h"
#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"

namespace bnfold::test_util {

// Serialized ModelProto parsed from ONNX text; fails the test on a syntax
// error.
inline std::string ModelBytes(const std::string& text) {
  onnx::ModelProto model;
  const onnx::Common::Status status = onnx::OnnxParser::Parse(model, text.c_str());
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage() << "\n" << text;
  return model.SerializeAsString();
}

inline StatusOr<std::unique_ptr<Session>> Open(const std::string& text, bool optimize = true) {
  SessionOptions options;
  options.threads = 2;
  options.optimize = optimize;
  return Session::OpenFromBytes(ModelBytes(text), options);
}

template <typename T>
Tensor MakeTensor(DataType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  StatusOr<Tensor> t = Tensor::Allocate(dtype, std::move(shape));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(static_cast<size_t>(t->num_elements()), values.size());
  if (!values.empty()) std::memcpy(t->data(), values.data(), values.size() * sizeof(T));
  return std::move(*t);
}

inline Tensor Floats(std::vector<int64_t> shape, const std::vector<float>& values) {
  return MakeTensor(DataType::kFloat, std::move(shape), values);
}

// 0, 1, 2, ... in the shape.
inline Tensor Iota(std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(i);
  return Floats(std::move(shape), values);
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  const T* p = t.data_as<T>();
  return std::vector<T>(p, p + t.num_elements());
}

// Runs with the given feeds; the outputs in graph order.
inline StatusOr<std::vector<NamedTensor>> RunModel(const Session& session,
                                              const std::vector<NamedTensor>& feeds) {
  std::vector<NamedTensor> outputs;
  Status status = session.Run(feeds, &outputs);
  if (!status.ok()) return status;
  return outputs;
}

}  // namespace bnfold::test_util
