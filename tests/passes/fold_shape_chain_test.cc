// BatchNormalization folded through shape-only ops (passes/fold/shape_chain.h):
// MatMul/Gemm -> Reshape/Flatten/Transpose -> BN (fold-batchnorm) and BN ->
// Flatten/Reshape/Transpose -> Gemm/MatMul (fold-batchnorm-forward). Each
// positive case is checked against the double reference evaluator (the
// graph before versus after); each precondition has a graph that violates it,
// is left exactly as it was, and whose BN decision names the reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

const std::vector<std::string> kBackward = {"fold-batchnorm"};
const std::vector<std::string> kForward = {"fold-batchnorm-forward"};

std::string ShapeConstant(const std::string& name, const std::vector<int64_t>& values) {
  std::string text = "  " + name + " = Constant <value = int64[" + std::to_string(values.size()) +
                     "] {";
  for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "}> ()\n";
}

struct ChainCase {
  std::string name;
  std::string text;         // the graph
  std::vector<Init> inits;  // besides the BN's
  int64_t channels;         // of the BN
  std::vector<std::string> passes;
};

std::ostream& operator<<(std::ostream& os, const ChainCase& c) { return os << c.name; }

ModelSpec Spec(const ChainCase& c) {
  ModelSpec spec;
  spec.text = c.text;
  spec.inits = BatchNormInits("bn", c.channels);
  spec.inits.insert(spec.inits.end(), c.inits.begin(), c.inits.end());
  return spec;
}

class FoldThroughChainTest : public ::testing::TestWithParam<ChainCase> {};

TEST_P(FoldThroughChainTest, FoldsAndComputesTheSameOutputs) {
  const ChainCase& c = GetParam();
  FoldResult r = Fold(Spec(c), c.passes);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0) << BatchNormOutcome(r.report, "Y");
  // Random inputs (unknown dims = 2), both graphs in double.
  // The folded weights are float32: one rounding each.
  EXPECT_LE(CompareGraphs(*r.before, *r.after), 1e-6);
  EXPECT_LE(CompareGraphs(*r.before, *r.after, 99), 1e-6);
}

const std::string kMatMulHead = Header(8, 15);

INSTANTIATE_TEST_SUITE_P(
    Shapes, FoldThroughChainTest,
    ::testing::Values(
        // ONNX Runtime's MatMul + BN fusion shape: MatMul -> Reshape -> BN.
        ChainCase{"MatMulReshapeTo4d",
                  kMatMulHead + "g (float[batch,32] X) => (float[batch,64,1,1] Y) {\n" +
                      ShapeConstant("shp", {-1, 64, 1, 1}) +
                      "  M = MatMul (X, W)\n  R = Reshape (M, shp)\n" +
                      BatchNormLine("R", "Y", 15) + "}\n",
                  {{"W", {32, 64}}}, 64, kBackward},
        // The batch merges with a fixed axis: each item is 4 rows of 64.
        ChainCase{"MatMulRank3ReshapeMergesTheBatch",
                  kMatMulHead + "g (float[batch,4,32] X) => (float Y) {\n" +
                      ShapeConstant("shp", {-1, 64}) +
                      "  M = MatMul (X, W)\n  R = Reshape (M, shp)\n" +
                      BatchNormLine("R", "Y", 15) + "}\n",
                  {{"W", {32, 64}}}, 64, kBackward},
        // Column n lands on channel n / 4: the BN's map repeats per column.
        ChainCase{"MatMulBiasReshapeSplitsColumns",
                  kMatMulHead + "g (float[batch,32] X) => (float Y) {\n" +
                      ShapeConstant("shp", {0, 16, 4}) +
                      "  M = MatMul (X, W)\n  A = Add (M, bias)\n  R = Reshape (A, shp)\n" +
                      BatchNormLine("R", "Y", 15) + "}\n",
                  {{"W", {32, 64}}, {"bias", {64}}}, 16, kBackward},
        // [B, 8, 64] -> [B, 64, 8]: the bias Add goes before the Transpose.
        ChainCase{"MatMulTransposeToChannelsFirst",
                  kMatMulHead + "g (float[batch,8,32] X) => (float Y) {\n"
                                "  M = MatMul (X, W)\n"
                                "  T = Transpose <perm = [0, 2, 1]> (M)\n" +
                      BatchNormLine("T", "Y", 15) + "}\n",
                  {{"W", {32, 64}}}, 64, kBackward},
        ChainCase{"GemmReshapeTransposeReshape",
                  kMatMulHead + "g (float[batch,32] X) => (float Y) {\n" +
                      ShapeConstant("s1", {0, 4, 12}) + ShapeConstant("s2", {0, 12, 2, 2}) +
                      "  G = Gemm <transB = 1> (X, W, C)\n  R1 = Reshape (G, s1)\n"
                      "  T = Transpose <perm = [0, 2, 1]> (R1)\n  R2 = Reshape (T, s2)\n" +
                      BatchNormLine("R2", "Y", 15) + "}\n",
                  {{"W", {48, 32}}, {"C", {48}}}, 12, kBackward},
        // The MNIST export's tail: ReLU -> BN -> Flatten -> Linear.
        ChainCase{"BatchNormFlattenGemm",
                  kMatMulHead + "g (float[batch,8,3,3] X) => (float Y) {\n"
                                "  U = Relu (X)\n" +
                      BatchNormLine("U", "N", 15) +
                      "  F = Flatten (N)\n  Y = Gemm <transB = 1> (F, W, C)\n}\n",
                  {{"W", {10, 72}}, {"C", {10}}}, 8, kForward},
        ChainCase{"BatchNormReshapeMatMul",
                  kMatMulHead + "g (float[batch,8,2,3] X) => (float Y) {\n" +
                      ShapeConstant("shp", {-1, 48}) + "  U = Relu (X)\n" +
                      BatchNormLine("U", "N", 15) + "  F = Reshape (N, shp)\n"
                                                   "  Y = MatMul (F, W)\n}\n",
                  {{"W", {48, 5}}}, 8, kForward},
        // Channels last before a MatMul: [B, 8, 6] -> [B, 6, 8] @ [8, 5].
        ChainCase{"BatchNormTransposeMatMul",
                  kMatMulHead + "g (float[batch,8,6] X) => (float Y) {\n"
                                "  U = Relu (X)\n" +
                      BatchNormLine("U", "N", 15) +
                      "  T = Transpose <perm = [0, 2, 1]> (N)\n  Y = MatMul (T, W)\n}\n",
                  {{"W", {8, 5}}}, 8, kForward}),
    [](const ::testing::TestParamInfo<ChainCase>& info) { return info.param.name; });

// ---------------------------------------------------------------- preconditions

void ExpectLeftWithReason(const ChainCase& c, const std::string& bn, const std::string& reason) {
  FoldResult r = Fold(Spec(c), c.passes);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  const std::string outcome = BatchNormOutcome(r.report, bn);
  EXPECT_NE(outcome.find(reason), std::string::npos) << "decision: " << outcome;
}

// fold-batchnorm 7: the chain must start at a linear op.
TEST(FoldThroughChainPreconditions, ChainFromANonLinearOpIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,64] X) => (float Y) {\n" +
               ShapeConstant("shp", {0, 64, 1}) + "  M = Relu (X)\n  R = Reshape (M, shp)\n" +
               BatchNormLine("R", "Y", 15) + "}\n",
       {}, 64, kBackward},
      "Y", "'M' comes from Relu");
}

// fold-batchnorm 8: a value on the way with another reader.
TEST(FoldThroughChainPreconditions, ChainValueWithAnotherReaderIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,32] X) => (float Y, float M) {\n" +
               ShapeConstant("shp", {0, 64, 1}) + "  M = MatMul (X, W)\n  R = Reshape (M, shp)\n" +
               BatchNormLine("R", "Y", 15) + "}\n",
       {{"W", {32, 64}}}, 64, kBackward},
      "Y", "graph output");
}

// fold-batchnorm 9: column n reaches two channels ([B,4,8] -> [B,8,4]).
TEST(FoldThroughChainPreconditions, ReshapeThatMixesColumnsAndRowsIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,4,16] X) => (float Y) {\n" +
               ShapeConstant("shp", {0, 8, 4}) + "  M = MatMul (X, W)\n  R = Reshape (M, shp)\n" +
               BatchNormLine("R", "Y", 15) + "}\n",
       {{"W", {16, 8}}}, 8, kBackward},
      "Y", "no per-channel map");
}

// fold-batchnorm 9: a symbolic dim other than the batch.
TEST(FoldThroughChainPreconditions, SymbolicInnerDimIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,time,32] X) => (float Y) {\n"
                         "  M = MatMul (X, W)\n  T = Transpose <perm = [0, 2, 1]> (M)\n" +
               BatchNormLine("T", "Y", 15) + "}\n",
       {{"W", {32, 8}}}, 8, kBackward},
      "Y", "is not fixed");
}

// fold-batchnorm 9: the batch axis moved inward by a Transpose.
TEST(FoldThroughChainPreconditions, TransposeOfTheBatchAxisIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,8] X) => (float Y) {\n" +
               ShapeConstant("shp", {1, 8, -1}) +
               "  M = MatMul (X, W)\n  T = Transpose <perm = [1, 0]> (M)\n"
               "  R = Reshape (T, shp)\n" +
               BatchNormLine("R", "Y", 15) + "}\n",
       {{"W", {8, 8}}}, 8, kBackward},
      "Y", "moves the unknown axis 0");
}

// fold-batchnorm 9: a Reshape whose rows do not tile a batch item.
TEST(FoldThroughChainPreconditions, ReshapeAcrossBatchItemsIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,6] X) => (float Y) {\n" +
               ShapeConstant("shp", {-1, 4, 1}) + "  M = MatMul (X, W)\n  R = Reshape (M, shp)\n" +
               BatchNormLine("R", "Y", 15) + "}\n",
       {{"W", {6, 6}}}, 4, kBackward},
      "Y", "do not tile a batch item");
}

// fold-batchnorm 9: the shape of a Reshape computed at run time.
TEST(FoldThroughChainPreconditions, RunTimeReshapeTargetIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,32] X, int64[3] shp) => (float[batch,8,1] Y) {\n"
                         "  M = MatMul (X, W)\n  R = Reshape (M, shp)\n" +
               BatchNormLine("R", "Y", 15) + "}\n",
       {{"W", {32, 8}}}, 8, kBackward},
      "Y", "computed at run time");
}

// fold-batchnorm-forward 2: a chain output with a second reader.
TEST(FoldThroughChainPreconditions, ForwardChainOutputWithAnotherReaderIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,8,3,3] X) => (float Y, float F) {\n"
                         "  U = Relu (X)\n" +
               BatchNormLine("U", "N", 15) +
               "  F = Flatten (N)\n  Y = Gemm <transB = 1> (F, W, C)\n}\n",
       {{"W", {10, 72}}, {"C", {10}}}, 8, kForward},
      "N", "graph output");
}

// fold-batchnorm-forward 4: the chain ends at an op that is not linear.
TEST(FoldThroughChainPreconditions, ForwardChainToANonLinearOpIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,8,3,3] X) => (float Y) {\n"
                         "  U = Relu (X)\n" +
               BatchNormLine("U", "N", 15) + "  F = Flatten (N)\n  Y = Relu (F)\n}\n",
       {}, 8, kForward},
      "N", "feeds Flatten");
}

// fold-batchnorm-forward 5: a consumer channel fed by two BN channels.
TEST(FoldThroughChainPreconditions, ForwardReshapeThatMixesChannelsIsLeft) {
  ExpectLeftWithReason(
      {"", kMatMulHead + "g (float[batch,4,3] X) => (float Y) {\n" +
               ShapeConstant("shp", {0, 3, 4}) + "  U = Relu (X)\n" +
               BatchNormLine("U", "N", 15) + "  F = Reshape (N, shp)\n  Y = MatMul (F, W)\n}\n",
       {{"W", {4, 5}}}, 4, kForward},
      "N", "no per-channel map");
}

}  // namespace
}  // namespace bnfold::passes::testing
