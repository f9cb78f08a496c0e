// fold-batchnorm on every producer: structure, folded weights against a
// double-precision formula written out here, and folded-vs-unfolded outputs
// through the reference evaluator.
#include "passes/fold_batchnorm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

// ---------------------------------------------------------------- Conv

struct ConvCase {
  std::string name;
  std::vector<int64_t> x;  // input shape
  std::vector<int64_t> w;  // weight shape
  int64_t group = 1;
  bool bias = true;
  std::string attrs;  // extra Conv attributes
  int opset = 15;
  DataType dtype = DataType::kFloat;
};

std::ostream& operator<<(std::ostream& os, const ConvCase& c) { return os << c.name; }

class FoldBatchNormConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(FoldBatchNormConvTest, FoldsIntoWeightsAndBias) {
  const ConvCase& c = GetParam();
  const int64_t m = c.w[0];
  const std::string type = DtypeText(c.dtype);
  ModelSpec spec;
  std::string y_dims;  // symbolic, of the input's rank: BN-1 has no shape inference
  for (size_t i = 0; i < c.x.size(); ++i) y_dims += (i ? ",y" : "y") + std::to_string(i);
  spec.text = Header(8, c.opset) + "g (" + type + Dims(c.x) + " X) => (" + type + "[" + y_dims +
              "] Y) {\n" +
              "  T = Conv <group = " + std::to_string(c.group) + c.attrs + "> (X, W" +
              (c.bias ? ", B" : "") + ")\n" + BatchNormLine("T", "Y", c.opset) + "}\n";
  spec.inits = BatchNormInits("bn", m);
  for (Init& init : spec.inits) init.dtype = c.dtype;
  spec.inits.push_back({"W", c.w, -1.0, 1.0, c.dtype});
  if (c.bias) spec.inits.push_back({"B", {m}, -1.0, 1.0, c.dtype});

  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.before, "BatchNormalization"), 1);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(*r.after, "Conv"), 1);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  EXPECT_EQ(BatchNormOutcome(r.report, "Y"), "folded into Conv 'T'");
  ASSERT_EQ(r.after->outputs()[0]->name(), "Y");
  EXPECT_EQ(r.after->outputs()[0]->producer(), FindNode(*r.after, "T"));

  // Expected, from the original constants: W'[o, ...] = W * s[o], b' = (b - mean) * s + beta.
  const ScaleShift st = BatchNormScaleShift(*r.before, "Y");
  const RefTensor w = Constant(*r.before, "W");
  const int64_t per_channel = static_cast<int64_t>(w.values.size()) / m;
  std::vector<double> want_w(w.values.size()), want_b(m);
  for (size_t i = 0; i < w.values.size(); ++i) want_w[i] = w.values[i] * st.scale[i / per_channel];
  for (int64_t o = 0; o < m; ++o) {
    const double b = c.bias ? Constant(*r.before, "B").values[o] : 0.0;
    want_b[o] = b * st.scale[o] + st.shift[o];
  }
  const double tol = Tolerance(c.dtype);
  ExpectClose(ConstantInput(*r.after, "T", 1), c.w, want_w, tol, "W'");
  ExpectClose(ConstantInput(*r.after, "T", 2), {m}, want_b, tol, "b'");
  EXPECT_EQ(FindNode(*r.after, "T")->input(1)->constant_data()->dtype(), c.dtype);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 10 * tol);
}

INSTANTIATE_TEST_SUITE_P(
    Producers, FoldBatchNormConvTest,
    ::testing::Values(
        ConvCase{"Conv1D", {2, 4, 9}, {6, 4, 3}, 1, true},
        ConvCase{"Conv1DNoBias", {2, 4, 9}, {6, 4, 3}, 1, false, ", pads = [1, 1]"},
        ConvCase{"Conv2D", {2, 3, 7, 7}, {5, 3, 3, 3}, 1, true, ", pads = [1, 1, 1, 1]"},
        ConvCase{"Conv2DStridedNoBias", {2, 3, 8, 8}, {4, 3, 3, 3}, 1, false,
                 ", strides = [2, 2], dilations = [1, 2]"},
        ConvCase{"Conv2DGroup2", {2, 4, 6, 6}, {6, 2, 3, 3}, 2, true, ", pads = [1, 0, 1, 0]"},
        ConvCase{"Conv2DGroup2NoBias", {2, 4, 6, 6}, {6, 2, 3, 3}, 2, false},
        ConvCase{"Depthwise", {2, 6, 6, 6}, {6, 1, 3, 3}, 6, true, ", pads = [1, 1, 1, 1]"},
        ConvCase{"DepthwiseMultiplier2NoBias", {2, 3, 5, 5}, {6, 1, 3, 3}, 3, false},
        ConvCase{"Conv3D", {1, 2, 5, 4, 5}, {4, 2, 3, 2, 3}, 1, true},
        ConvCase{"Conv3DGroup2NoBias", {1, 4, 4, 4, 4}, {4, 2, 1, 3, 3}, 2, false},
        ConvCase{"Opset1", {2, 3, 6, 6}, {4, 3, 3, 3}, 1, true, "", 1},
        ConvCase{"Opset6", {2, 3, 6, 6}, {4, 3, 3, 3}, 1, true, "", 6},
        ConvCase{"Opset7", {2, 3, 6, 6}, {4, 3, 3, 3}, 1, false, "", 7},
        ConvCase{"Opset9", {2, 3, 6, 6}, {4, 3, 3, 3}, 1, true, "", 9},
        ConvCase{"Opset14", {2, 3, 6, 6}, {4, 3, 3, 3}, 1, true, "", 14},
        ConvCase{"Float16", {2, 3, 6, 6}, {4, 3, 3, 3}, 1, true, "", 15, DataType::kFloat16},
        ConvCase{"Float64NoBias", {2, 3, 6, 6}, {4, 3, 3, 3}, 1, false, "", 15,
                 DataType::kDouble}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------- ConvTranspose

struct ConvTransposeCase {
  std::string name;
  std::vector<int64_t> x;
  std::vector<int64_t> w;  // [C, M/g, k...]
  int64_t group = 1;
  bool bias = true;
  std::string attrs;
};

std::ostream& operator<<(std::ostream& os, const ConvTransposeCase& c) { return os << c.name; }

class FoldBatchNormConvTransposeTest : public ::testing::TestWithParam<ConvTransposeCase> {};

TEST_P(FoldBatchNormConvTransposeTest, ScalesTheOutputChannelOfEachGroup) {
  const ConvTransposeCase& c = GetParam();
  const int64_t m = c.w[1] * c.group;
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float" + Dims(c.x) + " X) => (float Y) {\n" +
              "  T = ConvTranspose <group = " + std::to_string(c.group) + c.attrs + "> (X, W" +
              (c.bias ? ", B" : "") + ")\n" + BatchNormLine("T", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", m);
  spec.inits.push_back({"W", c.w});
  if (c.bias) spec.inits.push_back({"B", {m}});

  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(*r.after, "ConvTranspose"), 1);
  EXPECT_EQ(BatchNormOutcome(r.report, "Y"), "folded into ConvTranspose 'T'");

  // W [C, M/g, k...]: input channel ic of group ic / (C/g) feeds output
  // channel (ic / (C/g)) * (M/g) + j through W[ic, j].
  const ScaleShift st = BatchNormScaleShift(*r.before, "Y");
  const RefTensor w = Constant(*r.before, "W");
  const int64_t in_channels = c.w[0], per_group_out = c.w[1];
  const int64_t kernel = static_cast<int64_t>(w.values.size()) / (in_channels * per_group_out);
  std::vector<double> want_w(w.values.size());
  for (int64_t ic = 0; ic < in_channels; ++ic) {
    for (int64_t j = 0; j < per_group_out; ++j) {
      const int64_t oc = (ic / (in_channels / c.group)) * per_group_out + j;
      for (int64_t k = 0; k < kernel; ++k) {
        const int64_t i = (ic * per_group_out + j) * kernel + k;
        want_w[i] = w.values[i] * st.scale[oc];
      }
    }
  }
  std::vector<double> want_b(m);
  for (int64_t o = 0; o < m; ++o) {
    want_b[o] = (c.bias ? Constant(*r.before, "B").values[o] : 0.0) * st.scale[o] + st.shift[o];
  }
  ExpectClose(ConstantInput(*r.after, "T", 1), c.w, want_w, 1e-6, "W'");
  ExpectClose(ConstantInput(*r.after, "T", 2), {m}, want_b, 1e-6, "b'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Producers, FoldBatchNormConvTransposeTest,
    ::testing::Values(
        ConvTransposeCase{"Group1", {2, 4, 5, 5}, {4, 3, 3, 3}, 1, true, ", strides = [2, 2]"},
        ConvTransposeCase{"Group1NoBias", {2, 4, 5, 5}, {4, 3, 3, 3}, 1, false,
                          ", pads = [1, 1, 1, 1]"},
        ConvTransposeCase{"Group2", {2, 4, 4, 4}, {4, 2, 3, 3}, 2, true},
        ConvTransposeCase{"Group2Uneven", {2, 4, 4, 4}, {4, 3, 2, 2}, 2, false,
                          ", strides = [2, 2]"},
        ConvTransposeCase{"Depthwise", {1, 4, 4, 4}, {4, 1, 3, 3}, 4, true},
        ConvTransposeCase{"OneD", {2, 4, 7}, {4, 5, 3}, 1, true, ", strides = [3]"},
        ConvTransposeCase{"ThreeDGroup2", {1, 4, 3, 3, 3}, {4, 2, 2, 2, 2}, 2, true}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------- Gemm

struct GemmCase {
  std::string name;
  bool trans_b = false;
  float alpha = 1.0f;
  float beta = 1.0f;
  std::vector<int64_t> c;  // C shape; {-1} when absent
  bool trans_a = false;
};

std::ostream& operator<<(std::ostream& os, const GemmCase& c) { return os << c.name; }

class FoldBatchNormGemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(FoldBatchNormGemmTest, ScalesColumnsAndFoldsBetaC) {
  const GemmCase& g = GetParam();
  const int64_t m = 3, k = 5, n = 4;
  const bool has_c = g.c != std::vector<int64_t>{-1};
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float" + Dims(g.trans_a ? std::vector<int64_t>{k, m}
                                                              : std::vector<int64_t>{m, k}) +
              " A) => (float Y) {\n" + "  T = Gemm <transA = " + std::to_string(g.trans_a) +
              ", transB = " + std::to_string(g.trans_b) + ", alpha = " + std::to_string(g.alpha) +
              ", beta = " + std::to_string(g.beta) + "> (A, B" + (has_c ? ", C" : "") + ")\n" +
              BatchNormLine("T", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", n);
  spec.inits.push_back({"B", g.trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}});
  if (has_c) spec.inits.push_back({"C", g.c});

  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  const ir::Node* gemm = FindNode(*r.after, "T");
  ASSERT_NE(gemm, nullptr);
  EXPECT_FLOAT_EQ(gemm->GetFloat("alpha", 1.0f).value(), g.alpha);
  EXPECT_FLOAT_EQ(gemm->GetFloat("beta", 1.0f).value(), 1.0f);

  const ScaleShift st = BatchNormScaleShift(*r.before, "Y");
  const RefTensor b = Constant(*r.before, "B");
  std::vector<double> want_b(b.values.size());
  for (int64_t kk = 0; kk < k; ++kk) {
    for (int64_t nn = 0; nn < n; ++nn) {
      const size_t i = g.trans_b ? nn * k + kk : kk * n + nn;
      want_b[i] = b.values[i] * st.scale[nn];
    }
  }
  ExpectClose(ConstantInput(*r.after, "T", 1), b.shape, want_b, 1e-6, "B'");
  // C' = beta * C * s + t, broadcast to [rows, N].
  const RefTensor c = has_c ? Constant(*r.before, "C") : RefTensor{{}, {0.0}};
  const int64_t rows = c.shape.size() == 2 ? c.shape[0] : 0;
  std::vector<int64_t> want_shape = rows ? std::vector<int64_t>{rows, n} : std::vector<int64_t>{n};
  std::vector<double> want_c;
  for (int64_t row = 0; row < std::max<int64_t>(rows, 1); ++row) {
    for (int64_t nn = 0; nn < n; ++nn) {
      const int64_t cols = c.shape.empty() ? 1 : c.shape.back();
      const double cv = c.values[row * cols + (cols == 1 ? 0 : nn)];
      want_c.push_back((has_c ? g.beta : 0.0) * cv * st.scale[nn] + st.shift[nn]);
    }
  }
  ExpectClose(ConstantInput(*r.after, "T", 2), want_shape, want_c, 1e-6, "C'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Producers, FoldBatchNormGemmTest,
    ::testing::Values(GemmCase{"NoC", false, 1.0f, 1.0f, {-1}},
                      GemmCase{"NoCTransB", true, 1.0f, 1.0f, {-1}},
                      GemmCase{"NoCAlphaBeta", false, 0.5f, 2.0f, {-1}},
                      GemmCase{"ScalarC", false, 1.0f, 1.0f, {}},
                      GemmCase{"OneC", true, 1.0f, 0.25f, {1}},
                      GemmCase{"VectorC", false, 1.0f, 1.0f, {4}},
                      GemmCase{"VectorCAlphaBeta", true, 0.7f, 1.3f, {4}},
                      GemmCase{"RowC", false, 2.0f, -0.5f, {1, 4}},
                      GemmCase{"FullC", true, 1.0f, 1.0f, {3, 4}},
                      GemmCase{"FullCAlphaBeta", false, 0.3f, 1.7f, {3, 4}},
                      GemmCase{"ColumnC", false, 1.0f, 0.5f, {3, 1}},
                      GemmCase{"TransA", false, 1.5f, 1.0f, {4}, true}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------- MatMul

class FoldBatchNormMatMulTest : public ::testing::TestWithParam<std::vector<int64_t>> {};

// Bias shape {-1}: a bare MatMul (the fold inserts an Add of t).
TEST_P(FoldBatchNormMatMulTest, ScalesColumnsAndFoldsTheBias) {
  const std::vector<int64_t> bias_shape = GetParam();
  const bool has_bias = bias_shape != std::vector<int64_t>{-1};
  const int64_t k = 6, n = 5;
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[N, 6] A) => (float Y) {\n" +
              "  T0 = MatMul (A, W)\n" +
              (has_bias ? "  T = Add (T0, Bias)\n" : "  T = Identity (T0)\n") +
              BatchNormLine("T", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", n);
  spec.inits.push_back({"W", {k, n}});
  if (has_bias) spec.inits.push_back({"Bias", bias_shape});

  FoldResult r = Fold(spec, {"cleanup", "fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(*r.after, "MatMul"), 1);
  EXPECT_EQ(CountOps(*r.after, "Add"), 1);
  EXPECT_EQ(r.after->num_nodes(), 2u);
  EXPECT_EQ(r.after->outputs()[0]->producer()->op_type(), "Add");

  const ScaleShift st = BatchNormScaleShift(*r.before, "Y");
  const RefTensor w = Constant(*r.before, "W");
  std::vector<double> want_w(w.values.size());
  for (size_t i = 0; i < w.values.size(); ++i) want_w[i] = w.values[i] * st.scale[i % n];
  ExpectClose(ConstantInput(*r.after, "T0", 1), {k, n}, want_w, 1e-6, "W'");
  std::vector<double> want_bias(n);
  for (int64_t j = 0; j < n; ++j) {
    const double b = has_bias ? Constant(*r.before, "Bias").values[bias_shape.empty() || bias_shape.back() == 1 ? 0 : j] : 0;
    want_bias[j] = b * st.scale[j] + st.shift[j];
  }
  const ir::Node* add = r.after->outputs()[0]->producer();
  std::vector<int64_t> want_shape = {n};
  if (has_bias && bias_shape.size() == 2) want_shape = {1, n};
  ASSERT_TRUE(add->input(1)->constant_data());
  ExpectClose(RefFromTensor(*add->input(1)->constant_data()), want_shape, want_bias, 1e-6, "bias'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Producers, FoldBatchNormMatMulTest,
                         ::testing::Values(std::vector<int64_t>{-1}, std::vector<int64_t>{5},
                                           std::vector<int64_t>{1, 5}, std::vector<int64_t>{1},
                                           std::vector<int64_t>{}),
                         [](const auto& info) {
                           const auto& s = info.param;
                           if (s == std::vector<int64_t>{-1}) return std::string("NoBias");
                           std::string name = "Bias";
                           for (int64_t d : s) name += "x" + std::to_string(d);
                           return s.empty() ? std::string("ScalarBias") : name;
                         });

// ---------------------------------------------------------------- misc

TEST(FoldBatchNorm, MissingEpsilonIsOneEMinus5) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2, 3, 4, 4] X) => (float Y) {\n"
              "  T = Conv (X, W)\n"
              "  Y = BatchNormalization (T, bn_scale, bn_bias, bn_mean, bn_var)\n}\n";
  spec.inits = BatchNormInits("bn", 2);
  spec.inits.push_back({"W", {2, 3, 1, 1}});
  spec.inits[3].lo = 1e-6;  // var tiny: epsilon dominates
  spec.inits[3].hi = 2e-6;
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  const RefTensor gamma = Constant(*r.before, "bn_scale");
  const RefTensor var = Constant(*r.before, "bn_var");
  const RefTensor w = Constant(*r.before, "W");
  const RefTensor got = ConstantInput(*r.after, "T", 1);
  for (int64_t i = 0; i < 6; ++i) {
    const double s = gamma.values[i / 3] / std::sqrt(var.values[i / 3] + 1e-5);
    EXPECT_NEAR(got.values[i], w.values[i] * s, 1e-6 * std::fabs(w.values[i] * s));
  }
}

TEST(FoldBatchNorm, FoldsEveryBatchNormOfAChain) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2, 3, 6, 6] X) => (float Y) {\n"
              "  T1 = Conv <pads = [1, 1, 1, 1]> (X, W1)\n"
              "  U1 = BatchNormalization (T1, a_scale, a_bias, a_mean, a_var)\n"
              "  R1 = Relu (U1)\n"
              "  T2 = Conv <group = 4> (R1, W2, B2)\n"
              "  U2 = BatchNormalization <epsilon = 0.001> (T2, b_scale, b_bias, b_mean, b_var)\n"
              "  Y = Relu (U2)\n}\n";
  spec.inits = BatchNormInits("a", 4);
  for (Init i : BatchNormInits("b", 8)) spec.inits.push_back(i);
  spec.inits.push_back({"W1", {4, 3, 3, 3}});
  spec.inits.push_back({"W2", {8, 1, 3, 3}});
  spec.inits.push_back({"B2", {8}});
  FoldResult r = Fold(spec, {"fold-batchnorm", "cleanup"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(r.after->num_nodes(), 4u);
  EXPECT_EQ(r.report.batchnorm_before, 2);
  EXPECT_EQ(r.report.batchnorm_after, 0);
  // The replaced weights and BN parameters are gone.
  for (const char* name : {"W1", "W2", "B2", "a_scale", "b_var"}) {
    EXPECT_EQ(r.after->FindValue(name), nullptr) << name;
  }
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldBatchNorm, SharedWeightIsCopiedNotEdited) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[1, 2, 4, 4] X) => (float Y, float Z) {\n"
              "  T = Conv (X, W)\n"
              "  Y = BatchNormalization (T, bn_scale, bn_bias, bn_mean, bn_var)\n"
              "  Z = Conv (X, W)\n}\n";
  spec.inits = BatchNormInits("bn", 3);
  spec.inits.push_back({"W", {3, 2, 3, 3}});
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  // The other Conv still reads the original, untouched tensor.
  const ir::Value* w = r.after->FindValue("W");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->constant_data().get(), r.before->FindValue("W")->constant_data().get());
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldBatchNorm, SoleWeightIsFoldedInItsOwnBuffer) {
  // A graph loaded on its own (no copy shares its tensors), as a session's:
  // W feeds only the Conv, so W' is written over W instead of beside it.
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[1, 2, 5, 5] X) => (float Y) {\n"
              "  T = Conv <pads = [1, 1, 1, 1]> (X, W, B)\n"
              "  Y = BatchNormalization <epsilon = 0.001> (T, bn_scale, bn_bias, bn_mean, bn_var)\n}\n";
  spec.inits = BatchNormInits("bn", 3);
  spec.inits.push_back({"W", {3, 2, 3, 3}});
  spec.inits.push_back({"B", {3}});
  std::unique_ptr<ir::Graph> reference = LoadGraph(spec);
  std::unique_ptr<ir::Graph> graph = LoadGraph(spec);
  ASSERT_TRUE(reference && graph);
  const void* buffer = graph->FindValue("W")->constant_data()->data();

  PipelineReport report = RunPasses(*graph, {"fold-batchnorm", "cleanup"});
  EXPECT_EQ(report.batchnorm_after, 0);
  EXPECT_EQ(graph->FindValue("W"), nullptr);
  const ir::Node* conv = FindNode(*graph, "T");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->input(1)->name(), "W_folded");
  EXPECT_EQ(conv->input(1)->constant_data()->data(), buffer);

  // Each W' element against W * gamma / sqrt(var + eps) in double.
  const ScaleShift st = BatchNormScaleShift(*reference, "Y");
  const Tensor& w = *reference->FindValue("W")->constant_data();
  const Tensor& folded = *conv->input(1)->constant_data();
  for (int64_t i = 0; i < w.num_elements(); ++i) {
    const double want = w.GetAsDouble(i) * st.scale[i / 18];
    EXPECT_NEAR(folded.GetAsDouble(i), want, 1e-6 * std::abs(want)) << "element " << i;
  }
  EXPECT_LT(CompareGraphs(*reference, *graph), 1e-5);
}

}  // namespace
}  // namespace bnfold::passes::testing
