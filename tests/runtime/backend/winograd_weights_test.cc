// The planner's Winograd weight transform (kernels/winograd_weights.h)
// against oneDNN's own reorder into the same layout, and a Winograd Conv
// compiled through the planner against a double-precision convolution.
#include "runtime/backend/onednn/winograd_weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "runtime/onnx/loader.h"
#include "tests/passes/reference_evaluator.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold::onednn {
namespace {

using tag = dnnl::memory::format_tag;
constexpr auto kF32 = dnnl::memory::data_type::f32;

using ::bnfold::testing::SeededValues;

// The weights layout oneDNN picks for a Winograd 3x3 convolution of this
// shape (its F(2,3) kernel at batch 1, F(4,3) at larger batches), or a zero
// desc when this machine has no Winograd implementation.
dnnl::memory::desc WinogradWeightsDesc(const dnnl::engine& engine, int batch, int channels_in,
                                       int channels_out, int size) {
  try {
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
        dnnl::memory::desc({batch, channels_in, size, size}, kF32, tag::nChw16c),
        dnnl::memory::desc({channels_out, channels_in, 3, 3}, kF32, tag::any),
        dnnl::memory::desc(),
        dnnl::memory::desc({batch, channels_out, size, size}, kF32, tag::nChw16c), {1, 1},
        {1, 1}, {1, 1});
    return dnnl::convolution_forward::primitive_desc(desc, engine).weights_desc();
  } catch (const dnnl::error&) {
    return {};
  }
}

struct Shape {
  int batch, channels_in, channels_out, size;
};

class WinogradWeightsTest : public ::testing::TestWithParam<Shape> {};

TEST_P(WinogradWeightsTest, MatchesOneDnnReorder) {
  const Shape s = GetParam();
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const dnnl::memory::desc wino =
      WinogradWeightsDesc(engine, s.batch, s.channels_in, s.channels_out, s.size);
  if (wino.is_zero()) GTEST_SKIP() << "no Winograd convolution on this CPU";
  const dnnl::memory::desc plain({s.channels_out, s.channels_in, 3, 3}, kF32, tag::oihw);
  ASSERT_TRUE(CanTransformWinogradWeights(plain, wino))
      << "wino format " << wino.data.format_desc.wino_desc.wino_format;

  std::vector<float> weights = SeededValues(size_t(s.channels_out) * s.channels_in * 9, 7);
  const size_t count = wino.get_size() / sizeof(float);
  std::vector<float> expected(count, -1.0f), actual(count, -2.0f);
  dnnl::memory from(plain, engine, weights.data());
  dnnl::memory to(wino, engine, expected.data());
  dnnl::stream stream(engine);
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  TransformWinogradWeights(weights.data(), plain, wino, actual.data());

  size_t differing = 0;
  for (size_t i = 0; i < count; ++i) {
    // Same operations in the same order: equal up to the last bit.
    if (std::memcmp(&expected[i], &actual[i], sizeof(float)) != 0) ++differing;
    if (differing == 1 && std::memcmp(&expected[i], &actual[i], sizeof(float)) != 0) {
      ADD_FAILURE() << "first difference at " << i << ": oneDNN " << expected[i] << ", ours "
                    << actual[i];
    }
  }
  EXPECT_EQ(differing, 0u) << "of " << count;
}

// Batch 1 gets oneDNN's F(2,3) layouts (aaOBiOo on 56x56 images, aaOio on
// smaller ones), larger batches F(4,3); odd channel counts exercise the zero
// padding of the blocks.
INSTANTIATE_TEST_SUITE_P(Shapes, WinogradWeightsTest,
                         ::testing::Values(Shape{1, 64, 64, 14}, Shape{8, 64, 64, 14},
                                           Shape{1, 64, 64, 56}, Shape{1, 48, 96, 56},
                                           Shape{1, 32, 128, 7}, Shape{8, 128, 32, 7},
                                           Shape{8, 256, 256, 7}, Shape{1, 24, 40, 9},
                                           Shape{8, 40, 24, 9}),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           const Shape& s = info.param;
                           return "b" + std::to_string(s.batch) + "_" +
                                  std::to_string(s.channels_in) + "to" +
                                  std::to_string(s.channels_out) + "_" + std::to_string(s.size);
                         });

TEST(WinogradWeightsTest, RefusesLayoutsItDoesNotWrite) {
  const dnnl::memory::desc plain({32, 32, 3, 3}, kF32, tag::oihw);
  EXPECT_FALSE(CanTransformWinogradWeights(plain, dnnl::memory::desc({32, 32, 3, 3}, kF32,
                                                                     tag::OIhw16i16o)));
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const dnnl::memory::desc wino = WinogradWeightsDesc(engine, 1, 32, 32, 7);
  if (wino.is_zero()) GTEST_SKIP() << "no Winograd convolution on this CPU";
  // Source not plain oihw.
  EXPECT_FALSE(CanTransformWinogradWeights(
      dnnl::memory::desc({32, 32, 3, 3}, kF32, tag::hwio), wino));
  // Other dims than the layout's.
  EXPECT_FALSE(CanTransformWinogradWeights(
      dnnl::memory::desc({16, 32, 3, 3}, kF32, tag::oihw), wino));
}

// A Conv the planner runs with Winograd (3x3, stride 1, >= 16 input
// channels) at batch 1 and 8, compared with a float64 convolution.
TEST(WinogradWeightsTest, ConvThroughSessionMatchesDoubleReference) {
  constexpr int kIn = 24, kOut = 40, kSize = 9;
  const std::vector<float> w = SeededValues(size_t(kOut) * kIn * 9, 11);
  std::string values;
  for (size_t i = 0; i < w.size(); ++i) values += (i ? ", " : "") + std::to_string(w[i]);
  const std::string text =
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[N, 24, 9, 9] x) => (float[N, 40, 9, 9] y)\n"
      "<float[40, 24, 3, 3] w = {" + values + "}>\n"
      "{ y = Conv<pads = [1, 1, 1, 1]>(x, w) }";
  const std::string bytes = testing::ModelBytesFromText(text);
  auto loaded = onnx_io::LoadModelBytes(bytes, "", "test");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();

  auto session = Session::OpenFromBytes(bytes, SessionOptions{}, "");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  for (int batch : {1, 8}) {
    const std::vector<float> x = SeededValues(size_t(batch) * kIn * kSize * kSize, 13 + batch);
    std::vector<NamedTensor> outputs;
    Tensor input = Tensor::Wrap(DataType::kFloat, {batch, kIn, kSize, kSize},
                                const_cast<float*>(x.data()));
    Status status = (*session)->Run({{"x", input}}, &outputs);
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_EQ(outputs.size(), 1u);
    // The graph evaluated in double (tests/passes/reference_evaluator.h).
    const passes::testing::RefTensor ref_x{{batch, kIn, kSize, kSize},
                                           std::vector<double>(x.begin(), x.end())};
    auto want = passes::testing::EvaluateGraph(*loaded->model.graph, {{"x", ref_x}});
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    const std::vector<double>& y_ref = want->at("y").values;
    ASSERT_EQ(outputs[0].tensor.num_elements(), static_cast<int64_t>(y_ref.size()));
    const float* y = static_cast<const float*>(outputs[0].tensor.data());
    double worst = 0.0;
    for (size_t i = 0; i < y_ref.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_ref[i]));
    // Sums of 216 products of magnitude <= 1: Winograd's float error is
    // around 1e-5 here; a misplaced weight gives errors of order 1.
    EXPECT_LT(worst, 2e-4) << "batch " << batch;
  }
}

}  // namespace
}  // namespace bnfold::onednn
