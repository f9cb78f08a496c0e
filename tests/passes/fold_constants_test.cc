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

TEST(FoldConstantsPreconditions, IntegerArithmeticIsLeftToTheBackend) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (int64[4] X) => (int64 Y) {\n"
              "  S = Add (P, Q)\n  Y = Mul (X, S)\n}\n";
  spec.inits = {{"P", {4}, 0, 5, DataType::kInt64}, {"Q", {4}, 0, 5, DataType::kInt64}};
  ExpectKept(spec, "not floating point");
}

TEST(FoldConstantsPreconditions, HugeBroadcastIsKept) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[4096,4097] X) => (float Y) {\n"
              "  S = Add (P, Q)\n  Y = Mul (X, S)\n}\n";
  spec.inits = {{"P", {4096, 1}}, {"Q", {1, 4097}}};
  ExpectKept(spec, "too large to fold");
}

TEST(FoldConstantsPreconditions, LegacyBroadcastOpsetIsKept) {
  ModelSpec spec;
  spec.text = Header(8, 6) + "g (float[4] X) => (float[4] Y) {\n"
              "  S = Add (P, Q)\n  Y = Mul (X, S)\n}\n";
  spec.inits = {{"P", {4}}, {"Q", {4}}};
  ExpectKept(spec, "broadcasts by attributes");
}

}  // namespace
}  // namespace bnfold::passes::testing
