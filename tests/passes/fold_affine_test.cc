// fold-affine: constant per-channel Mul/Add/Sub/Div chains folded into the
// linear op before them; broadcasting and every precondition.
#include "passes/fold_affine.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

// Runs `names` and expects no change and a note containing `reason`.
void ExpectLeftWithNote(const ModelSpec& spec, const std::vector<std::string>& names,
                        const std::string& reason) {
  FoldResult r = Fold(spec, names);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_TRUE(HasNote(r.report, reason)) << "no note with: " << reason;
}

TEST(FoldAffine, KerasDenseBatchNormChainBecomesOneMatMulAndBias) {
  // tf2onnx: Dense -> MatMul + Add; Keras BN -> Mul(gamma') + Add(beta').
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[N,6] A) => (float Y) {\n"
              "  T = MatMul (A, W)\n  U = Add (T, Bias)\n  V = Mul (U, G)\n  Y = Add (V, H)\n}\n";
  spec.inits = {{"W", {6, 5}}, {"Bias", {5}}, {"G", {5}, 0.5, 2.0}, {"H", {1, 5}}};
  FoldResult r = Fold(spec, {"fold-affine"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 2u);
  EXPECT_EQ(CountOps(*r.after, "MatMul"), 1);
  EXPECT_EQ(CountOps(*r.after, "Add"), 1);
  EXPECT_EQ(r.report.passes[0].rewrites, 2);
  const RefTensor w = Constant(*r.before, "W"), b = Constant(*r.before, "Bias");
  const RefTensor g = Constant(*r.before, "G"), h = Constant(*r.before, "H");
  std::vector<double> want_w(30), want_b(5);
  for (int i = 0; i < 30; ++i) want_w[i] = w.values[i] * g.values[i % 5];
  for (int j = 0; j < 5; ++j) want_b[j] = b.values[j] * g.values[j] + h.values[j];
  ExpectClose(ConstantInput(*r.after, "T", 1), {6, 5}, want_w, 1e-6, "W'");
  ExpectClose(ConstantInput(*r.after, "U", 1), {5}, want_b, 1e-6, "bias'");
  EXPECT_EQ(r.after->outputs()[0]->producer(), FindNode(*r.after, "U"));
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldAffine, HandWrittenBatchNormFoldsLikeABatchNorm) {
  // (x - mean) / sqrt(var + eps) * gamma + beta, the constants in NCHW-broadcast shapes.
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,5,5] X) => (float Y) {\n"
              "  T = Conv <pads = [1, 1, 1, 1]> (X, W, B)\n"
              "  VE = Add (Var, Eps)\n  SD = Sqrt (VE)\n"
              "  C = Sub (T, Mean)\n  D = Div (C, SD)\n  E = Mul (D, Gamma)\n  Y = Add (E, Beta)\n}\n";
  spec.inits = {{"W", {4, 3, 3, 3}}, {"B", {4}},           {"Mean", {1, 4, 1, 1}},
                {"Var", {4, 1, 1}, 0.5, 2.0},           {"Eps", {}, 0.001, 0.001001},
                {"Gamma", {4, 1, 1}, 0.5, 1.5},         {"Beta", {1, 4, 1, 1}}};
  FoldResult r = Fold(spec, {"fold-constants", "fold-affine", "cleanup"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  EXPECT_EQ(CountOps(*r.after, "Conv"), 1);
  const RefTensor w = Constant(*r.before, "W"), b = Constant(*r.before, "B");
  const RefTensor mean = Constant(*r.before, "Mean"), var = Constant(*r.before, "Var");
  const RefTensor gamma = Constant(*r.before, "Gamma"), beta = Constant(*r.before, "Beta");
  const double eps = Constant(*r.before, "Eps").values[0];
  std::vector<double> want_w(w.values.size()), want_b(4);
  for (int m = 0; m < 4; ++m) {
    // Div folds as a multiplication by 1 / float(sqrt(var + eps)).
    const double sd = static_cast<float>(std::sqrt(var.values[m] + eps));
    const double s = gamma.values[m] / sd;
    for (int i = 0; i < 27; ++i) want_w[m * 27 + i] = w.values[m * 27 + i] * s;
    want_b[m] = (b.values[m] - mean.values[m]) * s + beta.values[m];
  }
  ExpectClose(ConstantInput(*r.after, "T", 1), {4, 3, 3, 3}, want_w, 1e-6, "W'");
  ExpectClose(ConstantInput(*r.after, "T", 2), {4}, want_b, 1e-6, "b'");
  for (const char* gone : {"Var", "Eps", "Mean", "Gamma", "Beta", "W", "B"}) {
    EXPECT_EQ(r.after->FindValue(gone), nullptr) << gone;
  }
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldAffine, AddAfterBiaslessConvBecomesItsBias) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[1,2,4,4,4] X) => (float Y) {\n"
              "  T = Conv <group = 2> (X, W)\n  Y = Add (K, T)\n}\n";
  spec.inits = {{"W", {4, 1, 2, 2, 2}}, {"K", {4, 1, 1, 1}}};
  FoldResult r = Fold(spec, {"fold-affine"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  const RefTensor k = Constant(*r.before, "K");
  ExpectClose(ConstantInput(*r.after, "T", 2), {4}, k.values, 1e-7, "b'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldAffine, GemmWithAlphaBetaAndBothSubtractionOrders) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[3,5] A) => (float Y) {\n"
              "  T = Gemm <transB = 1, alpha = 0.5, beta = 2.0> (A, B, C)\n"
              "  U = Mul (T, K1)\n  V = Sub (U, K2)\n  Y = Sub (K3, V)\n}\n";
  spec.inits = {{"B", {4, 5}}, {"C", {4}}, {"K1", {1, 4}}, {"K2", {4}}, {"K3", {}}};
  FoldResult r = Fold(spec, {"fold-affine"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  const ir::Node* gemm = FindNode(*r.after, "T");
  EXPECT_FLOAT_EQ(gemm->GetFloat("alpha", 1.0f).value(), 0.5f);
  EXPECT_FLOAT_EQ(gemm->GetFloat("beta", 1.0f).value(), 1.0f);
  // y = k3 - (gemm * k1 - k2): scale -k1, C' = -(2 C k1 - k2) + k3.
  const RefTensor b = Constant(*r.before, "B"), c = Constant(*r.before, "C");
  const RefTensor k1 = Constant(*r.before, "K1"), k2 = Constant(*r.before, "K2");
  const double k3 = Constant(*r.before, "K3").values[0];
  std::vector<double> want_b(20), want_c(4);
  for (int i = 0; i < 20; ++i) want_b[i] = -b.values[i] * k1.values[i / 5];
  for (int n = 0; n < 4; ++n) want_c[n] = k3 - (2.0 * c.values[n] * k1.values[n] - k2.values[n]);
  ExpectClose(ConstantInput(*r.after, "T", 1), {4, 5}, want_b, 1e-6, "B'");
  ExpectClose(ConstantInput(*r.after, "T", 2), {4}, want_c, 1e-6, "C'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldAffine, ConvTransposeScaledPerGroupChannel) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,4,3,3] X) => (float Y) {\n"
              "  T = ConvTranspose <group = 2, strides = [2, 2]> (X, W, B)\n"
              "  U = Mul (T, K)\n  Y = Div (U, D)\n}\n";
  spec.inits = {{"W", {4, 3, 2, 2}}, {"B", {6}}, {"K", {1, 6, 1, 1}}, {"D", {1}, 2.0, 3.0}};
  FoldResult r = Fold(spec, {"fold-affine"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldAffine, PerColumnScaleAfterABatchedMatMul) {
  // [B, T, K] x [K, N]: the columns are the last axis whatever the rank.
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,6] A) => (float Y) {\n"
              "  T = MatMul (A, W)\n  U = Mul (T, G)\n  Y = Add (U, H)\n}\n";
  spec.inits = {{"W", {6, 4}}, {"G", {1, 1, 4}}, {"H", {4}}};
  FoldResult r = Fold(spec, {"fold-affine"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Mul"), 0);
  EXPECT_EQ(CountOps(*r.after, "Add"), 1);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldAffine, AddRightAfterABareMatMulIsItsBiasAndStays) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[3,5] A) => (float Y) {\n"
              "  T = MatMul (A, W)\n  Y = Add (T, K)\n}\n";
  spec.inits = {{"W", {5, 4}}, {"K", {4}}};
  FoldResult r = Fold(spec, {"fold-affine"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_EQ(r.report.passes[0].rewrites, 0);
}

// ---------------------------------------------------------------- preconditions

ModelSpec ConvThen(const std::string& op_line, std::vector<Init> extra, int opset = 13,
                   const std::string& outputs = "float Y") {
  ModelSpec spec;
  spec.text = Header(8, opset) + "g (float[2,3,4,4] X) => (" + outputs + ") {\n"
              "  T = Conv (X, W, B)\n" + op_line + "}\n";
  spec.inits = {{"W", {4, 3, 3, 3}}, {"B", {4}}};
  for (Init& i : extra) spec.inits.push_back(i);
  return spec;
}

TEST(FoldAffinePreconditions, VectorBroadcastingAlongWidthIsLeft) {
  // Conv output [2,4,2,2]: a [2] constant lines up with W, not with C.
  ExpectLeftWithNote(ConvThen("  Y = Mul (T, K)\n", {{"K", {2}}}), {"fold-affine"},
                     "broadcasts along an axis other than the channel axis");
}

TEST(FoldAffinePreconditions, PerChannelVectorOnTheWrongAxisIsLeft) {
  // [4] matches the channel count but sits on the last axis.
  ModelSpec spec = ConvThen("  Y = Add (T, K)\n", {{"K", {4}}});
  spec.text.replace(spec.text.find("float[2,3,4,4]"), 14, "float[2,3,6,6]");
  ExpectLeftWithNote(spec, {"fold-affine"}, "broadcasts along an axis other than the channel axis");
}

TEST(FoldAffinePreconditions, ConstantThatWidensTheOutputIsLeft) {
  ExpectLeftWithNote(ConvThen("  Y = Mul (T, K)\n", {{"K", {1, 1, 4, 1, 1}}}), {"fold-affine"},
                     "has more dimensions than the data");
}

TEST(FoldAffinePreconditions, DivisionByZeroIsLeft) {
  ExpectLeftWithNote(ConvThen("  Y = Div (T, K)\n", {{"K", {4, 1, 1}, 0.0, 0.0}}), {"fold-affine"},
                     "divides channel 0 by zero");
}

TEST(FoldAffinePreconditions, DivisionOfAConstantByTheTensorIsLeft) {
  ExpectLeftWithNote(ConvThen("  Y = Div (K, T)\n", {{"K", {4, 1, 1}, 1.0, 2.0}}), {"fold-affine"},
                     "divides a constant by a tensor");
}

TEST(FoldAffinePreconditions, OverridableConstantIsLeft) {
  ModelSpec spec = ConvThen("  Y = Mul (T, K)\n", {{"K", {4, 1, 1}}});
  spec.text.replace(spec.text.find(" X)"), 3, " X, float[4,1,1] K)");
  ExpectLeftWithNote(spec, {"fold-affine"}, "may override it at run time");
}

TEST(FoldAffinePreconditions, ConvOutputReadTwiceIsLeft) {
  ExpectLeftWithNote(ConvThen("  Y = Mul (T, K)\n  Z = Relu (T)\n", {{"K", {4, 1, 1}}}, 13,
                              "float Y, float Z"),
                     {"fold-affine"}, "'T' has 2 uses");
}

TEST(FoldAffinePreconditions, ConvOutputThatIsAGraphOutputIsLeft) {
  ExpectLeftWithNote(ConvThen("  Y = Mul (T, K)\n", {{"K", {4, 1, 1}}}, 13,
                              "float Y, float[a,b,c,d] T"),
                     {"fold-affine"}, "'T' is a graph output");
}

TEST(FoldAffinePreconditions, LegacyBroadcastOpsetIsLeft) {
  ModelSpec spec = ConvThen("  Y = Mul <broadcast = 1, axis = 1> (T, K)\n", {{"K", {4}}}, 6,
                            "float[a,b,c,d] Y");
  ExpectLeftWithNote(spec, {"fold-affine"}, "legacy broadcast attributes of opset 6");
}

TEST(FoldAffinePreconditions, Float16OverflowIsLeft) {
  ModelSpec spec = ConvThen("  Y = Mul (T, K)\n", {{"K", {4, 1, 1}, 1e4, 2e4, DataType::kFloat16}},
                            13, "float16 Y");
  spec.text.replace(spec.text.find("float[2,3,4,4]"), 5, "float16");
  spec.inits[0].dtype = spec.inits[1].dtype = DataType::kFloat16;
  spec.inits[0].lo = 10.0;
  spec.inits[0].hi = 20.0;
  ExpectLeftWithNote(spec, {"fold-affine"}, "non-finite value");
}

}  // namespace
}  // namespace bnfold::passes::testing
