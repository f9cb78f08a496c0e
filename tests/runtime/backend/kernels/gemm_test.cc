// Gemm and MatMul through the public API against naive double-precision
// references written here.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/runtime/backend/kernels/linear_op_test_util.h"

namespace bnfold::testing {
namespace {

// Y = alpha * A' B' + beta * C, C broadcast from the right.
Reference ReferenceGemm(const Tensor& a, const Tensor& b, const Tensor* c, bool trans_a,
                        bool trans_b, double alpha, double beta) {
  const int64_t m = trans_a ? a.shape()[1] : a.shape()[0];
  const int64_t k = trans_a ? a.shape()[0] : a.shape()[1];
  const int64_t n = trans_b ? b.shape()[0] : b.shape()[1];
  Reference r{{m, n}, {}, {}};
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0, mag = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double av = a.GetAsDouble(trans_a ? p * m + i : i * k + p);
        const double bv = b.GetAsDouble(trans_b ? j * k + p : p * n + j);
        sum += av * bv;
        mag += std::abs(av * bv);
      }
      double value = alpha * sum, scale = std::abs(alpha) * mag;
      if (c != nullptr) {
        const std::vector<int64_t>& cd = c->shape();
        const int64_t ci = cd.size() == 2 && cd[0] != 1 ? i : 0;
        const int64_t cj = !cd.empty() && cd.back() != 1 ? j : 0;
        const double cv = c->GetAsDouble(ci * (cd.empty() ? 1 : cd.back()) + cj);
        value += beta * cv;
        scale += std::abs(beta * cv);
      }
      r.values.push_back(value);
      r.magnitude.push_back(scale);
    }
  }
  return r;
}

struct GemmCase {
  bool trans_a, trans_b;
  float alpha, beta;
  std::vector<int64_t> c;  // {-1}: no C
  bool constant_b, constant_c;
};

std::string Describe(const GemmCase& g) {
  std::string s = "transA=" + std::to_string(g.trans_a) + " transB=" + std::to_string(g.trans_b) +
                  " alpha=" + std::to_string(g.alpha) + " beta=" + std::to_string(g.beta) +
                  " C=" + ShapeToString(g.c) + (g.constant_b ? " constB" : "") +
                  (g.constant_c ? " constC" : "");
  return s;
}

void RunGemmCase(const GemmCase& g, int64_t opset = 13, DataType type = DataType::kFloat,
                 double rtol = 1e-5, double atol = 1e-6) {
  SCOPED_TRACE(Describe(g));
  const int64_t m = 4, k = 9, n = 6;
  const std::vector<int64_t> a_dims = g.trans_a ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k};
  const std::vector<int64_t> b_dims = g.trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
  const bool has_c = g.c != std::vector<int64_t>{-1};
  const Tensor a = RandomTensor(a_dims, 1, type), b = RandomTensor(b_dims, 2, type);
  const Tensor c = has_c ? RandomTensor(g.c, 3, type) : Tensor();
  ModelBuilder model(opset);
  model.Input("A", type, a_dims);
  std::vector<NamedTensor> feeds = {{"A", a}};
  model.Operand("B", b, g.constant_b, &feeds);
  std::vector<std::string> inputs = {"A", "B"};
  if (has_c) {
    inputs.push_back("C");
    model.Operand("C", c, g.constant_c, &feeds);
  }
  std::vector<Attr> attrs = {{"transA", int64_t{g.trans_a}}, {"transB", int64_t{g.trans_b}},
                             {"alpha", g.alpha}, {"beta", g.beta}};
  if (opset < 7 && has_c) attrs.push_back({"broadcast", int64_t{1}});
  model.Node("Gemm", inputs, {"Y"}, attrs).Output("Y", type, 2);
  StatusOr<Tensor> y = RunModel(model.Bytes(), feeds);
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectMatches(*y, ReferenceGemm(a, b, has_c ? &c : nullptr, g.trans_a, g.trans_b, g.alpha, g.beta),
                rtol, atol);
}

TEST(GemmKernelTest, EveryTransposeScaleAndBiasShape) {
  const std::vector<std::vector<int64_t>> c_shapes = {{-1}, {}, {1}, {6}, {1, 6}, {4, 1}, {4, 6}, {1, 1}};
  const std::vector<std::pair<float, float>> scales = {{1.0f, 1.0f}, {0.25f, 0.35f}, {-2.0f, 0.0f}, {1.5f, -3.0f}};
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true})
      for (const auto& [alpha, beta] : scales)
        for (const std::vector<int64_t>& c : c_shapes)
          for (bool constant : {false, true}) {
            RunGemmCase({trans_a, trans_b, alpha, beta, c, constant, constant});
          }
}

// alpha == beta with a row C runs C as the matmul's own bias, scaled with
// the product.
TEST(GemmKernelTest, EqualAlphaAndBetaWithARowBias) {
  RunGemmCase({false, false, 0.5f, 0.5f, {6}, true, true});
  RunGemmCase({true, true, -1.5f, -1.5f, {1, 6}, false, false});
  RunGemmCase({false, true, 2.0f, 2.0f, {6}, false, true});
}

TEST(GemmKernelTest, MixedConstantness) {
  RunGemmCase({false, true, 1.0f, 1.0f, {6}, true, false});
  RunGemmCase({true, false, 0.5f, 2.0f, {4, 6}, false, true});
}

TEST(GemmKernelTest, Opset6BroadcastAttribute) {
  RunGemmCase({false, true, 1.0f, 1.0f, {6}, true, true}, /*opset=*/6);
  RunGemmCase({false, false, 0.5f, 0.5f, {4, 6}, false, false}, /*opset=*/6);
}

TEST(GemmKernelTest, Float64AndFloat16RunThroughFloat32) {
  RunGemmCase({true, true, 0.5f, 2.0f, {6}, true, false}, 13, DataType::kDouble);
  RunGemmCase({false, true, 1.0f, 1.0f, {1, 6}, false, true}, 13, DataType::kFloat16, 2e-3, 2e-3);
}

// A classifier head: constant [N, K] weights with transB, constant bias.
TEST(GemmKernelTest, FullyConnectedLayerTwoBatchSizes) {
  const Tensor w = RandomTensor({100, 512}, 2), bias = RandomTensor({100}, 3);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {-1, 512})
      .Initializer("W", w)
      .Initializer("B", bias)
      .Node("Gemm", {"X", "W", "B"}, {"Y"}, {{"transB", int64_t{1}}})
      .Output("Y", DataType::kFloat, 2);
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(model.Bytes(), ThreadsOption(2));
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (int64_t batch : {2, 7, 2}) {
    SCOPED_TRACE(batch);
    const Tensor x = RandomTensor({batch, 512}, static_cast<uint32_t>(batch));
    std::vector<NamedTensor> outputs;
    Status s = (*session)->Run({{"X", x}}, &outputs);
    ASSERT_TRUE(s.ok()) << s.message();
    ExpectMatches(outputs[0].tensor, ReferenceGemm(x, w, &bias, false, true, 1.0, 1.0));
  }
}

TEST(GemmKernelTest, BadShapesAreErrorsNamingTheNode) {
  struct Bad {
    std::vector<int64_t> a, b, c;
  };
  for (const Bad& bad : std::vector<Bad>{{{4, 9}, {8, 6}, {6}}, {{4, 9}, {9, 6}, {5}},
                                         {{4, 9}, {9, 6}, {2, 4, 6}}}) {
    ModelBuilder model(13);
    model.Input("A", DataType::kFloat, bad.a)
        .Input("B", DataType::kFloat, bad.b)
        .Input("C", DataType::kFloat, bad.c)
        .Node("Gemm", {"A", "B", "C"}, {"Y"})
        .Output("Y", DataType::kFloat, 2);
    StatusOr<Tensor> y = RunModel(model.Bytes(), {{"A", RandomTensor(bad.a, 1)},
                                                  {"B", RandomTensor(bad.b, 2)},
                                                  {"C", RandomTensor(bad.c, 3)}});
    ASSERT_FALSE(y.ok());
    EXPECT_NE(y.status().message().find("Gemm"), std::string::npos) << y.status().message();
  }
}

// numpy matmul: 1-D operands promoted and squeezed, batch dims broadcast.
Reference ReferenceMatMul(const Tensor& a, const Tensor& b) {
  std::vector<int64_t> a2 = a.shape(), b2 = b.shape();
  if (a2.size() == 1) a2.insert(a2.begin(), 1);
  if (b2.size() == 1) b2.push_back(1);
  const size_t rank = std::max(a2.size(), b2.size());
  a2.insert(a2.begin(), rank - a2.size(), 1);
  b2.insert(b2.begin(), rank - b2.size(), 1);
  const int64_t m = a2[rank - 2], k = a2[rank - 1], n = b2[rank - 1];
  std::vector<int64_t> batch(rank - 2);
  int64_t batches = 1;
  for (size_t i = 0; i + 2 < rank; ++i) {
    batch[i] = std::max(a2[i], b2[i]);
    batches *= batch[i];
  }
  Reference r;
  r.dims = batch;
  if (a.shape().size() > 1) r.dims.push_back(m);
  if (b.shape().size() > 1) r.dims.push_back(n);
  for (int64_t t = 0; t < batches; ++t) {
    // Offsets of this batch in A and B (0 along broadcast axes).
    int64_t rest = t, a_off = 0, b_off = 0, a_stride = m * k, b_stride = k * n;
    for (size_t i = rank - 2; i-- > 0;) {
      const int64_t idx = rest % batch[i];
      rest /= batch[i];
      a_off += (a2[i] == 1 ? 0 : idx) * a_stride;
      b_off += (b2[i] == 1 ? 0 : idx) * b_stride;
      a_stride *= a2[i];
      b_stride *= b2[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double v = a.GetAsDouble(a_off + i * k + p) * b.GetAsDouble(b_off + p * n + j);
          sum += v;
          mag += std::abs(v);
        }
        r.values.push_back(sum);
        r.magnitude.push_back(mag);
      }
  }
  return r;
}

void RunMatMulCase(const std::vector<int64_t>& a_dims, const std::vector<int64_t>& b_dims,
                   bool constant_b, DataType type = DataType::kFloat, double rtol = 1e-5,
                   double atol = 1e-6) {
  SCOPED_TRACE(ShapeToString(a_dims) + " x " + ShapeToString(b_dims) + (constant_b ? " constB" : ""));
  const Tensor a = RandomTensor(a_dims, 1, type), b = RandomTensor(b_dims, 2, type);
  ModelBuilder model(13);
  model.Input("A", type, a_dims);
  std::vector<NamedTensor> feeds = {{"A", a}};
  model.Operand("B", b, constant_b, &feeds);
  const Reference want = ReferenceMatMul(a, b);
  model.Node("MatMul", {"A", "B"}, {"Y"}).Output("Y", type, static_cast<int>(want.dims.size()));
  StatusOr<Tensor> y = RunModel(model.Bytes(), feeds);
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectMatches(*y, want, rtol, atol);
}

TEST(MatMulKernelTest, BatchedBroadcastingAndVectors) {
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{3, 4}, {4, 5}},          {{2, 3, 4}, {4, 5}},       {{2, 1, 3, 4}, {5, 4, 6}},
      {{1, 3, 4}, {2, 4, 5}},    {{4}, {2, 4, 5}},          {{2, 3, 4}, {4}},
      {{4}, {4}},                {{2, 3, 7}, {2, 7, 3}},    {{1, 2, 3, 4}, {1, 2, 4, 3}},
      {{64, 256}, {256, 128}},   {{3, 1, 2, 3, 4}, {2, 1, 4, 5}},
  };
  for (const auto& [a, b] : shapes) {
    for (bool constant_b : {false, true}) RunMatMulCase(a, b, constant_b);
  }
}

// MatMul -> Add(row) -> Relu: the Add runs as the matmul's bias when fused.
TEST(MatMulKernelTest, RowBiasAndRelu) {
  const std::vector<int64_t> a_dims = {2, 3, 4}, b_dims = {4, 5};
  const Tensor a = RandomTensor(a_dims, 1), b = RandomTensor(b_dims, 2);
  for (const std::vector<int64_t>& p_dims : std::vector<std::vector<int64_t>>{{5}, {1, 5}, {1, 1, 5}}) {
    for (bool constant_p : {true, false}) {
      for (bool bias_first : {false, true}) {
        SCOPED_TRACE("P " + ShapeToString(p_dims) + (constant_p ? " constant" : " fed") +
                     (bias_first ? " Add(P, M)" : " Add(M, P)"));
        const Tensor p = RandomTensor(p_dims, 3);
        ModelBuilder model(13);
        model.Input("A", DataType::kFloat, a_dims).Initializer("B", b);
        std::vector<NamedTensor> feeds = {{"A", a}};
        model.Operand("P", p, constant_p, &feeds);
        model.Node("MatMul", {"A", "B"}, {"M"});
        model.Node("Add", bias_first ? std::vector<std::string>{"P", "M"}
                                     : std::vector<std::string>{"M", "P"}, {"S"});
        model.Node("Relu", {"S"}, {"Y"}).Output("Y", DataType::kFloat, 3);
        Reference want = ReferenceMatMul(a, b);
        for (size_t i = 0; i < want.values.size(); ++i) {
          const double bias = p.GetAsDouble(static_cast<int64_t>(i % 5));
          want.values[i] = std::max(want.values[i] + bias, 0.0);
          want.magnitude[i] += std::abs(bias);
        }
        StatusOr<Tensor> y = RunModel(model.Bytes(), feeds);
        ASSERT_TRUE(y.ok()) << y.status().message();
        ExpectMatches(*y, want);
      }
    }
  }
}

TEST(MatMulKernelTest, Float64AndFloat16RunThroughFloat32) {
  RunMatMulCase({2, 3, 4}, {4, 5}, true, DataType::kDouble);
  RunMatMulCase({2, 3, 4}, {2, 4, 5}, false, DataType::kFloat16, 2e-3, 2e-3);
}

TEST(MatMulKernelTest, TwoBatchSizesThroughOneSession) {
  const Tensor w = RandomTensor({16, 8}, 2);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {-1, 5, 16})
      .Initializer("W", w)
      .Node("MatMul", {"X", "W"}, {"Y"})
      .Output("Y", DataType::kFloat, 3);
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(model.Bytes(), ThreadsOption(1));
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (int64_t batch : {3, 1, 3}) {
    SCOPED_TRACE(batch);
    const Tensor x = RandomTensor({batch, 5, 16}, static_cast<uint32_t>(batch));
    std::vector<NamedTensor> outputs;
    Status s = (*session)->Run({{"X", x}}, &outputs);
    ASSERT_TRUE(s.ok()) << s.message();
    ExpectMatches(outputs[0].tensor, ReferenceMatMul(x, w));
  }
}

TEST(MatMulKernelTest, IncompatibleShapesAreErrorsNamingTheNode) {
  for (const auto& [a, b] : std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>{
           {{3, 4}, {5, 6}}, {{2, 3, 4}, {3, 4, 5}}}) {
    ModelBuilder model(13);
    model.Input("A", DataType::kFloat, a)
        .Input("B", DataType::kFloat, b)
        .Node("MatMul", {"A", "B"}, {"Y"})
        .Output("Y", DataType::kFloat, static_cast<int>(std::max(a.size(), b.size())));
    StatusOr<Tensor> y = RunModel(model.Bytes(), {{"A", RandomTensor(a, 1)}, {"B", RandomTensor(b, 2)}});
    ASSERT_FALSE(y.ok());
    EXPECT_NE(y.status().message().find("MatMul"), std::string::npos) << y.status().message();
  }
}

}  // namespace
}  // namespace bnfold::testing
