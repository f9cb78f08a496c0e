// fold-batchnorm-forward: a BN (or constant per-channel affine op) folded
// into the linear op that reads it; padding, MaxPool signs, transA and the
// other preconditions.
#include "passes/fold_batchnorm_forward.h"

#include <gtest/gtest.h>

#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

const std::vector<std::string> kForward = {"fold-batchnorm-forward"};

void ExpectLeft(const ModelSpec& spec, const std::string& bn, const std::string& reason) {
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  const std::string outcome = bn.empty() ? "" : BatchNormOutcome(r.report, bn);
  EXPECT_TRUE(outcome.find(reason) != std::string::npos || HasNote(r.report, reason))
      << "decision: " << outcome;
}

// ---------------------------------------------------------------- Conv consumer

struct ConvCase {
  std::string name;
  std::vector<int64_t> x;
  std::vector<int64_t> w;
  int64_t group = 1;
  bool bias = true;
  std::string attrs;
};

std::ostream& operator<<(std::ostream& os, const ConvCase& c) { return os << c.name; }

class FoldForwardConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(FoldForwardConvTest, ScalesInputChannelsAndMovesTheShiftIntoTheBias) {
  const ConvCase& c = GetParam();
  const int64_t channels = c.x[1], m = c.w[0], per_group_in = c.w[1];
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float" + Dims(c.x) + " X) => (float Y) {\n" +
              "  R = Relu (X)\n" + BatchNormLine("R", "U", 15) + "  Y = Conv <group = " +
              std::to_string(c.group) + c.attrs + "> (U, W" + (c.bias ? ", B" : "") + ")\n}\n";
  spec.inits = BatchNormInits("bn", channels);
  spec.inits.push_back({"W", c.w});
  if (c.bias) spec.inits.push_back({"B", {m}});

  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(r.after->num_nodes(), 2u);
  EXPECT_EQ(FindNode(*r.after, "Y")->input(0)->name(), "R");
  EXPECT_EQ(BatchNormOutcome(r.report, "U"), "folded into Conv 'Y'");

  // W'[o, cl, k] = W * s[i], b'[o] = b[o] + sum W[o, cl, k] * t[i],
  // i = (o / (M/g)) * (C/g) + cl.
  const ScaleShift st = BatchNormScaleShift(*r.before, "U");
  const RefTensor w = Constant(*r.before, "W");
  const int64_t kernel = static_cast<int64_t>(w.values.size()) / (m * per_group_in);
  std::vector<double> want_w(w.values.size()), want_b(m, 0.0);
  for (int64_t o = 0; o < m; ++o) {
    if (c.bias) want_b[o] = Constant(*r.before, "B").values[o];
    for (int64_t cl = 0; cl < per_group_in; ++cl) {
      const int64_t in_channel = (o / (m / c.group)) * per_group_in + cl;
      for (int64_t k = 0; k < kernel; ++k) {
        const int64_t i = (o * per_group_in + cl) * kernel + k;
        want_w[i] = w.values[i] * st.scale[in_channel];
        want_b[o] += w.values[i] * st.shift[in_channel];
      }
    }
  }
  ExpectClose(ConstantInput(*r.after, "Y", 1), c.w, want_w, 1e-6, "W'");
  ExpectClose(ConstantInput(*r.after, "Y", 2), {m}, want_b, 1e-6, "b'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Consumers, FoldForwardConvTest,
    ::testing::Values(ConvCase{"Conv2D", {2, 3, 6, 6}, {4, 3, 3, 3}},
                      ConvCase{"Conv2DNoBiasStrided", {2, 3, 7, 7}, {5, 3, 3, 3}, 1, false,
                               ", strides = [2, 2]"},
                      ConvCase{"Group2", {2, 4, 5, 5}, {6, 2, 3, 3}, 2},
                      ConvCase{"Group2NoBias", {2, 4, 5, 5}, {6, 2, 1, 1}, 2, false},
                      ConvCase{"Depthwise", {2, 6, 5, 5}, {6, 1, 3, 3}, 6},
                      ConvCase{"DepthwiseMultiplier2", {2, 3, 5, 5}, {6, 1, 3, 3}, 3, false},
                      ConvCase{"Conv1D", {2, 4, 8}, {3, 4, 3}},
                      ConvCase{"Conv3DGroup2", {1, 4, 4, 4, 4}, {2, 2, 2, 2, 2}, 2},
                      ConvCase{"PointwiseSameUpper", {2, 3, 5, 5}, {4, 3, 1, 1}, 1, true,
                               ", auto_pad = \"SAME_UPPER\", strides = [2, 2]"},
                      ConvCase{"ExplicitZeroPads", {2, 3, 5, 5}, {4, 3, 3, 3}, 1, true,
                               ", pads = [0, 0, 0, 0], auto_pad = \"NOTSET\""}),
    [](const auto& info) { return info.param.name; });

ModelSpec BatchNormThen(const std::string& consumer, std::vector<Init> extra,
                        const std::string& x = "float[2,3,6,6] X", int64_t channels = 3) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (" + x + ") => (float Y) {\n  R = Relu (X)\n" +
              BatchNormLine("R", "U", 15) + consumer + "}\n";
  spec.inits = BatchNormInits("bn", channels);
  for (Init& i : extra) spec.inits.push_back(i);
  return spec;
}

TEST(FoldForwardPreconditions, PaddedConvIsLeft) {
  ExpectLeft(BatchNormThen("  Y = Conv <pads = [1, 1, 1, 1]> (U, W)\n", {{"W", {4, 3, 3, 3}}}),
             "U", "pads its input (pads = [1,1,1,1])");
}

TEST(FoldForwardPreconditions, SameUpperPaddedConvIsLeft) {
  ExpectLeft(BatchNormThen("  Y = Conv <auto_pad = \"SAME_UPPER\"> (U, W)\n", {{"W", {4, 3, 3, 3}}}),
             "U", "auto_pad = SAME_UPPER");
}

TEST(FoldForward, ScaleOnlyFoldsIntoAPaddedConv) {
  // Zero padding commutes with a pure scale: no shift reaches the border.
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,6,6] X) => (float Y) {\n"
              "  R = Relu (X)\n  U = Mul (R, K)\n  Y = Conv <pads = [1, 1, 1, 1]> (U, W, B)\n}\n";
  spec.inits = {{"K", {1, 3, 1, 1}}, {"W", {4, 3, 3, 3}}, {"B", {4}}};
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 2u);
  EXPECT_TRUE(HasNote(r.report, "folded Mul 'U' forward into Conv 'Y'"));
  // The bias is untouched (no shift).
  EXPECT_EQ(FindNode(*r.after, "Y")->input(2)->name(), "B");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldForward, InputNormalizationFoldsScaleButNotShiftThroughPadding) {
  // (x - mean) / std before a padded Conv: the Div folds, the Sub must stay.
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[1,3,6,6] X) => (float Y) {\n"
              "  C = Sub (X, Mean)\n  D = Div (C, Std)\n"
              "  Y = Conv <pads = [1, 1, 1, 1]> (D, W, B)\n}\n";
  spec.inits = {{"Mean", {1, 3, 1, 1}}, {"Std", {3, 1, 1}, 0.2, 0.3}, {"W", {4, 3, 3, 3}}, {"B", {4}}};
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 2u);
  EXPECT_EQ(CountOps(*r.after, "Sub"), 1);
  EXPECT_TRUE(HasNote(r.report, "Sub 'C' not folded forward: Conv 'Y' pads its input"));
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldForward, InputNormalizationFoldsCompletelyIntoAnUnpaddedConv) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[1,3,6,6] X) => (float Y) {\n"
              "  C = Sub (X, Mean)\n  D = Div (C, Std)\n  Y = Conv (D, W)\n}\n";
  spec.inits = {{"Mean", {1, 3, 1, 1}}, {"Std", {3, 1, 1}, 0.2, 0.3}, {"W", {4, 3, 3, 3}}};
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  EXPECT_EQ(FindNode(*r.after, "Y")->input(0)->name(), "X");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

// ---------------------------------------------------------------- MaxPool

TEST(FoldForward, PositiveScaleFoldsThroughMaxPool) {
  ModelSpec spec = BatchNormThen(
      "  P = MaxPool <kernel_shape = [2, 2], strides = [2, 2], pads = [1, 1, 1, 1]> (U)\n"
      "  Y = Conv (P, W, B)\n",
      {{"W", {4, 3, 3, 3}}, {"B", {4}}});
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(FindNode(*r.after, "P")->input(0)->name(), "R");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldForwardPreconditions, NegativeScaleDoesNotCrossMaxPool) {
  ModelSpec spec = BatchNormThen(
      "  P = MaxPool <kernel_shape = [2, 2]> (U)\n  Y = Conv (P, W)\n", {{"W", {4, 3, 3, 3}}});
  spec.inits[0].lo = -1.5;  // gamma < 0
  spec.inits[0].hi = -0.5;
  ExpectLeft(spec, "U", "not positive: MaxPool 'P' does not commute with a sign flip");
}

TEST(FoldForwardPreconditions, MaxPoolIndicesInUseIsLeft) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,6,6] X) => (float Y, int64 I) {\n  R = Relu (X)\n" +
              BatchNormLine("R", "U", 15) +
              "  P, I = MaxPool <kernel_shape = [2, 2]> (U)\n  Y = Conv (P, W)\n}\n";
  spec.inits = BatchNormInits("bn", 3);
  spec.inits.push_back({"W", {4, 3, 3, 3}});
  ExpectLeft(spec, "U", "Indices output in use");
}

// ---------------------------------------------------------------- Gemm / MatMul

struct GemmCase {
  std::string name;
  bool trans_b = false;
  float alpha = 1.0f;
  float beta = 1.0f;
  std::vector<int64_t> c;  // {-1}: absent
};

std::ostream& operator<<(std::ostream& os, const GemmCase& c) { return os << c.name; }

class FoldForwardGemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(FoldForwardGemmTest, ScalesRowsAndMovesTheShiftIntoC) {
  const GemmCase& g = GetParam();
  const int64_t k = 5, n = 4;  // X is [3, k]
  const bool has_c = g.c != std::vector<int64_t>{-1};
  ModelSpec spec = BatchNormThen(
      "  Y = Gemm <transB = " + std::to_string(g.trans_b) + ", alpha = " + std::to_string(g.alpha) +
          ", beta = " + std::to_string(g.beta) + "> (U, B" + (has_c ? ", C" : "") + ")\n",
      {{"B", g.trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}}},
      "float[3,5] X", k);
  if (has_c) spec.inits.push_back({"C", g.c});
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_FLOAT_EQ(FindNode(*r.after, "Y")->GetFloat("beta", 1.0f).value(), 1.0f);

  // B'[k, n] = B * s[k];  C' = beta * C + alpha * sum_k t[k] B[k, n].
  const ScaleShift st = BatchNormScaleShift(*r.before, "U");
  const RefTensor b = Constant(*r.before, "B");
  std::vector<double> want_b(b.values.size()), shift(n, 0.0);
  for (int64_t kk = 0; kk < k; ++kk) {
    for (int64_t nn = 0; nn < n; ++nn) {
      const size_t i = g.trans_b ? nn * k + kk : kk * n + nn;
      want_b[i] = b.values[i] * st.scale[kk];
      shift[nn] += g.alpha * b.values[i] * st.shift[kk];
    }
  }
  ExpectClose(ConstantInput(*r.after, "Y", 1), b.shape, want_b, 1e-6, "B'");
  const RefTensor c = has_c ? Constant(*r.before, "C") : RefTensor{{n}, std::vector<double>(n, 0.0)};
  std::vector<double> want_c(c.values.size());
  for (size_t i = 0; i < c.values.size(); ++i) {
    want_c[i] = (has_c ? g.beta : 0.0) * c.values[i] + shift[i % n];
  }
  ExpectClose(ConstantInput(*r.after, "Y", 2), c.shape.empty() ? std::vector<int64_t>{n} : c.shape,
              want_c, 1e-6, "C'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Consumers, FoldForwardGemmTest,
                         ::testing::Values(GemmCase{"NoC", false, 1.0f, 1.0f, {-1}},
                                           GemmCase{"NoCTransBAlpha", true, 0.5f, 3.0f, {-1}},
                                           GemmCase{"VectorC", false, 1.0f, 1.0f, {4}},
                                           GemmCase{"RowCAlphaBeta", true, 1.5f, 0.5f, {1, 4}},
                                           GemmCase{"FullC", false, 0.7f, 1.3f, {3, 4}}),
                         [](const auto& info) { return info.param.name; });

TEST(FoldForwardPreconditions, GemmWithTransAIsLeft) {
  ExpectLeft(BatchNormThen("  Y = Gemm <transA = 1> (U, B)\n", {{"B", {5, 4}}}, "float[5,3] X", 3),
             "U", "transA = 1");
}

TEST(FoldForward, MatMulGetsABiasAdd) {
  ModelSpec spec = BatchNormThen("  Y = MatMul (U, W)\n", {{"W", {5, 4}}}, "float[3,5] X", 5);
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(*r.after, "Add"), 1);
  EXPECT_EQ(r.after->outputs()[0]->name(), "Y");
  EXPECT_EQ(r.after->outputs()[0]->producer()->op_type(), "Add");
  const ScaleShift st = BatchNormScaleShift(*r.before, "U");
  const RefTensor w = Constant(*r.before, "W");
  std::vector<double> want_w(20), want_bias(4, 0.0);
  for (int i = 0; i < 20; ++i) {
    want_w[i] = w.values[i] * st.scale[i / 4];
    want_bias[i % 4] += w.values[i] * st.shift[i / 4];
  }
  ExpectClose(ConstantInput(*r.after, "Y", 1), {5, 4}, want_w, 1e-6, "W'");
  const ir::Node* add = r.after->outputs()[0]->producer();
  ExpectClose(RefFromTensor(*add->input(1)->constant_data()), {4}, want_bias, 1e-6, "bias");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldForward, MatMulWithABiasAddTakesTheShiftInThatBias) {
  ModelSpec spec = BatchNormThen("  T = MatMul (U, W)\n  Y = Add (T, Bias)\n",
                                 {{"W", {5, 4}}, {"Bias", {1, 4}}}, "float[3,5] X", 5);
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(*r.after, "Add"), 1);
  EXPECT_EQ(r.after->num_nodes(), 3u);
  EXPECT_EQ(ConstantInput(*r.after, "Y", 1).shape, (std::vector<int64_t>{1, 4}));
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldForwardPreconditions, MatMulReadingARank3BatchNormIsLeft) {
  ExpectLeft(BatchNormThen("  Y = MatMul (U, W)\n", {{"W", {5, 4}}}, "float[2,3,5] X", 3), "U",
             "normalizes axis 1 but MatMul 'Y' reads its channels on axis 2");
}

TEST(FoldForward, ElementwiseScaleOnTheLastAxisFoldsIntoARank3MatMul) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,5] X) => (float Y) {\n"
              "  R = Relu (X)\n  U = Mul (R, K)\n  V = Add (U, H)\n  Y = MatMul (V, W)\n}\n";
  spec.inits = {{"K", {5}}, {"H", {1, 1, 5}}, {"W", {5, 4}}};
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Mul"), 0);
  EXPECT_EQ(CountOps(*r.after, "Add"), 1);  // the inserted bias
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

// ---------------------------------------------------------------- other readers

TEST(FoldForward, ScaleFoldsIntoConvTranspose) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,4,3,3] X) => (float Y) {\n"
              "  R = Relu (X)\n  U = Mul (R, K)\n"
              "  Y = ConvTranspose <group = 2, strides = [2, 2], pads = [1, 1, 1, 1]> (U, W)\n}\n";
  spec.inits = {{"K", {4, 1, 1}}, {"W", {4, 3, 3, 3}}};
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Mul"), 0);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldForwardPreconditions, ShiftIntoConvTransposeIsLeft) {
  ExpectLeft(BatchNormThen("  Y = ConvTranspose (U, W)\n", {{"W", {3, 2, 3, 3}}}), "U",
             "is a ConvTranspose: a shift reaches its output borders");
}

TEST(FoldForwardPreconditions, NonLinearReaderIsLeft) {
  ExpectLeft(BatchNormThen("  Y = Relu (U)\n", {}), "U", "its output feeds Relu 'Y'");
}

TEST(FoldForwardPreconditions, OutputReadTwiceIsLeft) {
  ModelSpec spec = BatchNormThen("  Y = Conv (U, W)\n  Z = Relu (U)\n", {{"W", {4, 3, 1, 1}}});
  spec.text.replace(spec.text.find("(float Y)"), 9, "(float Y, float Z)");
  ExpectLeft(spec, "U", "'U' has 2 uses");
}

TEST(FoldForwardPreconditions, OutputThatIsAGraphOutputIsLeft) {
  ModelSpec spec = BatchNormThen("  Y = Conv (U, W)\n", {{"W", {4, 3, 1, 1}}});
  spec.text.replace(spec.text.find("(float Y)"), 9, "(float Y, float[a,b,c,d] U)");
  ExpectLeft(spec, "U", "'U' is a graph output");
}

TEST(FoldForwardPreconditions, OverridableConsumerWeightIsLeft) {
  ModelSpec spec = BatchNormThen("  Y = Conv (U, W)\n", {{"W", {4, 3, 1, 1}}},
                                 "float[2,3,6,6] X, float[4,3,1,1] W");
  ExpectLeft(spec, "U", "weight 'W' is an initializer that is also a graph input");
}

TEST(FoldForwardPreconditions, TrainingModeIsLeft) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,6,6] X) => (float Y) {\n  R = Relu (X)\n"
              "  U, RM, RV = BatchNormalization <training_mode = 1> (R, bn_scale, bn_bias, bn_mean, bn_var)\n"
              "  Y = Conv (U, W)\n}\n";
  spec.inits = BatchNormInits("bn", 3);
  spec.inits.push_back({"W", {4, 3, 1, 1}});
  ExpectLeft(spec, "U", "training_mode = 1");
}

TEST(FoldForwardPreconditions, ElementwiseAfterALinearOpIsLeftToFoldAffine) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,6,6] X) => (float Y) {\n"
              "  T = Conv (X, W1)\n  U = Mul (T, K)\n  Y = Conv (U, W2)\n}\n";
  spec.inits = {{"W1", {4, 3, 1, 1}}, {"K", {4, 1, 1}}, {"W2", {2, 4, 1, 1}}};
  FoldResult r = Fold(spec, kForward);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
}

}  // namespace
}  // namespace bnfold::passes::testing
