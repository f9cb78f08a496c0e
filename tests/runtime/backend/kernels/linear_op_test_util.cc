#include "tests/runtime/backend/kernels/linear_op_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "onnx/onnx_pb.h"
#include "runtime/onnx/tensor_proto.h"

namespace bnfold::testing {

struct ModelBuilder::Impl {
  onnx::ModelProto model;
};

ModelBuilder::ModelBuilder(int64_t opset) : impl_(std::make_unique<Impl>()) {
  impl_->model.set_ir_version(7);
  impl_->model.set_producer_name("bnfold-test");
  onnx::OperatorSetIdProto* import = impl_->model.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  impl_->model.mutable_graph()->set_name("test");
}

ModelBuilder::~ModelBuilder() = default;

ModelBuilder& ModelBuilder::Input(const std::string& name, DataType type,
                                  const std::vector<int64_t>& dims) {
  onnx::ValueInfoProto* in = impl_->model.mutable_graph()->add_input();
  in->set_name(name);
  onnx::TypeProto_Tensor* t = in->mutable_type()->mutable_tensor_type();
  t->set_elem_type(static_cast<int32_t>(type));
  onnx::TensorShapeProto* shape = t->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0) {
      shape->add_dim()->set_dim_param("N");
    } else {
      shape->add_dim()->set_dim_value(d);
    }
  }
  return *this;
}

ModelBuilder& ModelBuilder::Initializer(const std::string& name, const Tensor& value) {
  onnx_io::TensorToProto(value, name, impl_->model.mutable_graph()->add_initializer());
  return *this;
}

ModelBuilder& ModelBuilder::Node(const std::string& op, const std::vector<std::string>& inputs,
                                 const std::vector<std::string>& outputs,
                                 const std::vector<Attr>& attrs) {
  onnx::NodeProto* node = impl_->model.mutable_graph()->add_node();
  node->set_op_type(op);
  node->set_name(op + "_" + std::to_string(impl_->model.graph().node_size()));
  for (const std::string& i : inputs) node->add_input(i);
  for (const std::string& o : outputs) node->add_output(o);
  for (const Attr& a : attrs) {
    onnx::AttributeProto* p = node->add_attribute();
    p->set_name(a.name);
    if (const auto* i = std::get_if<int64_t>(&a.value)) {
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(*i);
    } else if (const auto* f = std::get_if<float>(&a.value)) {
      p->set_type(onnx::AttributeProto::FLOAT);
      p->set_f(*f);
    } else if (const auto* v = std::get_if<std::vector<int64_t>>(&a.value)) {
      p->set_type(onnx::AttributeProto::INTS);
      for (int64_t x : *v) p->add_ints(x);
    } else {
      p->set_type(onnx::AttributeProto::STRING);
      p->set_s(std::get<std::string>(a.value));
    }
  }
  return *this;
}

ModelBuilder& ModelBuilder::Output(const std::string& name, DataType type, int rank) {
  onnx::ValueInfoProto* out = impl_->model.mutable_graph()->add_output();
  out->set_name(name);
  onnx::TypeProto_Tensor* t = out->mutable_type()->mutable_tensor_type();
  t->set_elem_type(static_cast<int32_t>(type));
  onnx::TensorShapeProto* shape = t->mutable_shape();  // rank 0 too
  for (int i = 0; i < rank; ++i) shape->add_dim();
  return *this;
}

std::string ModelBuilder::Bytes() const { return impl_->model.SerializeAsString(); }

Tensor RandomTensor(const std::vector<int64_t>& dims, uint32_t seed, DataType type) {
  Tensor t = *Tensor::Allocate(type, dims);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.SetFromDouble(i, dist(rng));
  return t;
}

SessionOptions ThreadsOption(int threads) {
  SessionOptions options;
  options.threads = threads;
  return options;
}

StatusOr<Tensor> RunModel(const std::string& model, const std::vector<NamedTensor>& inputs,
                          int threads) {
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(model, ThreadsOption(threads));
  if (!session.ok()) return session.status();
  std::vector<NamedTensor> outputs;
  Status s = (*session)->Run(inputs, &outputs);
  if (!s.ok()) return s;
  if (outputs.empty()) return Internal("no outputs");
  return outputs[0].tensor;
}

void ExpectMatches(const Tensor& got, const Reference& want, double rtol, double atol) {
  ASSERT_EQ(got.shape(), want.dims);
  ASSERT_EQ(static_cast<size_t>(got.num_elements()), want.values.size());
  int reported = 0;
  for (size_t i = 0; i < want.values.size(); ++i) {
    const double g = got.GetAsDouble(static_cast<int64_t>(i));
    const double tolerance = rtol * want.magnitude[i] + atol;
    if (!(std::abs(g - want.values[i]) <= tolerance)) {
      ADD_FAILURE() << "element " << i << ": got " << g << ", want " << want.values[i]
                    << " (tolerance " << tolerance << ")";
      if (++reported == 5) return;
    }
  }
}

}  // namespace bnfold::testing
