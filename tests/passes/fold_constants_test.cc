// fold-constants: constant arithmetic evaluated in double into initializers.
#include "passes/fold_constants.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

TEST(FoldConstants, SqrtOfVariancePlusEpsilonBecomesOneInitializer) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,4] X) => (float Y) {\n"
              "  VE = Add (Var, Eps)\n  SD = Sqrt (VE)\n  R = Reciprocal (SD)\n  Y = Mul (X, R)\n}\n";
  spec.inits = {{"Var", {4}, 0.5, 2.0}, {"Eps", {}, 1e-3, 2e-3}};
  FoldResult r = Fold(spec, {"fold-constants"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  EXPECT_EQ(r.report.passes[0].rewrites, 3);
  const RefTensor var = Constant(*r.before, "Var");
  const double eps = Constant(*r.before, "Eps").values[0];
  std::vector<double> want(4);
  for (int i = 0; i < 4; ++i) want[i] = 1.0 / std::sqrt(var.values[i] + eps);
  // Kept under the name of the last op's output; the intermediate constants are gone.
  ExpectClose(Constant(*r.after, "R"), {4}, want, 1e-7, "R");
  for (const char* gone : {"Var", "Eps", "VE", "SD"}) EXPECT_EQ(r.after->FindValue(gone), nullptr) << gone;
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-6);
}

TEST(FoldConstants, BroadcastsLikeNumpyAndKeepsTheDtype) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (double[3,4] X) => (double Y) {\n"
              "  P = Pow (A, E)\n  D = Div (P, Bv)\n  S = Sub (D, A)\n  Y = Add (X, S)\n}\n";
  spec.inits = {{"A", {3, 1}, 1.0, 2.0, DataType::kDouble},
                {"E", {}, 2.0, 2.0, DataType::kInt64},
                {"Bv", {1, 4}, 1.0, 3.0, DataType::kDouble}};
  FoldResult r = Fold(spec, {"fold-constants"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  const RefTensor a = Constant(*r.before, "A"), b = Constant(*r.before, "Bv");
  std::vector<double> want;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) want.push_back(a.values[i] * a.values[i] / b.values[j] - a.values[i]);
  }
  ExpectClose(Constant(*r.after, "S"), {3, 4}, want, 1e-15, "S");
  EXPECT_EQ(r.after->FindValue("S")->constant_data()->dtype(), DataType::kDouble);
}

void ExpectKept(const ModelSpec& spec, const std::string& reason) {
  FoldResult r = Fold(spec, {"fold-constants"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_TRUE(HasNote(r.report, reason)) << "no note with: " << reason;
}

TEST(FoldConstantsPreconditions, OverridableInputIsKept) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[4] X, float[4] Var) => (float Y) {\n"
              "  VE = Add (Var, Eps)\n  Y = Mul (X, VE)\n}\n";
  spec.inits = {{"Var", {4}}, {"Eps", {}}};
  ExpectKept(spec, "may override it at run time");
}

TEST(FoldConstantsPreconditions, GraphOutputIsKept) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[4] X) => (float Y, float VE) {\n"
              "  VE = Add (Var, Eps)\n  Y = Mul (X, VE)\n}\n";
  spec.inits = {{"Var", {4}}, {"Eps", {}}};
  ExpectKept(spec, "'VE' is a graph output");
}

TEST(FoldConstantsPreconditions, NodeTheEvaluatorCannotComputeIsKept) {
  // The reference evaluator has no Tanh (the runtime's would evaluate it).
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[4] X) => (float Y) {\n"
              "  T = Tanh (P)\n  Y = Mul (X, T)\n}\n";
  spec.inits = {{"P", {4}}};
  ExpectKept(spec, "op not supported by the reference evaluator");
}

TEST(FoldConstantsPreconditions, RandomGeneratorIsKept) {
  // Constant input, but new values on every run.
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[4] X) => (float Y) {\n"
              "  R = RandomUniformLike (P)\n  Y = Mul (X, R)\n}\n";
  spec.inits = {{"P", {4}}};
  ExpectKept(spec, "draws random values on every run");
}

TEST(FoldConstantsPreconditions, ResultNoFoldNeedsIsKeptOverTheBudget) {
  // 512 x 1024 floats = 2 MiB from 6 KiB of inputs, read by a Mul of a graph
  // input: no fold consumes it.
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[512,1024] X) => (float Y) {\n"
              "  S = Add (P, Q)\n  Y = Mul (X, S)\n}\n";
  spec.inits = {{"P", {512, 1}}, {"Q", {1, 1024}}};
  ExpectKept(spec, "no fold needs, over the 1048576 bytes left of the budget");
  FoldResult kept = Fold(spec, {"fold-constants"});
  EXPECT_EQ(kept.report.passes[0].constants.kept_over_budget, 1);
  EXPECT_EQ(kept.report.passes[0].constants.evaluated, 0);

  PassOptions large;
  large.evaluator = MakeReferenceConstantEvaluator();
  large.fold_large_constants = true;
  FoldResult r = Fold(spec, {"fold-constants"}, &large);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Add"), 0);
  EXPECT_EQ(r.report.passes[0].constants.evaluated, 1);
  EXPECT_EQ(r.report.passes[0].constants.bytes_added, 512 * 1024 * 4 - (512 + 1024) * 4);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-6);
}

TEST(FoldConstants, IntegerArithmeticIsEvaluatedExactly) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (int64[4] X) => (int64 Y) {\n"
              "  S = Add (P, Q)\n  Y = Mul (X, S)\n}\n";
  spec.inits = {{"P", {4}, 0, 5, DataType::kInt64}, {"Q", {4}, 0, 5, DataType::kInt64}};
  FoldResult r = Fold(spec, {"fold-constants"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Add"), 0);
  const RefTensor p = Constant(*r.before, "P"), q = Constant(*r.before, "Q");
  ExpectClose(Constant(*r.after, "S"), {4},
              {p.values[0] + q.values[0], p.values[1] + q.values[1], p.values[2] + q.values[2],
               p.values[3] + q.values[3]},
              0.0, "S");
  EXPECT_EQ(r.after->FindValue("S")->constant_data()->dtype(), DataType::kInt64);
}

// A Conv whose weight is a Transpose of HWIO data and a BN whose parameters
// come from Cast, Reshape and ConstantOfShape(Shape(v)) * v: once evaluated
// they are plain constants and the BN folds.
ModelSpec ComputedParameters() {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,6,6] X) => (float[2,4,4,4] Y) {\n"
              "  W = Transpose <perm = [3, 2, 0, 1]> (Whwio)\n"
              "  T = Conv <kernel_shape = [3, 3]> (X, W)\n"
              "  scale = Cast <to = 1> (scale64)\n"
              "  mean = Reshape (mean4, flat)\n"
              "  vshape = Shape (v)\n"
              "  ones = ConstantOfShape <value = float[1] {1.0}> (vshape)\n"
              "  var = Mul (ones, v)\n"
              "  Y = BatchNormalization (T, scale, bias, mean, var)\n}\n";
  spec.inits = {{"Whwio", {3, 3, 3, 4}},
                {"scale64", {4}, 0.5, 1.5, DataType::kDouble},
                {"bias", {4}},
                {"mean4", {1, 4, 1, 1}},
                {"flat", {1}, -1.0, -1.0, DataType::kInt64},
                {"v", {4}, 0.5, 2.0}};
  return spec;
}

TEST(FoldConstants, ComputedWeightsAndParametersFoldIntoTheirBatchNorm) {
  FoldResult r = Fold(ComputedParameters(), {"fold-constants", "fold-batchnorm", "cleanup"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(r.after->num_nodes(), 1u);  // the Conv
  EXPECT_EQ(r.report.passes[0].constants.evaluated, 6);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-6);
  // Without fold-constants the BN stays, and says why.
  FoldResult kept = Fold(ComputedParameters(), {"fold-batchnorm"});
  EXPECT_EQ(CountOps(*kept.after, "BatchNormalization"), 1);
  ASSERT_EQ(kept.report.passes[0].batchnorm.size(), 1u);
  EXPECT_NE(kept.report.passes[0].batchnorm[0].reason.find("computed at run time"),
            std::string::npos)
      << kept.report.passes[0].batchnorm[0].reason;
}

TEST(FoldConstants, ResultsAFoldNeedsAreFoldedWhateverTheBudget) {
  // A budget of 0: the BN's var (16 bytes from ConstantOfShape) feeds a fold
  // and is evaluated; the same growth read by a Mul of the graph input is not.
  ModelSpec spec = ComputedParameters();
  spec.text.replace(spec.text.find("(float[2,4,4,4] Y)"), 18, "(float[2,4,4,4] Y, float[4] Z)");
  spec.text.replace(spec.text.rfind("}"), 1, "  zshape = Shape (v)\n"
                    "  zeros = ConstantOfShape (zshape)\n  Z = Mul (zeros, Zin)\n}");
  spec.text.replace(spec.text.find("float[2,3,6,6] X"), 16, "float[2,3,6,6] X, float[4] Zin");
  PassOptions tight;
  tight.evaluator = MakeReferenceConstantEvaluator();
  tight.constant_growth_budget = 0;
  FoldResult r = Fold(spec, {"fold-constants", "fold-batchnorm"}, &tight);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(*r.after, "ConstantOfShape"), 1);  // zeros, kept
  EXPECT_EQ(r.report.passes[0].constants.kept_over_budget, 1);
  EXPECT_TRUE(HasNote(r.report, "ConstantOfShape")) << "the kept node is named";
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-6);
}

}  // namespace
}  // namespace bnfold::passes::testing
