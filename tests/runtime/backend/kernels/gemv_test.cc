// One-row Gemm/MatMul with a constant B (the packed GEMV of gemv.h on
// AVX-512 machines, oneDNN elsewhere) against double-precision references
// written here: panel widths around the 16-column vectors and 128-column
// panels, transposed B, Gemm's alpha/beta/C, and fused followers, with
// backend fusion on and off.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "tests/runtime/backend/kernels/linear_op_test_util.h"

namespace bnfold::testing {
namespace {

// x[1, K] . B, B being [K, N] (or [N, K] when transposed), with the sum of
// the terms' magnitudes.
Reference RowTimesMatrix(const Tensor& x, const Tensor& b, int64_t k, int64_t n,
                         bool transposed) {
  Reference r{{1, n}, {}, {}};
  for (int64_t j = 0; j < n; ++j) {
    double sum = 0, mag = 0;
    for (int64_t p = 0; p < k; ++p) {
      const double term = x.GetAsDouble(p) * b.GetAsDouble(transposed ? j * k + p : p * n + j);
      sum += term;
      mag += std::abs(term);
    }
    r.values.push_back(sum);
    r.magnitude.push_back(mag);
  }
  return r;
}

// Applies `fn(value, column)` to every element, scaling the magnitude by
// `scale` (the derivative's bound) and adding `extra` (the other operand's).
void Apply(Reference* r, const std::function<double(double, int64_t)>& fn, double scale = 1.0,
           const std::function<double(int64_t)>& extra = nullptr) {
  for (size_t j = 0; j < r->values.size(); ++j) {
    r->values[j] = fn(r->values[j], static_cast<int64_t>(j));
    r->magnitude[j] = r->magnitude[j] * scale + (extra ? extra(static_cast<int64_t>(j)) : 0.0);
  }
}

SessionOptions Options(bool fuse) {
  SessionOptions options = ThreadsOption(1);
  options.fuse = fuse;
  return options;
}

// Runs `model` with and without backend fusion; both must match `want`.
void ExpectBothMatch(const std::string& model, const std::vector<NamedTensor>& feeds,
                     const Reference& want, double rtol = 1e-5) {
  for (bool fuse : {true, false}) {
    SCOPED_TRACE(fuse ? "fused" : "unfused");
    StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(model, Options(fuse));
    ASSERT_TRUE(session.ok()) << session.status().message();
    std::vector<NamedTensor> outputs;
    Status status = (*session)->Run(feeds, &outputs);
    ASSERT_TRUE(status.ok()) << status.message();
    ExpectMatches(outputs[0].tensor, want, rtol);
    // A second run reuses the plan (and its packed B).
    status = (*session)->Run(feeds, &outputs);
    ASSERT_TRUE(status.ok()) << status.message();
    ExpectMatches(outputs[0].tensor, want, rtol);
  }
}

TEST(GemvTest, GemmWidthsDepthsTransposesAndBias) {
  const std::vector<int64_t> widths = {1, 10, 16, 17, 100, 128, 129, 300};
  const std::vector<int64_t> depths = {1, 7, 100, 784};
  uint32_t seed = 1;
  for (int64_t n : widths) {
    for (int64_t k : depths) {
      for (bool trans_b : {false, true}) {
        SCOPED_TRACE("K=" + std::to_string(k) + " N=" + std::to_string(n) +
                     " transB=" + std::to_string(trans_b));
        const std::vector<int64_t> b_dims = trans_b ? std::vector<int64_t>{n, k}
                                                    : std::vector<int64_t>{k, n};
        const Tensor x = RandomTensor({1, k}, seed++), b = RandomTensor(b_dims, seed++);
        const Tensor c = RandomTensor({n}, seed++);
        ModelBuilder model(13);
        model.Input("X", DataType::kFloat, {1, k}).Initializer("B", b).Initializer("C", c);
        model.Node("Gemm", {"X", "B", "C"}, {"Y"},
                   {{"transB", int64_t{trans_b}}, {"alpha", 0.5f}, {"beta", -2.0f}});
        model.Output("Y", DataType::kFloat, 2);
        Reference want = RowTimesMatrix(x, b, k, n, trans_b);
        Apply(&want, [&](double v, int64_t j) { return 0.5 * v - 2.0 * c.GetAsDouble(j); }, 0.5,
              [&](int64_t j) { return 2.0 * std::abs(c.GetAsDouble(j)); });
        ExpectBothMatch(model.Bytes(), {{"X", x}}, want);
      }
    }
  }
}

// B beyond L2 (1.2 MiB packed): the prefetching kernel, two panels.
TEST(GemvTest, LargeB) {
  const int64_t k = 1500, n = 200;
  const Tensor x = RandomTensor({1, k}, 51), b = RandomTensor({k, n}, 52);
  const Tensor c = RandomTensor({n}, 53);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {1, k}).Initializer("B", b).Initializer("C", c);
  model.Node("Gemm", {"X", "B", "C"}, {"G"}).Node("Relu", {"G"}, {"Y"});
  model.Output("Y", DataType::kFloat, 2);
  Reference want = RowTimesMatrix(x, b, k, n, false);
  Apply(&want, [&](double v, int64_t j) { return std::max(v + c.GetAsDouble(j), 0.0); }, 1.0,
        [&](int64_t j) { return std::abs(c.GetAsDouble(j)); });
  ExpectBothMatch(model.Bytes(), {{"X", x}}, want);
}

TEST(GemvTest, GemmBiasShapesAndRuntimeBias) {
  const int64_t k = 33, n = 40;
  const Tensor x = RandomTensor({1, k}, 11), b = RandomTensor({k, n}, 12);
  const std::vector<std::vector<int64_t>> c_shapes = {{}, {1}, {n}, {1, n}, {1, 1}};
  for (const std::vector<int64_t>& c_dims : c_shapes) {
    for (bool constant_c : {true, false}) {
      SCOPED_TRACE("C=" + ShapeToString(c_dims) + (constant_c ? " constant" : " fed"));
      const Tensor c = RandomTensor(c_dims, 13);
      ModelBuilder model(13);
      model.Input("X", DataType::kFloat, {1, k}).Initializer("B", b);
      std::vector<NamedTensor> feeds = {{"X", x}};
      model.Operand("C", c, constant_c, &feeds);
      model.Node("Gemm", {"X", "B", "C"}, {"Y"}, {{"beta", 0.25f}}).Output("Y", DataType::kFloat, 2);
      const bool per_column = !c_dims.empty() && c_dims.back() == n;
      Reference want = RowTimesMatrix(x, b, k, n, false);
      auto c_at = [&](int64_t j) { return c.GetAsDouble(per_column ? j : 0); };
      Apply(&want, [&](double v, int64_t j) { return v + 0.25 * c_at(j); }, 1.0,
            [&](int64_t j) { return 0.25 * std::abs(c_at(j)); });
      ExpectBothMatch(model.Bytes(), feeds, want);
    }
  }
}

// Gemm -> follower(s): each has a GEMV form when fused.
TEST(GemvTest, GemmFollowers) {
  const int64_t k = 50, n = 37;
  const Tensor x = RandomTensor({1, k}, 21), b = RandomTensor({k, n}, 22);
  const Tensor per_column = RandomTensor({n}, 23), row = RandomTensor({1, n}, 24);
  Tensor divisor = RandomTensor({1, n}, 25);
  for (int64_t j = 0; j < n; ++j) divisor.SetFromDouble(j, 1.5 + divisor.GetAsDouble(j));
  struct Case {
    std::string name;
    std::function<void(ModelBuilder&, std::vector<NamedTensor>&)> build;  // G -> Y
    std::function<double(double, int64_t)> fn;
    double scale;
  };
  const std::vector<Case> cases = {
      {"Relu", [](ModelBuilder& m, auto&) { m.Node("Relu", {"G"}, {"Y"}); },
       [](double v, int64_t) { return v > 0 ? v : 0.0; }, 1.0},
      // No GEMV form: oneDNN's matmul runs it as a post-op.
      {"Sigmoid", [](ModelBuilder& m, auto&) { m.Node("Sigmoid", {"G"}, {"Y"}); },
       [](double v, int64_t) { return 1.0 / (1.0 + std::exp(-v)); }, 1.0},
      {"LeakyRelu",
       [](ModelBuilder& m, auto&) { m.Node("LeakyRelu", {"G"}, {"Y"}, {{"alpha", 0.1f}}); },
       [](double v, int64_t) { return v > 0 ? v : 0.1 * v; }, 1.0},
      {"Clip",
       [](ModelBuilder& m, auto&) {
         Tensor lo = RandomTensor({}, 1), hi = RandomTensor({}, 1);
         lo.SetFromDouble(0, -0.5);
         hi.SetFromDouble(0, 0.75);
         m.Initializer("lo", lo).Initializer("hi", hi).Node("Clip", {"G", "lo", "hi"}, {"Y"});
       },
       [](double v, int64_t) { return std::min(std::max(v, -0.5), 0.75); }, 1.0},
      {"Add constant [N] then Relu",
       [&](ModelBuilder& m, auto&) {
         m.Initializer("P", per_column).Node("Add", {"G", "P"}, {"A"}).Node("Relu", {"A"}, {"Y"});
       },
       [&](double v, int64_t j) {
         const double s = v + per_column.GetAsDouble(j);
         return s > 0 ? s : 0.0;
       },
       1.0},
      {"Mul fed [1, N]",
       [&](ModelBuilder& m, std::vector<NamedTensor>& feeds) {
         m.Input("R", DataType::kFloat, {1, n}).Node("Mul", {"R", "G"}, {"Y"});
         feeds.push_back({"R", row});
       },
       [&](double v, int64_t j) { return v * row.GetAsDouble(j); }, 1.0},
      {"Sub scalar, Div [1, N]",
       [&](ModelBuilder& m, auto&) {
         Tensor s = RandomTensor({1}, 26);
         s.SetFromDouble(0, 0.3);
         m.Initializer("S", s).Initializer("D", divisor);
         m.Node("Sub", {"G", "S"}, {"T"}).Node("Div", {"T", "D"}, {"Y"});
       },
       [&](double v, int64_t j) { return (v - 0.3) / divisor.GetAsDouble(j); }, 2.0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ModelBuilder model(13);
    std::vector<NamedTensor> feeds = {{"X", x}};
    model.Input("X", DataType::kFloat, {1, k}).Initializer("B", b);
    model.Node("Gemm", {"X", "B"}, {"G"});
    c.build(model, feeds);
    model.Output("Y", DataType::kFloat, 2);
    Reference want = RowTimesMatrix(x, b, k, n, false);
    Apply(&want, c.fn, c.scale, [](int64_t) { return 1.0; });
    ExpectBothMatch(model.Bytes(), feeds, want);
  }
}

// A residual Add of a value computed earlier: fused as an in-place sum.
TEST(GemvTest, GemmResidualAdd) {
  const int64_t k = 24, n = 70;
  const Tensor x = RandomTensor({1, k}, 31), b1 = RandomTensor({k, n}, 32);
  const Tensor b2 = RandomTensor({k, n}, 33);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {1, k}).Initializer("B1", b1).Initializer("B2", b2);
  model.Node("Gemm", {"X", "B1"}, {"G1"}).Node("Relu", {"G1"}, {"R"});
  model.Node("Gemm", {"X", "B2"}, {"G2"}).Node("Add", {"G2", "R"}, {"Y"});
  model.Output("Y", DataType::kFloat, 2);
  const Reference first = RowTimesMatrix(x, b1, k, n, false);
  Reference want = RowTimesMatrix(x, b2, k, n, false);
  Apply(&want, [&](double v, int64_t j) { return v + std::max(first.values[j], 0.0); }, 1.0,
        [&](int64_t j) { return first.magnitude[j]; });
  ExpectBothMatch(model.Bytes(), {{"X", x}}, want);
}

TEST(GemvTest, MatMulRanks) {
  const int64_t k = 45, n = 150;
  struct Case {
    std::vector<int64_t> a, b;
  };
  const std::vector<Case> cases = {{{k}, {k, n}}, {{1, k}, {k, n}}, {{1, 1, k}, {k, n}},
                                   {{1, k}, {1, k, n}}, {{1, k}, {k}}};
  for (const Case& c : cases) {
    SCOPED_TRACE("A " + ShapeToString(c.a) + " B " + ShapeToString(c.b));
    const Tensor x = RandomTensor(c.a, 42);
    const int64_t width = c.b.size() == 1 ? 1 : n;
    Tensor bc = RandomTensor(c.b, 43);
    Tensor bias = RandomTensor({width}, 44);
    ModelBuilder model(13);
    model.Input("A", DataType::kFloat, c.a).Initializer("B", bc).Initializer("P", bias);
    model.Node("MatMul", {"A", "B"}, {"M"}).Node("Add", {"M", "P"}, {"S"});
    model.Node("Relu", {"S"}, {"Y"});
    const size_t rank = std::max(c.a.size(), c.b.size()) - (c.a.size() == 1) - (c.b.size() == 1);
    model.Output("Y", DataType::kFloat, static_cast<int>(rank));
    Reference want = RowTimesMatrix(x, bc, k, width, false);
    Apply(&want,
          [&](double v, int64_t j) { return std::max(v + bias.GetAsDouble(j), 0.0); }, 1.0,
          [](int64_t) { return 1.0; });
    // The output drops the unit dims of 1-D operands, as numpy does.
    StatusOr<Tensor> y = RunModel(model.Bytes(), {{"A", x}});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ASSERT_EQ(y->num_elements(), width);
    want.dims = y->shape();
    ExpectBothMatch(model.Bytes(), {{"A", x}}, want);
  }
}

}  // namespace
}  // namespace bnfold::testing
