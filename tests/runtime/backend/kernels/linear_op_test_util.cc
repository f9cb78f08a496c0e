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

ModelBuilder& ModelBuilder::Operand(const std::string& name, const Tensor& value, bool constant,
                                    std::vector<NamedTensor>* feeds) {
  if (constant) return Initializer(name, value);
  feeds->push_back({name, value});
  return Input(name, value.dtype(), value.shape());
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

std::vector<int64_t> Spatial3(const std::vector<int64_t>& dims, int64_t fill) {
  std::vector<int64_t> s(dims.begin() + 2, dims.end());
  s.resize(3, fill);
  return s;
}
std::vector<int64_t> Axis3(const std::vector<int64_t>& v, int64_t fill) {
  std::vector<int64_t> s = v;
  s.resize(3, fill);
  return s;
}

// y[n, m, o] = b[m] + sum_{c in group(m), k} x[n, c, o*s + k*d - pad] * w[m, c', k]
Reference ReferenceConv(const std::vector<int64_t>& x_dims, const std::vector<double>& x,
                        const Tensor& w, const Tensor* b, const ConvParams& p,
                        const std::vector<int64_t>& out_dims) {
  const int64_t n_batch = x_dims[0], c_in = x_dims[1], m_out = w.shape()[0];
  const int64_t cg = c_in / p.group, mg = m_out / p.group;
  const auto in = Spatial3(x_dims, 1), k = Spatial3(w.shape(), 1), out = Spatial3(out_dims, 1);
  const auto s = Axis3(p.strides, 1), d = Axis3(p.dilations, 1), pad = Axis3(p.pads_begin, 0);
  Reference r{out_dims, {}, {}};
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t m = 0; m < m_out; ++m)
      for (int64_t o0 = 0; o0 < out[0]; ++o0)
        for (int64_t o1 = 0; o1 < out[1]; ++o1)
          for (int64_t o2 = 0; o2 < out[2]; ++o2) {
            double sum = b ? b->GetAsDouble(m) : 0.0, mag = std::abs(sum);
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t i0 = o0 * s[0] + k0 * d[0] - pad[0];
                    const int64_t i1 = o1 * s[1] + k1 * d[1] - pad[1];
                    const int64_t i2 = o2 * s[2] + k2 * d[2] - pad[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) continue;
                    const int64_t ci = (m / mg) * cg + c;
                    const double xv = x[(((n * c_in + ci) * in[0] + i0) * in[1] + i1) * in[2] + i2];
                    const double wv = w.GetAsDouble((((m * cg + c) * k[0] + k0) * k[1] + k1) * k[2] + k2);
                    sum += xv * wv;
                    mag += std::abs(xv * wv);
                  }
            r.values.push_back(sum);
            r.magnitude.push_back(mag);
          }
  return r;
}

std::vector<double> Values(const Tensor& t) {
  std::vector<double> v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.GetAsDouble(i);
  return v;
}

}  // namespace bnfold::testing
