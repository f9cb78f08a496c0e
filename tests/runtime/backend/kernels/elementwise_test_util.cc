#include "tests/runtime/backend/kernels/elementwise_test_util.h"

#include <gtest/gtest.h>

#include <cstring>

#include "onnx/defs/parser.h"

namespace bnfold::testing {

onnx::ModelProto ParseModel(const std::string& text) {
  onnx::ModelProto model;
  const onnx::Status status = onnx::OnnxParser::Parse(model, text.c_str());
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage() << "\n" << text;
  // The 1.12 parser leaves `float[]` without a shape; the checker wants one
  // on graph inputs and outputs, and rank 0 is what `[]` means.
  onnx::GraphProto* graph = model.mutable_graph();
  for (auto* list : {graph->mutable_input(), graph->mutable_output()}) {
    for (onnx::ValueInfoProto& info : *list) {
      onnx::TypeProto_Tensor* tensor = info.mutable_type()->mutable_tensor_type();
      if (!tensor->has_shape()) tensor->mutable_shape();
    }
  }
  return model;
}

void AddInitializer(onnx::ModelProto* model, const std::string& name, DataType dtype,
                    const std::vector<int64_t>& dims, const std::vector<double>& values) {
  const Tensor t = MakeTensor(dtype, dims, values);
  onnx::TensorProto* proto = model->mutable_graph()->add_initializer();
  proto->set_name(name);
  proto->set_data_type(static_cast<int32_t>(dtype));
  for (int64_t d : dims) proto->add_dims(d);
  proto->set_raw_data(std::string(static_cast<const char*>(t.data()), t.byte_size()));
}

StatusOr<std::unique_ptr<Session>> OpenModel(const onnx::ModelProto& model, bool optimize) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Internal("cannot serialize the test model");
  SessionOptions options;
  options.threads = 2;
  options.optimize = optimize;
  return Session::OpenFromBytes(bytes, options);
}

Tensor MakeTensor(DataType dtype, const std::vector<int64_t>& shape,
                  const std::vector<double>& values) {
  StatusOr<Tensor> t = Tensor::Allocate(dtype, shape);
  EXPECT_TRUE(t.ok()) << t.status().message();
  if (!t.ok()) return Tensor();
  EXPECT_EQ(static_cast<size_t>(t->num_elements()), values.size());
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t->num_elements(); ++i) {
    t->SetFromDouble(static_cast<int64_t>(i), values[i]);
  }
  return *std::move(t);
}

Tensor RunSingleOutput(const onnx::ModelProto& model, const std::vector<NamedTensor>& inputs,
                       bool optimize) {
  StatusOr<std::unique_ptr<Session>> session = OpenModel(model, optimize);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return Tensor();
  std::vector<NamedTensor> outputs;
  const Status status = (*session)->Run(inputs, &outputs);
  EXPECT_TRUE(status.ok()) << status.message();
  if (!status.ok() || outputs.empty()) return Tensor();
  return outputs[0].tensor;
}

std::vector<double> ToDoubles(const Tensor& tensor) {
  std::vector<double> out(tensor.num_elements());
  for (int64_t i = 0; i < tensor.num_elements(); ++i) out[i] = tensor.GetAsDouble(i);
  return out;
}

std::vector<double> SpreadValues(int64_t count, double lo, double hi, uint32_t seed) {
  std::vector<double> out(count);
  uint32_t state = seed;
  for (int64_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    out[i] = lo + (hi - lo) * (state >> 8) / double(1u << 24);
  }
  return out;
}

int64_t ElementCount(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

int64_t BroadcastIndex(const std::vector<int64_t>& dims, const std::vector<int64_t>& index) {
  const size_t offset = index.size() - dims.size();
  int64_t flat = 0;
  for (size_t d = 0; d < dims.size(); ++d) {
    flat = flat * dims[d] + (dims[d] == 1 ? 0 : index[offset + d]);
  }
  return flat;
}

}  // namespace bnfold::testing
