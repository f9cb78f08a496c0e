#include "tests/passes/reference_evaluator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace bnfold::passes::testing {

namespace {

using Shape = std::vector<int64_t>;

int64_t Numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Shape Strides(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

// Odometer increment of `index` within `bounds`; false after the last one.
bool Next(Shape& index, const Shape& bounds) {
  for (size_t d = index.size(); d-- > 0;) {
    if (++index[d] < bounds[d]) return true;
    index[d] = 0;
  }
  return false;
}

Status Fail(const ir::Node& node, const std::string& what) {
  return Internal("reference evaluator: " + node.Describe() + ": " + what);
}

StatusOr<RefTensor> Broadcast(const ir::Node& node, const RefTensor& a, const RefTensor& b,
                              const std::function<double(double, double)>& fn) {
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  Shape shape(rank), sa(rank, 0), sb(rank, 0);
  const Shape ta = Strides(a.shape), tb = Strides(b.shape);
  for (size_t i = 0; i < rank; ++i) {
    const int ia = static_cast<int>(i) - static_cast<int>(rank - a.shape.size());
    const int ib = static_cast<int>(i) - static_cast<int>(rank - b.shape.size());
    const int64_t da = ia >= 0 ? a.shape[ia] : 1;
    const int64_t db = ib >= 0 ? b.shape[ib] : 1;
    if (da != db && da != 1 && db != 1) return Fail(node, "shapes do not broadcast");
    shape[i] = std::max(da, db);
    if (ia >= 0 && da != 1) sa[i] = ta[ia];
    if (ib >= 0 && db != 1) sb[i] = tb[ib];
  }
  RefTensor out{shape, std::vector<double>(Numel(shape))};
  Shape index(rank, 0);
  for (int64_t i = 0; i < Numel(shape); ++i) {
    int64_t ai = 0, bi = 0;
    for (size_t d = 0; d < rank; ++d) {
      ai += index[d] * sa[d];
      bi += index[d] * sb[d];
    }
    out.values[i] = fn(a.values[ai], b.values[bi]);
    Next(index, shape);
  }
  return out;
}

struct Geometry {
  Shape kernel, strides, dilations, pads_begin, pads_end, output_padding;
  int64_t group = 1;
};

Geometry ReadGeometry(const ir::Node& node, const Shape& x, const Shape& kernel) {
  const size_t d = kernel.size();
  Geometry g;
  g.kernel = kernel;
  g.strides = node.GetInts("strides", Shape(d, 1)).value();
  g.dilations = node.GetInts("dilations", Shape(d, 1)).value();
  g.output_padding = node.GetInts("output_padding", Shape(d, 0)).value();
  g.group = node.GetInt("group", 1).value();
  const Shape pads = node.GetInts("pads", Shape(2 * d, 0)).value();
  g.pads_begin.assign(pads.begin(), pads.begin() + d);
  g.pads_end.assign(pads.begin() + d, pads.end());
  const std::string auto_pad = node.GetString("auto_pad", "NOTSET").value();
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < d; ++i) {
      const int64_t in = x[2 + i];
      const int64_t out = (in + g.strides[i] - 1) / g.strides[i];
      const int64_t total = std::max<int64_t>(
          0, (out - 1) * g.strides[i] + (kernel[i] - 1) * g.dilations[i] + 1 - in);
      const int64_t small = total / 2;
      g.pads_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pads_end[i] = total - g.pads_begin[i];
    }
  }
  return g;
}

StatusOr<RefTensor> Conv(const ir::Node& node, const RefTensor& x, const RefTensor& w,
                         const RefTensor* b) {
  const Shape kernel(w.shape.begin() + 2, w.shape.end());
  const Geometry g = ReadGeometry(node, x.shape, kernel);
  const size_t d = kernel.size();
  const int64_t n = x.shape[0], c = x.shape[1], m = w.shape[0], cg = w.shape[1];
  if (c != cg * g.group) return Fail(node, "channels do not match the weight");
  Shape out_shape{n, m};
  for (size_t i = 0; i < d; ++i) {
    out_shape.push_back((x.shape[2 + i] + g.pads_begin[i] + g.pads_end[i] -
                         ((kernel[i] - 1) * g.dilations[i] + 1)) / g.strides[i] + 1);
  }
  RefTensor y{out_shape, std::vector<double>(Numel(out_shape), 0.0)};
  const Shape xs = Strides(x.shape), ws = Strides(w.shape);
  const Shape out_spatial(out_shape.begin() + 2, out_shape.end());
  int64_t yi = 0;
  for (int64_t b_ = 0; b_ < n; ++b_) {
    for (int64_t oc = 0; oc < m; ++oc) {
      const int64_t group = oc / (m / g.group);
      Shape o(d, 0);
      do {
        double acc = b ? b->values[oc] : 0.0;
        for (int64_t cl = 0; cl < cg; ++cl) {
          const int64_t ic = group * cg + cl;
          Shape k(d, 0);
          do {
            int64_t xi = b_ * xs[0] + ic * xs[1];
            int64_t wi = oc * ws[0] + cl * ws[1];
            bool inside = true;
            for (size_t i = 0; i < d; ++i) {
              const int64_t pos = o[i] * g.strides[i] - g.pads_begin[i] + k[i] * g.dilations[i];
              if (pos < 0 || pos >= x.shape[2 + i]) inside = false;
              xi += pos * xs[2 + i];
              wi += k[i] * ws[2 + i];
            }
            if (inside) acc += x.values[xi] * w.values[wi];
          } while (Next(k, kernel));
        }
        y.values[yi++] = acc;
      } while (Next(o, out_spatial));
    }
  }
  return y;
}

StatusOr<RefTensor> ConvTranspose(const ir::Node& node, const RefTensor& x, const RefTensor& w,
                                  const RefTensor* b) {
  const Shape kernel(w.shape.begin() + 2, w.shape.end());
  const Geometry g = ReadGeometry(node, x.shape, kernel);
  const size_t d = kernel.size();
  const int64_t n = x.shape[0], c = x.shape[1], mg = w.shape[1], m = mg * g.group;
  if (c != w.shape[0]) return Fail(node, "channels do not match the weight");
  const int64_t cg = c / g.group;
  Shape out_shape{n, m};
  for (size_t i = 0; i < d; ++i) {
    out_shape.push_back(g.strides[i] * (x.shape[2 + i] - 1) + g.output_padding[i] +
                        (kernel[i] - 1) * g.dilations[i] + 1 - g.pads_begin[i] - g.pads_end[i]);
  }
  RefTensor y{out_shape, std::vector<double>(Numel(out_shape), 0.0)};
  const Shape xs = Strides(x.shape), ws = Strides(w.shape), ys = Strides(out_shape);
  const Shape in_spatial(x.shape.begin() + 2, x.shape.end());
  for (int64_t b_ = 0; b_ < n; ++b_) {
    for (int64_t ic = 0; ic < c; ++ic) {
      const int64_t group = ic / cg;
      Shape p(d, 0);
      do {
        int64_t xi = b_ * xs[0] + ic * xs[1];
        for (size_t i = 0; i < d; ++i) xi += p[i] * xs[2 + i];
        for (int64_t j = 0; j < mg; ++j) {
          const int64_t oc = group * mg + j;
          Shape k(d, 0);
          do {
            int64_t yi = b_ * ys[0] + oc * ys[1];
            int64_t wi = ic * ws[0] + j * ws[1];
            bool inside = true;
            for (size_t i = 0; i < d; ++i) {
              const int64_t pos = p[i] * g.strides[i] + k[i] * g.dilations[i] - g.pads_begin[i];
              if (pos < 0 || pos >= out_shape[2 + i]) inside = false;
              yi += pos * ys[2 + i];
              wi += k[i] * ws[2 + i];
            }
            if (inside) y.values[yi] += x.values[xi] * w.values[wi];
          } while (Next(k, kernel));
        }
      } while (Next(p, in_spatial));
    }
  }
  if (b != nullptr) {
    for (int64_t i = 0; i < Numel(out_shape); ++i) y.values[i] += b->values[(i / ys[1]) % m];
  }
  return y;
}

StatusOr<RefTensor> MaxPool(const ir::Node& node, const RefTensor& x) {
  const Shape kernel = node.GetInts("kernel_shape", {}).value();
  const Geometry g = ReadGeometry(node, x.shape, kernel);
  const size_t d = kernel.size();
  if (node.GetInt("ceil_mode", 0).value() != 0) return Fail(node, "ceil_mode is not supported");
  Shape out_shape{x.shape[0], x.shape[1]};
  for (size_t i = 0; i < d; ++i) {
    out_shape.push_back((x.shape[2 + i] + g.pads_begin[i] + g.pads_end[i] -
                         ((kernel[i] - 1) * g.dilations[i] + 1)) / g.strides[i] + 1);
  }
  RefTensor y{out_shape, std::vector<double>(Numel(out_shape))};
  const Shape xs = Strides(x.shape);
  const Shape out_spatial(out_shape.begin() + 2, out_shape.end());
  int64_t yi = 0;
  for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc) {
    Shape o(d, 0);
    do {
      double best = -std::numeric_limits<double>::infinity();
      Shape k(d, 0);
      do {
        int64_t xi = nc * xs[1];
        bool inside = true;
        for (size_t i = 0; i < d; ++i) {
          const int64_t pos = o[i] * g.strides[i] - g.pads_begin[i] + k[i] * g.dilations[i];
          if (pos < 0 || pos >= x.shape[2 + i]) inside = false;
          xi += pos * xs[2 + i];
        }
        if (inside) best = std::max(best, x.values[xi]);
      } while (Next(k, kernel));
      y.values[yi++] = best;
    } while (Next(o, out_spatial));
  }
  return y;
}

StatusOr<RefTensor> Gemm(const ir::Node& node, const RefTensor& a, const RefTensor& b,
                         const RefTensor* c) {
  const bool ta = node.GetInt("transA", 0).value() != 0;
  const bool tb = node.GetInt("transB", 0).value() != 0;
  const double alpha = node.GetFloat("alpha", 1.0f).value();
  const double beta = node.GetFloat("beta", 1.0f).value();
  const int64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
  const int64_t n = tb ? b.shape[0] : b.shape[1];
  if ((tb ? b.shape[1] : b.shape[0]) != k) return Fail(node, "inner dimensions differ");
  RefTensor y{{m, n}, std::vector<double>(m * n, 0.0)};
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t l = 0; l < k; ++l) {
        const double av = ta ? a.values[l * m + i] : a.values[i * k + l];
        const double bv = tb ? b.values[j * k + l] : b.values[l * n + j];
        acc += av * bv;
      }
      y.values[i * n + j] = alpha * acc;
    }
  }
  if (c == nullptr) return y;
  RefTensor scaled = *c;
  for (double& v : scaled.values) v *= beta;
  return Broadcast(node, y, scaled, [](double p, double q) { return p + q; });
}

StatusOr<RefTensor> MatMul(const ir::Node& node, const RefTensor& a, const RefTensor& b) {
  if (b.shape.size() != 2) return Fail(node, "only a 2-D right operand is supported");
  const int64_t k = b.shape[0], n = b.shape[1];
  if (a.shape.empty() || a.shape.back() != k) return Fail(node, "inner dimensions differ");
  const int64_t rows = Numel(a.shape) / k;
  Shape out_shape = a.shape;
  out_shape.back() = n;
  RefTensor y{out_shape, std::vector<double>(rows * n, 0.0)};
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t l = 0; l < k; ++l) acc += a.values[i * k + l] * b.values[l * n + j];
      y.values[i * n + j] = acc;
    }
  }
  return y;
}

StatusOr<RefTensor> BatchNorm(const ir::Node& node, const std::vector<const RefTensor*>& in) {
  const RefTensor& x = *in[0];
  const double epsilon = node.GetFloat("epsilon", 1e-5f).value();
  const int64_t c = x.shape[1];
  const int64_t inner = Numel(x.shape) / (x.shape[0] * c);
  for (int i = 1; i <= 4; ++i) {
    if (static_cast<int64_t>(in[i]->values.size()) != c) return Fail(node, "parameter size");
  }
  RefTensor y = x;
  for (int64_t i = 0; i < Numel(x.shape); ++i) {
    const int64_t ch = (i / inner) % c;
    y.values[i] = (x.values[i] - in[3]->values[ch]) / std::sqrt(in[4]->values[ch] + epsilon) *
                      in[1]->values[ch] +
                  in[2]->values[ch];
  }
  return y;
}

RefTensor GlobalAveragePool(const RefTensor& x) {
  const int64_t nc = x.shape[0] * x.shape[1];
  const int64_t inner = Numel(x.shape) / nc;
  RefTensor y{{x.shape[0], x.shape[1]}, std::vector<double>(nc, 0.0)};
  for (size_t i = 2; i < x.shape.size(); ++i) y.shape.push_back(1);
  for (int64_t i = 0; i < Numel(x.shape); ++i) y.values[i / inner] += x.values[i] / inner;
  return y;
}

RefTensor Flatten(const ir::Node& node, const RefTensor& x) {
  int64_t axis = node.GetInt("axis", 1).value();
  if (axis < 0) axis += static_cast<int64_t>(x.shape.size());
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.shape[i];
  RefTensor y = x;
  y.shape = {outer, Numel(x.shape) / outer};
  return y;
}

RefTensor Map(const RefTensor& x, const std::function<double(double)>& fn) {
  RefTensor y = x;
  for (double& v : y.values) v = fn(v);
  return y;
}

// Reshape: 0 copies the input dim (allowzero = 0), -1 takes what is left.
StatusOr<RefTensor> Reshape(const ir::Node& node, const RefTensor& x, const RefTensor& shape) {
  Shape dims;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.values.size(); ++i) {
    int64_t d = static_cast<int64_t>(shape.values[i]);
    if (d == 0 && i < x.shape.size()) d = x.shape[i];
    if (d == -1) {
      infer = static_cast<int64_t>(i);
    } else {
      known *= d;
    }
    dims.push_back(d);
  }
  if (infer >= 0) dims[infer] = known == 0 ? 0 : Numel(x.shape) / known;
  if (Numel(dims) != Numel(x.shape)) return Fail(node, "reshape changes the element count");
  return RefTensor{dims, x.values};
}

RefTensor Transpose(const ir::Node& node, const RefTensor& x) {
  const size_t rank = x.shape.size();
  Shape perm;
  for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  perm = node.GetInts("perm", perm).value();
  Shape out_shape(rank);
  for (size_t i = 0; i < rank; ++i) out_shape[i] = x.shape[perm[i]];
  const Shape strides = Strides(x.shape);
  RefTensor y{out_shape, std::vector<double>(x.values.size())};
  Shape index(rank, 0);
  for (int64_t i = 0; i < Numel(out_shape); ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d) offset += index[d] * strides[perm[d]];
    y.values[i] = x.values[offset];
    Next(index, out_shape);
  }
  return y;
}

// Axes from input 1 (opset >= 13) or the attribute, made non-negative.
Shape AxesOf(const ir::Node& node, const std::vector<const RefTensor*>& in, int64_t rank) {
  Shape axes;
  if (in.size() > 1 && in[1] != nullptr) {
    for (double v : in[1]->values) axes.push_back(static_cast<int64_t>(v));
  } else {
    axes = node.GetInts("axes", {}).value();
  }
  for (int64_t& a : axes) a = a < 0 ? a + rank : a;
  std::sort(axes.begin(), axes.end());
  return axes;
}

RefTensor Unsqueeze(const ir::Node& node, const std::vector<const RefTensor*>& in) {
  const RefTensor& x = *in[0];
  const size_t added = in.size() > 1 && in[1] != nullptr ? in[1]->values.size()
                                                         : node.GetInts("axes", {}).value().size();
  const int64_t rank = static_cast<int64_t>(x.shape.size() + added);
  const Shape axes = AxesOf(node, in, rank);
  RefTensor y{{}, x.values};
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d) {
    if (std::find(axes.begin(), axes.end(), d) != axes.end()) {
      y.shape.push_back(1);
    } else {
      y.shape.push_back(x.shape[next++]);
    }
  }
  return y;
}

RefTensor Squeeze(const ir::Node& node, const std::vector<const RefTensor*>& in) {
  const RefTensor& x = *in[0];
  const Shape axes = AxesOf(node, in, static_cast<int64_t>(x.shape.size()));
  RefTensor y{{}, x.values};
  for (int64_t d = 0; d < static_cast<int64_t>(x.shape.size()); ++d) {
    const bool listed = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!(axes.empty() ? x.shape[d] == 1 : listed)) y.shape.push_back(x.shape[d]);
  }
  return y;
}

StatusOr<RefTensor> ConstantOfShape(const ir::Node& node, const RefTensor& shape) {
  Shape dims;
  for (double v : shape.values) dims.push_back(static_cast<int64_t>(v));
  double value = 0.0;
  if (const ir::Attribute* a = node.FindAttribute("value")) value = a->t->GetAsDouble(0);
  return RefTensor{dims, std::vector<double>(Numel(dims), value)};
}

StatusOr<RefTensor> EvaluateNode(const ir::Node& node, const std::vector<const RefTensor*>& in) {
  using ir::OpKind;
  auto arg = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  switch (node.kind()) {
    case OpKind::kConv: return Conv(node, *in[0], *in[1], arg(2));
    case OpKind::kConvTranspose: return ConvTranspose(node, *in[0], *in[1], arg(2));
    case OpKind::kGemm: return Gemm(node, *in[0], *in[1], arg(2));
    case OpKind::kMatMul: return MatMul(node, *in[0], *in[1]);
    case OpKind::kBatchNormalization: return BatchNorm(node, in);
    case OpKind::kMaxPool: return MaxPool(node, *in[0]);
    case OpKind::kAdd: return Broadcast(node, *in[0], *in[1], [](double a, double b) { return a + b; });
    case OpKind::kSub: return Broadcast(node, *in[0], *in[1], [](double a, double b) { return a - b; });
    case OpKind::kMul: return Broadcast(node, *in[0], *in[1], [](double a, double b) { return a * b; });
    case OpKind::kDiv: return Broadcast(node, *in[0], *in[1], [](double a, double b) { return a / b; });
    case OpKind::kPow:
      return Broadcast(node, *in[0], *in[1], [](double a, double b) { return std::pow(a, b); });
    case OpKind::kSqrt: return Map(*in[0], [](double v) { return std::sqrt(v); });
    case OpKind::kReciprocal: return Map(*in[0], [](double v) { return 1.0 / v; });
    case OpKind::kRelu: return Map(*in[0], [](double v) { return v > 0.0 ? v : 0.0; });
    case OpKind::kGlobalAveragePool: return GlobalAveragePool(*in[0]);
    case OpKind::kFlatten: return Flatten(node, *in[0]);
    case OpKind::kIdentity:
    case OpKind::kDropout:
      return *in[0];
    case OpKind::kReshape: return Reshape(node, *in[0], *in[1]);
    case OpKind::kTranspose: return Transpose(node, *in[0]);
    case OpKind::kUnsqueeze: return Unsqueeze(node, in);
    case OpKind::kSqueeze: return Squeeze(node, in);
    case OpKind::kShape: {
      RefTensor y{{static_cast<int64_t>(in[0]->shape.size())}, {}};
      for (int64_t d : in[0]->shape) y.values.push_back(static_cast<double>(d));
      return y;
    }
    case OpKind::kConstantOfShape: return ConstantOfShape(node, *in[0]);
    case OpKind::kCast: {  // to float types: exact in double; to integers: toward zero
      const DataType to = static_cast<DataType>(node.GetInt("to", 1).value());
      return IsFloatingPoint(to) ? *in[0] : Map(*in[0], [](double v) { return std::trunc(v); });
    }
    default:
      return Fail(node, "op not supported by the reference evaluator");
  }
}

class ReferenceConstantEvaluator : public ConstantEvaluator {
 public:
  StatusOr<std::vector<ir::ConstTensorPtr>> Evaluate(const ir::Node& node,
                                                     const std::vector<ir::ConstTensorPtr>& inputs,
                                                     int64_t max_output_bytes) const override {
    if (node.num_outputs() != 1 || inputs.empty() || inputs[0] == nullptr) {
      return Fail(node, "one output and a first input expected");
    }
    std::vector<RefTensor> values;
    for (const ir::ConstTensorPtr& in : inputs) values.push_back(in ? RefFromTensor(*in) : RefTensor{});
    std::vector<const RefTensor*> args;
    for (size_t i = 0; i < inputs.size(); ++i) args.push_back(inputs[i] ? &values[i] : nullptr);
    StatusOr<RefTensor> out = EvaluateNode(node, args);
    if (!out.ok()) return out.status();
    DataType dtype = inputs[0]->dtype();
    if (node.kind() == ir::OpKind::kShape) dtype = DataType::kInt64;
    if (node.kind() == ir::OpKind::kCast) dtype = static_cast<DataType>(node.GetInt("to", 1).value());
    if (node.kind() == ir::OpKind::kConstantOfShape) {
      const ir::Attribute* value = node.FindAttribute("value");
      dtype = value && value->t ? value->t->dtype() : DataType::kFloat;
    }
    if (Numel(out->shape) * static_cast<int64_t>(DataTypeSize(dtype)) > max_output_bytes) {
      return Fail(node, "output larger than " + std::to_string(max_output_bytes) + " bytes");
    }
    StatusOr<Tensor> t = Tensor::Allocate(dtype, out->shape);
    if (!t.ok()) return t.status();
    for (int64_t i = 0; i < t->num_elements(); ++i) t->SetFromDouble(i, out->values[i]);
    return std::vector<ir::ConstTensorPtr>{std::make_shared<const Tensor>(std::move(*t))};
  }
};

}  // namespace

std::shared_ptr<const ConstantEvaluator> MakeReferenceConstantEvaluator() {
  return std::make_shared<ReferenceConstantEvaluator>();
}

RefTensor RefFromTensor(const Tensor& tensor) {
  RefTensor t{tensor.shape(), std::vector<double>(tensor.num_elements())};
  for (int64_t i = 0; i < tensor.num_elements(); ++i) t.values[i] = tensor.GetAsDouble(i);
  return t;
}

StatusOr<std::map<std::string, RefTensor>> EvaluateGraph(
    const ir::Graph& graph, const std::map<std::string, RefTensor>& inputs) {
  std::map<std::string, RefTensor> values;
  for (const auto& v : graph.values()) {
    if (v->constant_data()) values[v->name()] = RefFromTensor(*v->constant_data());
  }
  for (const auto& [name, tensor] : inputs) values[name] = tensor;
  for (const ir::Node* node : graph.nodes()) {
    if (node->kind() == ir::OpKind::kConstant) continue;  // data already on its output
    std::vector<const RefTensor*> in;
    for (const ir::Value* v : node->inputs()) {
      if (v == nullptr) {
        in.push_back(nullptr);
        continue;
      }
      auto it = values.find(v->name());
      if (it == values.end()) return Fail(*node, "input '" + v->name() + "' not computed yet");
      in.push_back(&it->second);
    }
    if (in.empty() || in[0] == nullptr) return Fail(*node, "no data input");
    StatusOr<RefTensor> out = EvaluateNode(*node, in);
    if (!out.ok()) return out.status();
    values[node->output(0)->name()] = std::move(*out);
  }
  std::map<std::string, RefTensor> outputs;
  for (const ir::Value* out : graph.outputs()) {
    auto it = values.find(out->name());
    if (it == values.end()) return Internal("graph output '" + out->name() + "' not computed");
    outputs[out->name()] = it->second;
  }
  return outputs;
}

}  // namespace bnfold::passes::testing
