// fold-batchnorm's preconditions: for each, a graph that violates it is left
// exactly as it was and the BN's decision names the reason.
#include <gtest/gtest.h>

#include <cmath>

#include "passes/fold_batchnorm.h"
#include "runtime/ir/tensor_util.h"
#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

// Runs fold-batchnorm and expects no change and `reason` in BN `bn`'s decision.
void ExpectLeftWithReason(const ModelSpec& spec, const std::string& bn, const std::string& reason) {
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_EQ(r.report.batchnorm_after, r.report.batchnorm_before);
  EXPECT_EQ(r.report.passes.at(0).rewrites, 0);
  const std::string outcome = BatchNormOutcome(r.report, bn);
  EXPECT_NE(outcome.find(reason), std::string::npos) << "decision: " << outcome;
}

// Conv(X, W[4,3,3,3], B) -> T -> <bn_line>, with the given text header.
ModelSpec ConvThenBatchNorm(const std::string& header, const std::string& inputs,
                            const std::string& outputs, const std::string& body) {
  ModelSpec spec;
  spec.text = header + "g (float[2,3,6,6] X" + inputs + ") => (" + outputs + ") {\n" + body + "}\n";
  spec.inits = BatchNormInits("bn", 4);
  spec.inits.push_back({"W", {4, 3, 3, 3}});
  spec.inits.push_back({"B", {4}});
  return spec;
}

const char kConv[] = "  T = Conv (X, W, B)\n";

TEST(FoldBatchNormPreconditions, TrainingModeIsLeft) {
  ExpectLeftWithReason(
      ConvThenBatchNorm(Header(8, 15), "", "float[a,b,c,d] Y, float[4] RM, float[4] RV",
                        std::string(kConv) +
                            "  Y, RM, RV = BatchNormalization <training_mode = 1> "
                            "(T, bn_scale, bn_bias, bn_mean, bn_var)\n"),
      "Y", "training_mode = 1");
}

TEST(FoldBatchNormPreconditions, Opset6IsTestZeroIsTrainingMode) {
  ExpectLeftWithReason(
      ConvThenBatchNorm(Header(8, 6), "", "float[a,b,c,d] Y",
                        std::string(kConv) +
                            "  Y = BatchNormalization <is_test = 0> (T, bn_scale, bn_bias, "
                            "bn_mean, bn_var)\n"),
      "Y", "is_test = 0");
}

TEST(FoldBatchNormPreconditions, Opset9OptionalOutputsSelectTrainingMode) {
  ExpectLeftWithReason(
      ConvThenBatchNorm(Header(8, 9), "", "float[a,b,c,d] Y",
                        std::string(kConv) +
                            "  Y, M, V, SM, SV = BatchNormalization (T, bn_scale, bn_bias, "
                            "bn_mean, bn_var)\n"),
      "Y", "selects training mode");
}

TEST(FoldBatchNormPreconditions, SecondOutputReadIsLeft) {
  ExpectLeftWithReason(
      ConvThenBatchNorm(Header(8, 6), "", "float[a,b,c,d] Y, float[4] M",
                        std::string(kConv) +
                            "  Y, M, V, SM, SV = BatchNormalization <is_test = 1> (T, bn_scale, "
                            "bn_bias, bn_mean, bn_var)\n"),
      "Y", "its output 'M' is used");
}

TEST(FoldBatchNormPreconditions, ScaleComputedAtRunTimeIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(
      Header(8, 15), ", float[4] S", "float[a,b,c,d] Y",
      std::string(kConv) + "  Y = BatchNormalization (T, S, bn_bias, bn_mean, bn_var)\n");
  ExpectLeftWithReason(spec, "Y", "scale 'S' is computed at run time");
}

TEST(FoldBatchNormPreconditions, OverridableVarianceIsLeft) {
  // IR >= 4: an initializer also listed as a graph input may be fed at run time.
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), ", float[4] bn_var", "float[a,b,c,d] Y",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15));
  ExpectLeftWithReason(spec, "Y", "var 'bn_var' is an initializer that is also a graph input");
}

TEST(FoldBatchNormPreconditions, Ir3InitializersListedAsInputsStillFold) {
  // Before IR 4 every initializer is a graph input and none can be overridden.
  ModelSpec spec = ConvThenBatchNorm(
      Header(3, 7),
      ", float[4,3,3,3] W, float[4] B, float[4] bn_scale, float[4] bn_bias, float[4] bn_mean, "
      "float[4] bn_var",
      "float[a,b,c,d] Y", std::string(kConv) + BatchNormLine("T", "Y", 7));
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(BatchNormOutcome(r.report, "Y"), "folded into Conv 'T'");
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldBatchNormPreconditions, OverridableConvWeightIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), ", float[4,3,3,3] W", "float[a,b,c,d] Y",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15));
  ExpectLeftWithReason(spec, "Y", "weight 'W' is an initializer that is also a graph input");
}

TEST(FoldBatchNormPreconditions, ConvWeightComputedAtRunTimeIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), ", float[4,3,3,3] V", "float[a,b,c,d] Y",
                                     "  T = Conv (X, V, B)\n" + BatchNormLine("T", "Y", 15));
  ExpectLeftWithReason(spec, "Y", "weight 'V' is computed at run time");
}

TEST(FoldBatchNormPreconditions, OverridableConvBiasIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), ", float[4] B", "float[a,b,c,d] Y",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15));
  ExpectLeftWithReason(spec, "Y", "bias 'B' is an initializer that is also a graph input");
}

TEST(FoldBatchNormPreconditions, ProducerWithTwoReadersIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), "", "float[a,b,c,d] Y, float[a,b,c,d] Z",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15) +
                                         "  Z = Relu (T)\n");
  ExpectLeftWithReason(spec, "Y", "'T' has 2 uses");
}

TEST(FoldBatchNormPreconditions, ProducerOutputThatIsAGraphOutputIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), "", "float[a,b,c,d] Y, float[a,b,c,d] T",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15));
  ExpectLeftWithReason(spec, "Y", "'T' is a graph output");
}

TEST(FoldBatchNormPreconditions, NonLinearProducerIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), "", "float[a,b,c,d] Y",
                                     std::string(kConv) + "  R = Relu (T)\n" +
                                         BatchNormLine("R", "Y", 15));
  ExpectLeftWithReason(spec, "Y", "'R' comes from Relu 'R'");
}

TEST(FoldBatchNormPreconditions, GraphInputIsLeft) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,4,3,3] X) => (float Y) {\n" + BatchNormLine("X", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", 4);
  ExpectLeftWithReason(spec, "Y", "'X' is a graph input or a constant");
}

TEST(FoldBatchNormPreconditions, NonPositiveVarianceIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), "", "float[a,b,c,d] Y",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15));
  spec.inits[3].lo = -2.0;  // bn_var
  spec.inits[3].hi = -1.0;
  ExpectLeftWithReason(spec, "Y", "var + epsilon is not positive for channel 0");
}

TEST(FoldBatchNormPreconditions, SpatialZeroWithPerActivationStatisticsIsLeft) {
  ModelSpec spec;
  spec.text = Header(8, 7) + "g (float[2,3,4,4] X) => (float Y) {\n"
              "  T = Conv <pads = [1, 1, 1, 1]> (X, W)\n"
              "  Y = BatchNormalization <spatial = 0> (T, s, b, m, v)\n}\n";
  spec.inits = {{"W", {2, 3, 3, 3}}, {"s", {2, 4, 4}}, {"b", {2, 4, 4}},
                {"m", {2, 4, 4}},    {"v", {2, 4, 4}, 0.5, 1.0}};
  ExpectLeftWithReason(spec, "Y", "spatial = 0 with per-activation statistics of shape [2,4,4]");
}

TEST(FoldBatchNormPreconditions, SpatialZeroOnAMatrixIsPerChannelAndFolds) {
  ModelSpec spec;
  spec.text = Header(8, 7) + "g (float[3,5] A) => (float Y) {\n"
              "  T = Gemm (A, W, C)\n"
              "  Y = BatchNormalization <spatial = 0> (T, bn_scale, bn_bias, bn_mean, bn_var)\n}\n";
  spec.inits = BatchNormInits("bn", 4);
  spec.inits.push_back({"W", {5, 4}});
  spec.inits.push_back({"C", {4}});
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

TEST(FoldBatchNormPreconditions, MatMulWithRank3OutputIsLeft) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,5] A) => (float Y) {\n"
              "  T = MatMul (A, W)\n" + BatchNormLine("T", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", 3);
  spec.inits.push_back({"W", {5, 3}});
  ExpectLeftWithReason(spec, "Y", "normalizes axis 1 but MatMul 'T' has its output channels on axis 2");
}

TEST(FoldBatchNormPreconditions, MatMulWhoseOutputIsAlsoReadIsLeft) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[3,5] A) => (float Y, float Z) {\n"
              "  T0 = MatMul (A, W)\n  T = Add (T0, Bias)\n  Z = Relu (T0)\n" +
              BatchNormLine("T", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", 4);
  spec.inits.push_back({"W", {5, 4}});
  spec.inits.push_back({"Bias", {4}});
  ExpectLeftWithReason(spec, "Y", "MatMul bias Add 'T': 'T0' has 2 uses");
}

TEST(FoldBatchNormPreconditions, ChannelCountMismatchIsLeft) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[3,5] A) => (float[p,q] Y) {\n"
              "  T = MatMul (A, W)\n" + BatchNormLine("T", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", 5);
  spec.inits.push_back({"W", {5, 4}});
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after) << "the model must load: the mismatch is the fold's to refuse";
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_NE(BatchNormOutcome(r.report, "Y").find("channels"), std::string::npos)
      << BatchNormOutcome(r.report, "Y");
}

TEST(FoldBatchNormPreconditions, ChannelCountOfConvMismatchIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), "", "float[a,b,c,d] Y",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15));
  spec.inits = BatchNormInits("bn", 5);
  spec.inits.push_back({"W", {4, 3, 3, 3}});
  spec.inits.push_back({"B", {4}});
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after) << "the model must load: the mismatch is the fold's to refuse";
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_NE(BatchNormOutcome(r.report, "Y").find("channels"), std::string::npos)
      << BatchNormOutcome(r.report, "Y");
}

TEST(FoldBatchNormPreconditions, Float16OverflowIsLeft) {
  ModelSpec spec = ConvThenBatchNorm(Header(8, 15), "", "float16[a,b,c,d] Y",
                                     std::string(kConv) + BatchNormLine("T", "Y", 15));
  spec.text.replace(spec.text.find("float[2,3,6,6]"), 5, "float16");
  for (Init& init : spec.inits) init.dtype = DataType::kFloat16;
  spec.inits[0].lo = 100.0;  // gamma large, var small: W * s overflows 65504
  spec.inits[0].hi = 200.0;
  spec.inits[3].lo = 0.01;
  spec.inits[3].hi = 0.02;
  spec.inits[4].lo = 30000.0;  // W
  spec.inits[4].hi = 60000.0;
  ExpectLeftWithReason(spec, "Y", "non-finite value");
}

TEST(FoldBatchNormPreconditions, MixedParameterTypesFoldIntoTheWeightType) {
  // BN-15: X float16 (T), scale/B float (T1), mean/var double (T2).
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float16[2,3,4,4] X) => (float16 Y) {\n" + kConv +
              BatchNormLine("T", "Y", 15) + "}\n";
  spec.inits = BatchNormInits("bn", 4);
  spec.inits[2].dtype = spec.inits[3].dtype = DataType::kDouble;
  spec.inits.push_back({"W", {4, 3, 3, 3}, -1.0, 1.0, DataType::kFloat16});
  spec.inits.push_back({"B", {4}, -1.0, 1.0, DataType::kFloat16});
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  EXPECT_EQ(FindNode(*r.after, "T")->input(1)->constant_data()->dtype(), DataType::kFloat16);
  EXPECT_EQ(FindNode(*r.after, "T")->input(2)->constant_data()->dtype(), DataType::kFloat16);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-2);
}

// A float16 weight is folded in double and rounded once: W = 1 and
// s = 1 + 2^-11 + 2^-40 (a double BN scale, var 1, epsilon 0) give
// 1 + 2^-10; rounding via float (the tie 1 + 2^-11, then to even) gives 1.
TEST(FoldBatchNormPreconditions, Float16WeightsAreRoundedOnceFromDouble) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float16[2,3,4,4] X) => (float16 Y) {\n" + kConv +
              "  Y = BatchNormalization <epsilon = 0.0> (T, bn_scale, bn_bias, bn_mean, "
              "bn_var)\n}\n";
  const double s = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  spec.inits = {{"bn_scale", {4}, s, s, DataType::kDouble},
                {"bn_bias", {4}, 0.0, 0.0, DataType::kDouble},
                {"bn_mean", {4}, 0.0, 0.0, DataType::kDouble},
                {"bn_var", {4}, 1.0, 1.0, DataType::kDouble},
                {"W", {4, 3, 3, 3}, 1.0, 1.0, DataType::kFloat16},
                {"B", {4}, 1.0, 1.0, DataType::kFloat16}};
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  ASSERT_EQ(CountOps(*r.after, "BatchNormalization"), 0);
  const _Float16 once = static_cast<_Float16>(s);  // GCC: double -> half, one rounding
  ASSERT_EQ(static_cast<double>(once), 1.0 + std::ldexp(1.0, -10));
  for (int input : {1, 2}) {
    const Tensor& folded = *FindNode(*r.after, "T")->input(input)->constant_data();
    ASSERT_EQ(folded.dtype(), DataType::kFloat16);
    for (int64_t i = 0; i < folded.num_elements(); ++i) {
      ASSERT_EQ(folded.GetAsDouble(i), static_cast<double>(once)) << "input " << input << " " << i;
    }
  }
}

// Built with the IR API: the ONNX checker would refuse an integer BN.
TEST(FoldBatchNormPreconditions, IntegerDataIsLeft) {
  ir::Graph graph;
  auto constant = [&](const std::string& name, std::vector<int64_t> shape, DataType dtype) {
    std::vector<double> values(CheckedElementCount(shape).value(), 1.0);
    return graph.AddInitializer(name, ir::MakeConstant(dtype, shape, values).value()).value();
  };
  ir::Value* x = graph.AddValue("X").value();
  x->set_dtype(DataType::kInt32);
  graph.AddGraphInput(x);
  ir::Value* t = graph.AddValue("T").value();
  t->set_dtype(DataType::kInt32);
  ir::Value* y = graph.AddValue("Y").value();
  graph.AddGraphOutput(y);
  ir::Value* w = constant("W", {2, 2, 1, 1}, DataType::kInt32);
  ASSERT_TRUE(graph.AddNode(ir::OpKind::kConv, "Conv", "", "T", 15, {x, w}, {t}).ok());
  std::vector<ir::Value*> bn_inputs = {t};
  for (const char* p : {"s", "b", "m", "v"}) bn_inputs.push_back(constant(p, {2}, DataType::kFloat));
  ASSERT_TRUE(graph.AddNode(ir::OpKind::kBatchNormalization, "BatchNormalization", "", "Y", 15,
                            bn_inputs, {y})
                  .ok());
  const std::string before = Fingerprint(graph);
  PipelineReport report = RunPasses(graph, {"fold-batchnorm"});
  EXPECT_EQ(Fingerprint(graph), before);
  EXPECT_NE(BatchNormOutcome(report, "Y").find("is int32, not a floating-point type"),
            std::string::npos)
      << BatchNormOutcome(report, "Y");
}

TEST(FoldBatchNormPreconditions, EveryBatchNormGetsADecision) {
  ModelSpec spec;
  spec.text = Header(8, 15) + "g (float[2,3,6,6] X) => (float Y) {\n"
              "  T = Conv (X, W)\n" + BatchNormLine("T", "U", 15, "a") +
              "  R = Relu (U)\n" + BatchNormLine("R", "V", 15, "b") +
              "  T2 = Conv (V, W2)\n" + BatchNormLine("T2", "Y", 15, "c") + "}\n";
  for (const char* p : {"a", "b", "c"}) {
    for (Init i : BatchNormInits(p, 4)) spec.inits.push_back(i);
  }
  spec.inits.push_back({"W", {4, 3, 1, 1}});
  spec.inits.push_back({"W2", {4, 4, 1, 1}});
  FoldResult r = Fold(spec, {"fold-batchnorm"});
  ASSERT_TRUE(r.after);
  ASSERT_EQ(r.report.passes.at(0).batchnorm.size(), 3u);
  EXPECT_EQ(BatchNormOutcome(r.report, "U"), "folded into Conv 'T'");
  EXPECT_NE(BatchNormOutcome(r.report, "V").find("comes from Relu"), std::string::npos);
  EXPECT_EQ(BatchNormOutcome(r.report, "Y"), "folded into Conv 'T2'");
  EXPECT_EQ(r.report.batchnorm_after, 1);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-5);
}

}  // namespace
}  // namespace bnfold::passes::testing
