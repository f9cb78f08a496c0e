// Test helper: builds an ONNX model holding one node, runs it through the
// public API (bnfold::Session::OpenFromBytes), and converts tensors to and
// from vectors of doubles for comparison with references written in the
// tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/status.h"
#include "bnfold/tensor.h"
#include "onnx/onnx_pb.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold::testing {

// A tensor of `dtype` and `shape` holding `values` (converted, rounded).
inline Tensor MakeTensor(DataType dtype, std::vector<int64_t> shape,
                         const std::vector<double>& values) {
  StatusOr<Tensor> t = Tensor::Allocate(dtype, std::move(shape));
  if (!t.ok()) return Tensor();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t->num_elements(); ++i) {
    t->SetFromDouble(static_cast<int64_t>(i), values[i]);
  }
  return std::move(*t);
}

inline std::vector<double> ToDoubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.GetAsDouble(i);
  return v;
}

// `count` pseudo-random values uniform in [lo, hi), reproducible by seed.
inline std::vector<double> RandomValues(size_t count, uint32_t seed, double lo = -2.0,
                                        double hi = 2.0) {
  return SeededUniform<double>(count, seed, lo, hi);
}

// Values exactly representable in float16 (multiples of 1/64 in [-4, 4)),
// so references computed from them in double see the same inputs as every
// element type.
inline std::vector<double> RandomGridValues(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-256, 255);
  std::vector<double> v(count);
  for (double& x : v) x = dist(rng) / 64.0;
  return v;
}

class SingleNodeModel {
 public:
  SingleNodeModel(const std::string& op_type, int64_t opset) {
    model_.set_ir_version(opset >= 15 ? 8 : 7);
    auto* import = model_.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    graph_ = model_.mutable_graph();
    graph_->set_name("single_node");
    node_ = graph_->add_node();
    node_->set_op_type(op_type);
    node_->set_name("node");
  }

  // A node input fed at run time (in the order of Input calls). A dim of -1
  // is left free.
  SingleNodeModel& Input(const std::string& name, DataType dtype,
                         const std::vector<int64_t>& dims) {
    node_->add_input(name);
    SetType(graph_->add_input(), name, dtype, dims);
    return *this;
  }
  // A node input backed by an initializer.
  SingleNodeModel& Initializer(const std::string& name, const Tensor& value) {
    node_->add_input(name);
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(static_cast<int>(value.dtype()));
    for (int64_t d : value.shape()) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<const char*>(value.data()), value.byte_size()));
    return *this;
  }
  // An omitted optional input.
  SingleNodeModel& NoInput() {
    node_->add_input("");
    return *this;
  }
  // A node output that is a graph output; the ONNX checker wants its rank,
  // and shape inference checks the given dims (-1 = free).
  SingleNodeModel& Output(const std::string& name, DataType dtype,
                          const std::vector<int64_t>& dims) {
    node_->add_output(name);
    SetType(graph_->add_output(), name, dtype, dims);
    return *this;
  }
  // An omitted optional output.
  SingleNodeModel& NoOutput() {
    node_->add_output("");
    return *this;
  }

  SingleNodeModel& IntAttr(const std::string& name, int64_t value) {
    auto* a = AddAttribute(name, onnx::AttributeProto::INT);
    a->set_i(value);
    return *this;
  }
  SingleNodeModel& FloatAttr(const std::string& name, float value) {
    auto* a = AddAttribute(name, onnx::AttributeProto::FLOAT);
    a->set_f(value);
    return *this;
  }
  SingleNodeModel& IntsAttr(const std::string& name, const std::vector<int64_t>& values) {
    auto* a = AddAttribute(name, onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
    return *this;
  }
  SingleNodeModel& FloatsAttr(const std::string& name, const std::vector<float>& values) {
    auto* a = AddAttribute(name, onnx::AttributeProto::FLOATS);
    for (float v : values) a->add_floats(v);
    return *this;
  }
  SingleNodeModel& StringsAttr(const std::string& name, const std::vector<std::string>& values) {
    auto* a = AddAttribute(name, onnx::AttributeProto::STRINGS);
    for (const std::string& v : values) a->add_strings(v);
    return *this;
  }
  SingleNodeModel& StringAttr(const std::string& name, const std::string& value) {
    auto* a = AddAttribute(name, onnx::AttributeProto::STRING);
    a->set_s(value);
    return *this;
  }

  std::string Bytes() const { return model_.SerializeAsString(); }

  // Opens the model and runs it once with `feeds` (in Input order); the
  // outputs in graph order.
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& feeds, bool optimize = false,
                                    int threads = 1) const {
    SessionOptions options;
    options.optimize = optimize;
    options.threads = threads;
    StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(Bytes(), options);
    if (!session.ok()) return session.status();
    std::vector<NamedTensor> inputs;
    for (size_t i = 0; i < feeds.size() && i < static_cast<size_t>(graph_->input_size()); ++i) {
      inputs.push_back({graph_->input(static_cast<int>(i)).name(), feeds[i]});
    }
    std::vector<NamedTensor> outputs;
    Status status = (*session)->Run(inputs, &outputs);
    if (!status.ok()) return status;
    std::vector<Tensor> result;
    for (NamedTensor& o : outputs) result.push_back(std::move(o.tensor));
    return result;
  }

 private:
  static void SetType(onnx::ValueInfoProto* info, const std::string& name, DataType dtype,
                      const std::vector<int64_t>& dims) {
    info->set_name(name);
    auto* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(static_cast<int>(dtype));
    auto* shape = tensor->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = shape->add_dim();
      if (d >= 0) dim->set_dim_value(d);
    }
  }

  onnx::AttributeProto* AddAttribute(const std::string& name,
                                     onnx::AttributeProto::AttributeType type) {
    onnx::AttributeProto* a = node_->add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }

  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  onnx::NodeProto* node_ = nullptr;
};

}  // namespace bnfold::testing
