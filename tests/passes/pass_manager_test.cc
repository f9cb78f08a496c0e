// The default pipeline end to end: pass order, and the patterns that need
// more than one pass (Identity between Conv and BN, Conv -> Add -> BN,
// Conv -> BN -> Mul, BN after an activation).
#include <gtest/gtest.h>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

TEST(PassManager, DefaultPipelineOrderAndRegisteredPasses) {
  EXPECT_EQ(DefaultPipeline(),
            (std::vector<std::string>{"cleanup", "fold-constants", "cancel-transposes",
                                      "fold-affine", "fold-batchnorm", "fold-affine",
                                      "fold-batchnorm-forward", "cleanup"}));
  EXPECT_EQ(PassManager::AvailablePasses(),
            (std::vector<std::string>{"cleanup", "fold-constants", "cancel-transposes",
                                      "fold-affine", "fold-batchnorm", "fold-batchnorm-forward"}));
  PassOptions options;
  options.evaluator = MakeReferenceConstantEvaluator();
  for (const std::string& name : PassManager::AvailablePasses()) {
    std::shared_ptr<const Pass> pass = MakePass(name, options);
    ASSERT_NE(pass, nullptr) << name;
    EXPECT_EQ(pass->name(), name);
  }
}

TEST(PassManager, UnknownPassNamesTheKnownOnes) {
  StatusOr<PassManager> manager = PassManager::Create({"fold-batchnorm", "fold-everything"});
  ASSERT_FALSE(manager.ok());
  EXPECT_NE(manager.status().message().find("unknown pass 'fold-everything'"), std::string::npos);
  EXPECT_NE(manager.status().message().find("fold-batchnorm-forward"), std::string::npos);
}

TEST(PassManager, FoldConstantsWithoutAnEvaluatorIsRefused) {
  StatusOr<PassManager> manager = PassManager::Create({"cleanup", "fold-constants"});
  ASSERT_FALSE(manager.ok());
  EXPECT_NE(manager.status().message().find("fold-constants needs a constant evaluator"),
            std::string::npos);
  EXPECT_TRUE(PassManager::Create({"cleanup", "fold-batchnorm"}).ok());
}

TEST(PassManager, DefaultPipelineFoldsAResidualNetwork) {
  // Stem conv + BN + Relu + MaxPool; a residual block with BN after each conv;
  // a pre-activation BN (Relu -> BN -> Conv); a Dense head with a Keras-style
  // Mul/Add BN and Dropout.
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,12,12] X) => (float Y) {\n"
              "  C0 = Conv <pads = [1, 1, 1, 1], strides = [2, 2]> (X, W0)\n" +
              BatchNormLine("C0", "B0", 15, "n0") + "  R0 = Relu (B0)\n" +
              "  P0 = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (R0)\n"
              "  C1 = Conv <pads = [1, 1, 1, 1]> (P0, W1)\n" + BatchNormLine("C1", "B1", 15, "n1") +
              "  R1 = Relu (B1)\n"
              "  C2 = Conv <pads = [1, 1, 1, 1], group = 8> (R1, W2, K2)\n" +
              BatchNormLine("C2", "B2", 15, "n2") + "  S = Add (B2, P0)\n  R2 = Relu (S)\n" +
              BatchNormLine("R2", "B3", 15, "n3") +
              "  C3 = Conv (B3, W3)\n  G = GlobalAveragePool (C3)\n"
              "  F = Flatten (G)\n  D = Dropout (F)\n  M = MatMul (D, W4)\n  M1 = Add (M, K4)\n"
              "  M2 = Mul (M1, Gm)\n  Y = Add (M2, Bt)\n}\n";
  for (const auto& [p, c] : std::vector<std::pair<std::string, int64_t>>{
           {"n0", 8}, {"n1", 8}, {"n2", 8}, {"n3", 8}}) {
    for (Init i : BatchNormInits(p, c)) spec.inits.push_back(i);
  }
  spec.inits.push_back({"W0", {8, 3, 3, 3}});
  spec.inits.push_back({"W1", {8, 8, 3, 3}});
  spec.inits.push_back({"W2", {8, 1, 3, 3}});
  spec.inits.push_back({"K2", {8}});
  spec.inits.push_back({"W3", {6, 8, 1, 1}});
  spec.inits.push_back({"W4", {6, 5}});
  spec.inits.push_back({"K4", {5}});
  spec.inits.push_back({"Gm", {5}, 0.5, 1.5});
  spec.inits.push_back({"Bt", {5}});
  FoldResult r = Fold(spec, {});
  ASSERT_TRUE(r.after);
  const ir::Graph* graph = r.after.get();
  const PipelineReport& report = r.report;
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
  EXPECT_EQ(report.batchnorm_before, 4);
  EXPECT_EQ(report.batchnorm_after, 0);
  EXPECT_EQ(CountOps(*graph, "Dropout"), 0);
  EXPECT_EQ(CountOps(*graph, "Mul"), 0);
  EXPECT_EQ(CountOps(*graph, "Add"), 2);  // the residual sum and the Dense bias
  EXPECT_EQ(BatchNormOutcome(report, "B0"), "folded into Conv 'C0'");
  EXPECT_EQ(BatchNormOutcome(report, "B3"), "folded into Conv 'C3'");
  EXPECT_EQ(report.nodes_after, report.nodes_before - 7);  // 4 BN, Dropout, Mul, Add
}

TEST(PassManager, IdentityBetweenConvAndBatchNormIsRemovedFirst) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,6,6] X) => (float Y) {\n"
              "  T = Conv (X, W)\n  I = Identity (T)\n" + BatchNormLine("I", "U", 13) +
              "  D = Dropout (U)\n  Y = Relu (D)\n}\n";
  spec.inits = BatchNormInits("bn", 4);
  spec.inits.push_back({"W", {4, 3, 3, 3}});
  FoldResult r = Fold(spec, {});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 2u);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(PassManager, AddBeforeAndMulAfterTheBatchNormFoldToo) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,6,6] X) => (float Y) {\n"
              "  T = Conv (X, W)\n  A = Add (T, K)\n" + BatchNormLine("A", "U", 13) +
              "  Y = Mul (U, G)\n}\n";
  spec.inits = BatchNormInits("bn", 4);
  spec.inits.push_back({"W", {4, 3, 3, 3}});
  spec.inits.push_back({"K", {4, 1, 1}});
  spec.inits.push_back({"G", {1, 4, 1, 1}});
  FoldResult r = Fold(spec, {});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  EXPECT_EQ(r.after->outputs()[0]->producer()->op_type(), "Conv");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(PassManager, BatchNormAfterReluFoldsIntoTheNextConv) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,6,6] X) => (float Y) {\n"
              "  T = Conv <pads = [1, 1, 1, 1]> (X, W1)\n  R = Relu (T)\n" +
              BatchNormLine("R", "U", 15) + "  Y = Conv (U, W2, B2)\n}\n";
  spec.inits = BatchNormInits("bn", 4);
  spec.inits.push_back({"W1", {4, 3, 3, 3}});
  spec.inits.push_back({"W2", {5, 4, 1, 1}});
  spec.inits.push_back({"B2", {5}});
  FoldResult r = Fold(spec, {});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.report.batchnorm_after, 0);
  // fold-batchnorm said why not; fold-batchnorm-forward then folded it.
  const PassReport& fold_batchnorm = r.report.passes[4];
  ASSERT_EQ(fold_batchnorm.pass, "fold-batchnorm");
  EXPECT_NE(fold_batchnorm.batchnorm.at(0).reason.find("comes from Relu"), std::string::npos);
  EXPECT_EQ(BatchNormOutcome(r.report, "U"), "folded into Conv 'Y'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(PassManager, UnfoldableBatchNormKeepsBothReasons) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,6,6] X) => (float Y) {\n  R = Relu (X)\n" +
              BatchNormLine("R", "U", 15) + "  Y = Relu (U)\n}\n";
  spec.inits = BatchNormInits("bn", 3);
  FoldResult r = Fold(spec, {});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  int decisions = 0;
  for (const PassReport& p : r.report.passes) decisions += static_cast<int>(p.batchnorm.size());
  EXPECT_EQ(decisions, 2);
  EXPECT_EQ(BatchNormOutcome(r.report, "U"), "its output feeds Relu 'Y', not a Conv, "
                                              "ConvTranspose, Gemm or MatMul");
}

}  // namespace
}  // namespace bnfold::passes::testing
