// Shape-family kernels (kernels/reshape.cc, shape.cc, constant.cc, Expand in
// tile.cc) through the public Session API,
// against hand-computed results.
#include <gtest/gtest.h>

#include "runtime/backend/onednn/plan.h"
#include "runtime/onnx/loader.h"
#include "tests/runtime/backend/kernels/kernel_test_util.h"

namespace bnfold {
namespace {

using test_util::Floats;
using test_util::Iota;
using test_util::MakeTensor;
using test_util::Open;
using test_util::RunModel;
using test_util::Values;

std::vector<float> IotaValues(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

TEST(ReshapeTest, ZeroCopiesTheInputDimAndMinusOneTakesTheRest) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 14]>
    g (float[2,3,4] x) => (float[2,12] y) {
      shape = Constant <value = int64[2] {0, -1}> ()
      y = Reshape(x, shape)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Iota({2, 3, 4})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(Values<float>((*out)[0].tensor), IotaValues(24));
}

TEST(ReshapeTest, AllowZeroKeepsAZeroDim) {
  // With allowzero=1, 0 means an empty dim: [0,3] -> [3,0]. Without it, 0
  // would copy the input's dim 0 (also 0) and 3 stays 3: [0,3].
  const char* kModel = R"(
    <ir_version: 8, opset_import: ["" : 14]>
    g (float[0,3] x) => (float[A,B] y) {
      shape = Constant <value = int64[2] {3, 0}> ()
      y = Reshape <allowzero = %d> (x, shape)
    })";
  char text[512];
  std::snprintf(text, sizeof text, kModel, 1);
  auto session = Open(text);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Floats({0, 3}, {})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (std::vector<int64_t>{3, 0}));

  std::snprintf(text, sizeof text, kModel, 0);
  session = Open(text);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  out = RunModel(**session, {{"x", Floats({0, 3}, {})}});
  // [3, copy of dim 1 = 3] has 9 elements, the input 0: refused.
  EXPECT_FALSE(out.ok());
}

TEST(ReshapeTest, TwoMinusOnesAreAnErrorNamingTheNode) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 14]>
    g (float[2,3,4] x) => (float[A,B] y) {
      shape = Constant <value = int64[2] {-1, -1}> ()
      y = Reshape(x, shape)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Iota({2, 3, 4})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Reshape"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("more than one -1"), std::string::npos);
}

TEST(ReshapeTest, ShapeFedAtRunTimeIsCheckedAgainstTheDeclaredOutput) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 14]>
    g (float[2,3,4] x, int64[3] shape) => (float[4,3,2] y) {
      y = Reshape(x, shape)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto good = MakeTensor<int64_t>(DataType::kInt64, {3}, {4, -1, 2});
  auto out = RunModel(**session, {{"x", Iota({2, 3, 4})}, {"shape", good}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), IotaValues(24));

  auto bad = MakeTensor<int64_t>(DataType::kInt64, {3}, {2, -1, 2});
  out = RunModel(**session, {{"x", Iota({2, 3, 4})}, {"shape", bad}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("Reshape"), std::string::npos) << out.status().message();
}

// What torch.onnx exports for x.view(x.size(0), -1).
constexpr char kTorchFlatten[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  flatten (float[N,3,2,2] x) => (float[N,12] y) {
    shape = Shape(x)
    zero = Constant <value = int64 {0}> ()
    batch = Gather <axis = 0> (shape, zero)
    axes = Constant <value = int64[1] {0}> ()
    batch1 = Unsqueeze(batch, axes)
    minus1 = Constant <value = int64[1] {-1}> ()
    target = Concat <axis = 0> (batch1, minus1)
    y = Reshape(x, target)
  })";

TEST(ShapeChainTest, TorchFlattenChainFoldsToAViewOfTheInput) {
  auto loaded = onnx_io::LoadModelBytes(test_util::ModelBytes(kTorchFlatten), "", "flatten");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto plan = onednn::CompilePlan(*loaded->model.graph, {{"x", DataType::kFloat, {2, 3, 2, 2}}},
                                  onednn::CompileOptions{});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // Shape, Gather, Unsqueeze, Concat and the Constants ran at compile time;
  // the Reshape is a view of x (no copy, no step).
  EXPECT_EQ((*plan)->steps.size(), 0u);
  const onednn::PlanValue& y = (*plan)->values[(*plan)->outputs[0]];
  EXPECT_EQ(y.storage, onednn::PlanValue::Storage::kAlias);
  EXPECT_EQ(y.desc.dims, (std::vector<int64_t>{2, 12}));
}

TEST(ShapeChainTest, TorchFlattenChainRunsForTwoBatchSizesInOneSession) {
  for (bool optimize : {true, false}) {
    auto session = Open(kTorchFlatten, optimize);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    for (int64_t batch : {2, 5, 2}) {
      auto out = RunModel(**session, {{"x", Iota({batch, 3, 2, 2})}});
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ((*out)[0].tensor.shape(), (std::vector<int64_t>{batch, 12}));
      EXPECT_EQ(Values<float>((*out)[0].tensor), IotaValues(batch * 12));
    }
  }
}

TEST(FlattenTest, NegativeAxis) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3,4,5] x) => (float[6,20] y) {
      y = Flatten <axis = -2> (x)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Iota({2, 3, 4, 5})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (std::vector<int64_t>{6, 20}));
}

TEST(SqueezeTest, AttributeAxesBeforeOpset13AndInputAxesAfter) {
  auto v11 = Open(R"(
    <ir_version: 7, opset_import: ["" : 11]>
    g (float[1,3,1,2] x) => (float[3,2] y, float[1,1,3,1,2] z) {
      y = Squeeze <axes = [0, -2]> (x)
      z = Unsqueeze <axes = [0]> (x)
    })");
  ASSERT_TRUE(v11.ok()) << v11.status().ToString();
  auto out = RunModel(**v11, {{"x", Iota({1, 3, 1, 2})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ((*out)[1].tensor.shape(), (std::vector<int64_t>{1, 1, 3, 1, 2}));

  auto v13 = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,3,1,2] x) => (float[3,2] y, float[1,3,2,1] z) {
      y = Squeeze(x)
      axes = Constant <value = int64[2] {0, -1}> ()
      z = Unsqueeze(y, axes)
    })");
  ASSERT_TRUE(v13.ok()) << v13.status().ToString();
  out = RunModel(**v13, {{"x", Iota({1, 3, 1, 2})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (std::vector<int64_t>{3, 2}));
  // axes index the output: [1,3,2] then a trailing 1 -> [1,3,2,1].
  EXPECT_EQ((*out)[1].tensor.shape(), (std::vector<int64_t>{1, 3, 2, 1}));
}

TEST(SqueezeTest, SqueezingADimOtherThanOneIsAnError) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[A] y) {
      axes = Constant <value = int64[1] {0}> ()
      y = Squeeze(x, axes)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Iota({2, 3})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Squeeze"), std::string::npos);
}

TEST(ShapeTest, StartAndEndSliceTheDims) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 15]>
    g (float[2,3,4,5] x) => (int64[2] s, int64[4] all) {
      s = Shape <start = -3, end = -1> (x)
      all = Shape(x)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Iota({2, 3, 4, 5})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<int64_t>((*out)[0].tensor), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Values<int64_t>((*out)[1].tensor), (std::vector<int64_t>{2, 3, 4, 5}));
}

TEST(ConstantOfShapeTest, FillsWithTheValueAttributeType) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (int32[2,3] y) {
      shape = Shape(x)
      y = ConstantOfShape <value = int32[1] {7}> (shape)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Iota({2, 3})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.dtype(), DataType::kInt32);
  EXPECT_EQ(Values<int32_t>((*out)[0].tensor), std::vector<int32_t>(6, 7));
}

TEST(ExpandTest, BroadcastsBothWays) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[3,1] x) => (float[2,3,2] y) {
      shape = Constant <value = int64[3] {2, 1, 2}> ()
      y = Expand(x, shape)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Floats({3, 1}, {1, 2, 3})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor),
            (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
}

TEST(DropoutTest, InferenceIsIdentityWithAnAllTrueMask) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,2] x) => (float[2,2] y, bool[2,2] mask) {
      ratio = Constant <value = float {0.5}> ()
      y, mask = Dropout(x, ratio)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Floats({2, 2}, {1, -2, 3, -4})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{1, -2, 3, -4}));
  EXPECT_EQ(Values<uint8_t>((*out)[1].tensor), std::vector<uint8_t>(4, 1));
}

TEST(DropoutTest, RandomTrainingDropoutIsRefusedNamingTheNode) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,2] x) => (float[2,2] y) {
      ratio = Constant <value = float {0.5}> ()
      training = Constant <value = bool {1}> ()
      y = Dropout(x, ratio, training)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Floats({2, 2}, {1, 2, 3, 4})}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(out.status().message().find("Dropout"), std::string::npos) << out.status().message();
}

TEST(DropoutTest, TrainingWithRatioZeroFedAtRunTimeIsIdentity) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x, float r, bool t) => (float[2] y) {
      y = Dropout(x, r, t)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  Tensor yes = MakeTensor<uint8_t>(DataType::kBool, {}, {1});
  auto out = RunModel(**session, {{"x", Floats({2}, {5, 6})},
                             {"r", Floats({}, {0.0f})},
                             {"t", yes}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{5, 6}));
  out = RunModel(**session, {{"x", Floats({2}, {5, 6})}, {"r", Floats({}, {0.3f})}, {"t", yes}});
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
}

TEST(ConstantTest, ConstantNodeIsAnOutput) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1] x) => (int64[3] c, float[1] y) {
      c = Constant <value = int64[3] {4, 5, 6}> ()
      y = Identity(x)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", Floats({1}, {1})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<int64_t>((*out)[0].tensor), (std::vector<int64_t>{4, 5, 6}));
}

}  // namespace
}  // namespace bnfold
