// Resize/Upsample (kernels/resize.cc) through the public Session API, on
// small inputs whose results are worked out by hand (or, for cubic, by a
// direct double-precision evaluation of the spec's formula in the test).
#include <gtest/gtest.h>

#include <cmath>

#include "tests/runtime/backend/kernels/kernel_test_util.h"

namespace bnfold {
namespace {

using test_util::Floats;
using test_util::MakeTensor;
using test_util::Open;
using test_util::RunModel;
using test_util::Values;

std::vector<float> ResizeOk(const std::string& model, const Tensor& x) {
  auto session = Open(model);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  auto out = RunModel(**session, {{"x", x}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? Values<float>((*out)[0].tensor) : std::vector<float>{};
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "element " << i;
}

TEST(ResizeTest, NearestAsymmetricFloorRepeatsPixels) {
  auto y = ResizeOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,2,2] x) => (float[1,1,4,4] y) {
      scales = Constant <value = float[4] {1, 1, 2, 2}> ()
      y = Resize <mode = "nearest", coordinate_transformation_mode = "asymmetric",
                  nearest_mode = "floor"> (x, , scales)
    })",
                    Floats({1, 1, 2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(y, (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

std::string NearestSizes(const std::string& rounding) {
  return R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,1,2] x) => (float[1,1,1,4] y) {
      sizes = Constant <value = int64[4] {1, 1, 1, 4}> ()
      y = Resize <mode = "nearest", coordinate_transformation_mode = "asymmetric",
                  nearest_mode = ")" +
         rounding + R"("> (x, , , sizes)
    })";
}

TEST(ResizeTest, NearestModesDifferOnExactHalves) {
  // asymmetric: x = j / 2 = 0, 0.5, 1, 1.5 (1.5 rounds up to 2, clamped to 1).
  const Tensor x = Floats({1, 1, 1, 2}, {10, 20});
  EXPECT_EQ(ResizeOk(NearestSizes("round_prefer_floor"), x),
            (std::vector<float>{10, 10, 20, 20}));
  EXPECT_EQ(ResizeOk(NearestSizes("round_prefer_ceil"), x), (std::vector<float>{10, 20, 20, 20}));
  EXPECT_EQ(ResizeOk(NearestSizes("ceil"), x), (std::vector<float>{10, 20, 20, 20}));
  EXPECT_EQ(ResizeOk(NearestSizes("floor"), x), (std::vector<float>{10, 10, 20, 20}));
}

TEST(ResizeTest, LinearHalfPixelClampsAtTheEdges) {
  // x = (j + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 over [0, 4]:
  // 0 (clamped), 1, 3, 4 (clamped).
  auto y = ResizeOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,1,2] x) => (float[1,1,1,4] y) {
      scales = Constant <value = float[4] {1, 1, 1, 2}> ()
      y = Resize <mode = "linear"> (x, , scales)
    })",
                    Floats({1, 1, 1, 2}, {0, 4}));
  ExpectNear(y, {0, 1, 3, 4});
}

TEST(ResizeTest, BilinearAlignCorners) {
  // 2x2 -> 3x3 with corners fixed: the centre is the mean of all four.
  auto y = ResizeOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,2,2] x) => (float[1,1,3,3] y) {
      sizes = Constant <value = int64[4] {1, 1, 3, 3}> ()
      y = Resize <mode = "linear", coordinate_transformation_mode = "align_corners"> (x, , , sizes)
    })",
                    Floats({1, 1, 2, 2}, {0, 2, 4, 6}));
  ExpectNear(y, {0, 1, 2, 2, 3, 4, 4, 5, 6});
}

TEST(ResizeTest, TrilinearOnAFiveDimensionalInput) {
  // Every axis 2 -> 3 with align_corners: the value at the middle of a cube
  // of corners 0..7 (x = 4a + 2b + c) is the mean, 3.5.
  std::vector<float> corners(8);
  for (int i = 0; i < 8; ++i) corners[i] = static_cast<float>(i);
  auto y = ResizeOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,2,2,2] x) => (float[1,1,3,3,3] y) {
      sizes = Constant <value = int64[5] {1, 1, 3, 3, 3}> ()
      y = Resize <mode = "linear", coordinate_transformation_mode = "align_corners"> (x, , , sizes)
    })",
                    Floats({1, 1, 2, 2, 2}, corners));
  ASSERT_EQ(y.size(), 27u);
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 3; ++c) {
        // Linear in each coordinate: 4 * (a/2) + 2 * (b/2) + (c/2).
        EXPECT_NEAR(y[a * 9 + b * 3 + c], 2.0 * a + 1.0 * b + 0.5 * c, 1e-5);
      }
}

// The spec's cubic kernel, evaluated directly for one output of a 1-D resize
// (edge-padded neighbours, half_pixel coordinates).
double CubicReference(const std::vector<double>& in, double scale, int j, double a) {
  auto w = [a](double t) {
    t = std::fabs(t);
    if (t <= 1) return (a + 2) * t * t * t - (a + 3) * t * t + 1;
    if (t < 2) return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a;
    return 0.0;
  };
  const double x = (j + 0.5) / scale - 0.5;
  const int base = static_cast<int>(std::floor(x));
  double sum = 0;
  for (int i = base - 1; i <= base + 2; ++i) {
    const int clamped = std::min<int>(std::max(i, 0), static_cast<int>(in.size()) - 1);
    sum += w(x - i) * in[clamped];
  }
  return sum;
}

TEST(ResizeTest, CubicMatchesTheKernelFormula) {
  const std::vector<double> in = {1, 4, 2, 8, 5};
  std::vector<float> in_f(in.begin(), in.end());
  auto y = ResizeOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,1,5] x) => (float[1,1,1,8] y) {
      scales = Constant <value = float[4] {1, 1, 1, 1.6}> ()
      y = Resize <mode = "cubic", cubic_coeff_a = -0.5> (x, , scales)
    })",
                    Floats({1, 1, 1, 5}, in_f));
  std::vector<double> want;
  for (int j = 0; j < 8; ++j) want.push_back(CubicReference(in, 1.6f, j, -0.5));
  ExpectNear(y, want);
}

TEST(ResizeTest, TfCropAndResizeExtrapolatesOutsideTheBox) {
  // roi on the last axis from -0.5 to 1.5 of [10, 20, 30]: x = -1 + 2j =
  // -1, 1, 3; the outer two lie outside and take the extrapolation value.
  auto y = ResizeOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,1,3] x) => (float[1,1,1,3] y) {
      roi = Constant <value = float[8] {0, 0, 0, -0.5, 1, 1, 1, 1.5}> ()
      sizes = Constant <value = int64[4] {1, 1, 1, 3}> ()
      y = Resize <mode = "linear", coordinate_transformation_mode = "tf_crop_and_resize",
                  extrapolation_value = 7.0> (x, roi, , sizes)
    })",
                    Floats({1, 1, 1, 3}, {10, 20, 30}));
  ExpectNear(y, {7, 20, 7});
}

TEST(ResizeTest, AxesAttributeResizesOnlyTheListedAxes) {
  auto y = ResizeOk(R"(
    <ir_version: 8, opset_import: ["" : 18]>
    g (float[1,2,2] x) => (float[1,2,4] y) {
      scales = Constant <value = float[1] {2}> ()
      y = Resize <mode = "nearest", axes = [-1], coordinate_transformation_mode = "asymmetric",
                  nearest_mode = "floor"> (x, , scales)
    })",
                    Floats({1, 2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(y, (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4}));
}

TEST(ResizeTest, HalfPixelSymmetricCentresTheTruncatedOutput) {
  // in 4, scale 0.7: out 2 of 2.8, adjustment 2 / 2.8, offset 2 * (1 - 2 / 2.8);
  // x = offset + (j + 0.5) / 0.7 - 0.5 = 0.785714..., 2.214285...
  auto y = ResizeOk(R"(
    <ir_version: 9, opset_import: ["" : 19]>
    g (float[1,4] x) => (float[1,2] y) {
      scales = Constant <value = float[2] {1, 0.7}> ()
      y = Resize <mode = "linear", coordinate_transformation_mode = "half_pixel_symmetric"> (x, , scales)
    })",
                    Floats({1, 4}, {0, 10, 20, 30}));
  const double s = 0.7f, offset = 2.0 * (1.0 - 2.0 / (4.0 * s));
  ExpectNear(y, {10 * (offset + 0.5 / s - 0.5), 10 * (offset + 1.5 / s - 0.5)});
}

TEST(ResizeTest, KeepAspectRatioPolicyScalesAllAxesAlike) {
  // sizes 4x4 for a 2x4 input: not_larger takes min(2, 1) = 1 (2x4),
  // not_smaller max(2, 1) = 2 (4x8).
  const char* kModel = R"(
    <ir_version: 8, opset_import: ["" : 18]>
    g (float[1,1,2,4] x) => (float[1,1,H,W] y) {
      sizes = Constant <value = int64[2] {4, 4}> ()
      y = Resize <mode = "nearest", axes = [2, 3], keep_aspect_ratio_policy = "%s"> (x, , , sizes)
    })";
  for (const auto& [policy, dims] :
       std::vector<std::pair<std::string, std::vector<int64_t>>>{{"not_larger", {1, 1, 2, 4}},
                                                                 {"not_smaller", {1, 1, 4, 8}}}) {
    char text[512];
    std::snprintf(text, sizeof text, kModel, policy.c_str());
    auto session = Open(text);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    auto out = RunModel(**session, {{"x", test_util::Iota({1, 1, 2, 4})}});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ((*out)[0].tensor.shape(), dims) << policy;
  }
}

TEST(ResizeTest, LinearOnUint8RoundsToNearest) {
  // half_pixel 2 -> 4 over [0, 5]: 0, 1.25, 3.75, 5 -> 0, 1, 4, 5.
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (uint8[1,1,1,2] x) => (uint8[1,1,1,4] y) {
      scales = Constant <value = float[4] {1, 1, 1, 2}> ()
      y = Resize <mode = "linear"> (x, , scales)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", MakeTensor<uint8_t>(DataType::kUint8, {1, 1, 1, 2}, {0, 5})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<uint8_t>((*out)[0].tensor), (std::vector<uint8_t>{0, 1, 4, 5}));
}

TEST(ResizeTest, ScalesFedAtRunTimeAreCheckedAgainstTheDeclaredShape) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,1,2] x, float[4] scales) => (float[1,1,1,4] y) {
      y = Resize <mode = "linear", coordinate_transformation_mode = "align_corners"> (x, , scales)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto scales = [](float s) { return Floats({4}, {1, 1, 1, s}); };
  auto out = RunModel(**session, {{"x", Floats({1, 1, 1, 2}, {0, 3})}, {"scales", scales(2)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values<float>((*out)[0].tensor), {0, 1, 2, 3});
  out = RunModel(**session, {{"x", Floats({1, 1, 1, 2}, {0, 3})}, {"scales", scales(3)}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("Resize"), std::string::npos) << out.status().message();
}

TEST(ResizeTest, AntialiasIsRefused) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 18]>
    g (float[1,1,4,4] x) => (float[1,1,2,2] y) {
      scales = Constant <value = float[4] {1, 1, 0.5, 0.5}> ()
      y = Resize <mode = "linear", antialias = 1> (x, , scales)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"x", test_util::Iota({1, 1, 4, 4})}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(out.status().message().find("antialias"), std::string::npos);
}

TEST(UpsampleTest, Opset7ScalesAttributeNearestFloors) {
  // Upsample is asymmetric with floor: scale 3 maps j to floor(j / 3).
  auto y = ResizeOk(R"(
    <ir_version: 3, opset_import: ["" : 7]>
    g (float[1,1,1,2] x) => (float[1,1,2,6] y) {
      y = Upsample <mode = "nearest", scales = [1.0, 1.0, 2.0, 3.0]> (x)
    })",
                    Floats({1, 1, 1, 2}, {1, 2}));
  EXPECT_EQ(y, (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}));
}

TEST(UpsampleTest, Opset9LinearIsAsymmetric) {
  // x = j / 2 = 0, 0.5, 1, 1.5 over [0, 4]: 0, 2, 4, 4 (clamped).
  auto y = ResizeOk(R"(
    <ir_version: 4, opset_import: ["" : 9]>
    g (float[1,1,1,2] x) => (float[1,1,1,4] y) {
      scales = Constant <value = float[4] {1, 1, 1, 2}> ()
      y = Upsample <mode = "linear"> (x, scales)
    })",
                    Floats({1, 1, 1, 2}, {0, 4}));
  ExpectNear(y, {0, 2, 4, 4});
}

}  // namespace
}  // namespace bnfold
