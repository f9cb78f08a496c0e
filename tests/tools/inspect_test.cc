// InspectModel (bnfold/optimizer.h) and the BatchNormalization diagnostics
// behind it (passes/fold/batchnorm_diagnostics.h).
#include <gtest/gtest.h>

#include <cmath>

#include "bnfold/optimizer.h"
#include "passes/fold/batchnorm_diagnostics.h"
#include "tests/tools/test_models.h"
#include "tests/tools/tool_test_util.h"

namespace bnfold {
namespace {

using testing::TempDir;

const BatchNormInfo* Find(const ModelInfo& info, const std::string& name) {
  for (const BatchNormInfo& bn : info.batchnorm) {
    if (bn.name == name) return &bn;
  }
  return nullptr;
}

class ThreeBatchNormTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteModel(testing::ThreeBatchNormModel(), dir_.File("m.onnx"));
    StatusOr<ModelInfo> info = InspectModel(dir_.File("m.onnx"));
    ASSERT_TRUE(info.ok()) << info.status().message();
    info_ = *info;
  }
  TempDir dir_;
  ModelInfo info_;
};

TEST_F(ThreeBatchNormTest, CountsOpsAndDescribesTheModel) {
  EXPECT_EQ(info_.ir_version, 8);
  EXPECT_EQ(info_.opset, 15);
  EXPECT_EQ(info_.producer_name, "tf2onnx");
  EXPECT_EQ(info_.producer_version, "1.9.3");
  EXPECT_EQ(info_.nodes, 6);
  EXPECT_EQ(info_.ops, (std::map<std::string, int>{{"BatchNormalization", 3}, {"Conv", 3}}));
  ASSERT_EQ(info_.batchnorm.size(), 3u);
  EXPECT_EQ(info_.batchnorm[0].name, "bn_initial");
  EXPECT_EQ(info_.batchnorm[1].name, "bn_override");
  EXPECT_EQ(info_.batchnorm[2].name, "bn_train");
}

TEST_F(ThreeBatchNormTest, InitialStatistics) {
  const BatchNormInfo* bn = Find(info_, "bn_initial");
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->opset, 15);
  EXPECT_FALSE(bn->training_mode);
  EXPECT_FLOAT_EQ(bn->epsilon, 1e-3f);
  EXPECT_EQ(bn->producer, "Conv");
  EXPECT_EQ(bn->consumers, std::vector<std::string>{"Conv"});
  // Epsilon 1e-3 is tf2onnx's default: only the statistics are flagged.
  EXPECT_EQ(bn->diagnostics,
            std::vector<std::string>{"moving statistics at initial values: the model was likely "
                                     "trained without its moving-average updates running"});
  EXPECT_FALSE(bn->reason.empty());
}

TEST_F(ThreeBatchNormTest, OverridableScaleIsNotFolded) {
  const BatchNormInfo* bn = Find(info_, "bn_override");
  ASSERT_NE(bn, nullptr);
  EXPECT_FALSE(bn->training_mode);
  EXPECT_FALSE(bn->folds_into.has_value());
  EXPECT_FALSE(bn->reason.empty());
  EXPECT_TRUE(bn->diagnostics.empty());
}

TEST_F(ThreeBatchNormTest, TrainingModeIsNotFolded) {
  const BatchNormInfo* bn = Find(info_, "bn_train");
  ASSERT_NE(bn, nullptr);
  EXPECT_TRUE(bn->training_mode);
  EXPECT_FALSE(bn->folds_into.has_value());
  EXPECT_FALSE(bn->reason.empty());
  EXPECT_EQ(bn->consumers, std::vector<std::string>{"(graph output)"});
  EXPECT_TRUE(bn->diagnostics.empty());
}

TEST_F(ThreeBatchNormTest, InferenceBatchNormAfterConvFolds) {
  const BatchNormInfo* bn = Find(info_, "bn_initial");
  ASSERT_NE(bn, nullptr);
  ASSERT_TRUE(bn->folds_into.has_value()) << bn->reason;
  EXPECT_NE(bn->folds_into->find("conv1"), std::string::npos) << *bn->folds_into;
}

TEST(InspectModel, SuspiciousStatistics) {
  TempDir dir;
  testing::WriteModel(testing::SuspiciousBatchNormModel(), dir.File("m.onnx"));
  StatusOr<ModelInfo> info = InspectModel(dir.File("m.onnx"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_EQ(info->batchnorm.size(), 1u);
  EXPECT_EQ(info->batchnorm[0].consumers, std::vector<std::string>{"(graph output)"});
  EXPECT_EQ(info->batchnorm[0].diagnostics,
            (std::vector<std::string>{
                "bias (beta) is NaN/Inf in 1 of 4 channels (first: channel 3 = nan)",
                "moving variance is <= 0 in 2 of 4 channels (first: channel 1 = 0)",
                "scale (gamma) is ~0 (|gamma| < 1e-06) in 1 of 4 channels (first: channel 2 = 0): "
                "those channels output the bias alone",
                "epsilon 0.001 differs from pytorch's framework default 1e-05: check that the "
                "exporter kept the layer's own epsilon",
            }));
}

// A BN whose input no op bnfold knows types: inspect names that op, and
// BN after a Reshape whose shape is computed from the input's own Shape
// (shape inference of the ONNX library gives such values a type but no
// shape) folds into the Conv after it.
TEST(InspectModel, UnknownTypeSaysWhichOpLeftItUnknown) {
  TempDir dir;
  onnx::ModelProto model = testing::ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13, "com.example" : 1]>
    g (float[1,4,3,3] x) => (float[1,4,3,3] y, float[1,4,3,3] z) {
      u = com.example.Mystery(x)
      y = BatchNormalization(u, s, b, m, v)
      sh = Shape(x)
      r = Reshape(x, sh)
      c = Conv(r, w)
      z = BatchNormalization(c, s, b, m, v)
    })");
  for (const char* name : {"s", "b", "m", "v"}) {
    testing::AddFloatInitializer(model.mutable_graph(), name, {4}, {1.0f, 1.5f, 0.5f, 2.0f});
  }
  testing::AddFloatInitializer(model.mutable_graph(), "w", {4, 4, 1, 1},
                               std::vector<float>(16, 0.25f));
  testing::WriteModel(model, dir.File("m.onnx"));
  StatusOr<ModelInfo> info = InspectModel(dir.File("m.onnx"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_EQ(info->batchnorm.size(), 2u);
  const BatchNormInfo& after_custom = info->batchnorm[0];
  EXPECT_FALSE(after_custom.folds_into.has_value());
  EXPECT_NE(after_custom.reason.find("input 'u' has no known element type: it is computed by "
                                     "Mystery #0 (op 'Mystery', domain 'com.example')"),
            std::string::npos)
      << after_custom.reason;
  EXPECT_EQ(info->batchnorm[1].folds_into, std::optional<std::string>("Conv #4"))
      << info->batchnorm[1].reason;
}

TEST(InspectModel, NoBatchNormalization) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  StatusOr<ModelInfo> info = InspectModel(dir.File("m.onnx"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(info->batchnorm.empty());
  EXPECT_EQ(info->ops, (std::map<std::string, int>{{"Identity", 1}, {"Relu", 2}}));
}

// Each Transpose: what cancel-transposes did, or why it stays.
TEST(InspectModel, SaysWhyATransposeStays) {
  TempDir dir;
  testing::WriteModel(testing::ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3,4,5] X) => (float[2,3,4,5] Y, float[2,4,5,3] Z) {
      T = Transpose <perm = [0, 2, 3, 1]> (X)
      A = Relu (T)
      Y = Transpose <perm = [0, 3, 1, 2]> (A)
      U = Transpose <perm = [0, 2, 3, 1]> (X)
      Z = Softmax <axis = 1> (U)
    })"),
                      dir.File("m.onnx"));
  StatusOr<ModelInfo> info = InspectModel(dir.File("m.onnx"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_EQ(info->transposes.size(), 3u);
  EXPECT_TRUE(info->transposes[0].changed);
  EXPECT_NE(info->transposes[0].outcome.find("cancelled"), std::string::npos)
      << info->transposes[0].outcome;
  EXPECT_TRUE(info->transposes[1].changed) << info->transposes[1].outcome;  // the closing one
  EXPECT_FALSE(info->transposes[2].changed);
  EXPECT_NE(info->transposes[2].outcome.find("cancel-transposes: Softmax"), std::string::npos)
      << info->transposes[2].outcome;
  EXPECT_NE(info->transposes[2].outcome.find("is not element-wise"), std::string::npos);

  testing::CommandResult r = testing::RunBnfold({"inspect", dir.File("m.onnx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Transpose (3):"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kept: cancel-transposes: Softmax"), std::string::npos) << r.out;
  r = testing::RunBnfold({"inspect", dir.File("m.onnx"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::optional<testing::JsonValue> json = testing::ParseJson(r.out);
  ASSERT_TRUE(json.has_value()) << r.out;
  EXPECT_EQ((*json)["transposes"].size(), 3u);
  EXPECT_FALSE((*json)["transposes"][2]["changed"].boolean);
}

TEST(InspectModel, MissingFileIsNotFound) {
  StatusOr<ModelInfo> info = InspectModel("/nonexistent/model.onnx");
  EXPECT_EQ(info.status().code(), StatusCode::kNotFound);
}

TEST(BatchNormDiagnostics, FrameworkEpsilonFromProducer) {
  EXPECT_EQ(passes::DefaultEpsilonForProducer("tf2onnx")->epsilon, 1e-3);
  EXPECT_EQ(passes::DefaultEpsilonForProducer("keras2onnx")->epsilon, 1e-3);
  EXPECT_EQ(passes::DefaultEpsilonForProducer("PyTorch")->epsilon, 1e-5);
  EXPECT_FALSE(passes::DefaultEpsilonForProducer("skl2onnx").has_value());
  EXPECT_FALSE(passes::DefaultEpsilonForProducer("").has_value());
}

TEST(BatchNormDiagnostics, PytorchDefaultEpsilonIsNotFlagged) {
  TempDir dir;
  testing::WriteModel(testing::ConvBatchNormModel(testing::DefaultConvBatchNormWeights()),
                      dir.File("m.onnx"));
  StatusOr<ModelInfo> info = InspectModel(dir.File("m.onnx"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_EQ(info->batchnorm.size(), 1u);
  EXPECT_EQ(info->batchnorm[0].producer, "Conv");
  EXPECT_EQ(info->batchnorm[0].consumers, std::vector<std::string>{"Relu"});
  EXPECT_TRUE(info->batchnorm[0].diagnostics.empty());
}

}  // namespace
}  // namespace bnfold
