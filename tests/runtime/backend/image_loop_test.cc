// The image loop (plan.h, ImageLoop): at batch 2 or more the early
// convolutions run image by image. Which steps the planner puts in the loop,
// and that the outputs -- one exported from inside the loop, one computed
// after it -- match a double-precision evaluation of the graph at 1 and 2
// threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/onnx/loader.h"
#include "tests/passes/reference_evaluator.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold {
namespace {

using passes::testing::EvaluateGraph;
using passes::testing::RefTensor;
using testing::SeededInitializerText;

int64_t Count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// 16 channels: with 8 or fewer a Conv runs on NarrowOutputConv (nhwc out,
// no residual sum), another plan than this test is about.
// Conv 3x3 -> Relu -> depthwise 3x3 -> 1x1 -> Add (residual) -> inference
// BatchNormalization -> Conv 3x3 stride 2 (reads 56x56: still in the loop)
// -> Conv 3x3 at 28x28 (closes it) -> GlobalAveragePool. Outputs: the pooled
// y and the residual sum s, a value of the loop read after it.
std::string ChainModel(int64_t batch) {
  const std::string n = std::to_string(batch);
  std::vector<std::string> inits = {
      SeededInitializerText("w1", {16, 4, 3, 3}, 1), SeededInitializerText("b1", {16}, 2),
      SeededInitializerText("wd", {16, 1, 3, 3}, 3), SeededInitializerText("bd", {16}, 4),
      SeededInitializerText("wp", {16, 16, 1, 1}, 5), SeededInitializerText("bp", {16}, 6),
      SeededInitializerText("gamma", {16}, 7, 0.5f, 1.5f), SeededInitializerText("beta", {16}, 8),
      SeededInitializerText("mean", {16}, 9), SeededInitializerText("var", {16}, 10, 0.5f, 2.0f),
      SeededInitializerText("w2", {16, 16, 3, 3}, 11), SeededInitializerText("b2", {16}, 12),
      SeededInitializerText("w3", {16, 16, 3, 3}, 13), SeededInitializerText("b3", {16}, 14)};
  std::string text = "<ir_version: 8, opset_import: [\"\" : 15]>\ng (float[" + n +
                     ",4,56,56] x) => (float[" + n + ",16,1,1] y, float[" + n +
                     ",16,56,56] s) <";
  for (size_t i = 0; i < inits.size(); ++i) text += (i ? ", " : "") + inits[i];
  return text + "> {\n"
      "a = Conv <pads = [1, 1, 1, 1]> (x, w1, b1)\n"
      "r = Relu(a)\n"
      "d = Conv <group = 16, pads = [1, 1, 1, 1]> (r, wd, bd)\n"
      "p = Conv (d, wp, bp)\n"
      "s = Add(p, r)\n"
      "bn = BatchNormalization <epsilon = 0.001> (s, gamma, beta, mean, var)\n"
      "e = Conv <strides = [2, 2], pads = [1, 1, 1, 1]> (bn, w2, b2)\n"
      "f = Conv <pads = [1, 1, 1, 1]> (e, w3, b3)\n"
      "y = GlobalAveragePool(f)\n"
      "}";
}

// Conv, then a Mul by a constant with one value per image: the Mul cannot
// run image by image, so the loop holds the Conv alone.
std::string PerImageConstantModel() {
  return "<ir_version: 8, opset_import: [\"\" : 15]>\ng (float[2,4,56,56] x) => "
         "(float[2,16,56,56] y) <" +
         SeededInitializerText("w1", {16, 4, 3, 3}, 1) + ", " + SeededInitializerText("b1", {16}, 2) + ", " +
         SeededInitializerText("k", {2, 1, 1, 1}, 3, 0.5f, 2.0f) +
         "> {\n"
         "c = Conv <pads = [1, 1, 1, 1]> (x, w1, b1)\n"
         "y = Mul(c, k)\n"
         "}";
}

std::shared_ptr<const onednn::Plan> Compile(const std::string& text,
                                            const std::vector<int64_t>& x_dims, bool image_loop) {
  auto loaded = onnx_io::LoadModelBytes(testing::ModelBytesFromText(text), "", "image_loop_test");
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return nullptr;
  onednn::CompileOptions options;
  options.image_loop = image_loop;
  auto plan = onednn::CompilePlan(*loaded->model.graph,
                                  {{"x", DataType::kFloat, x_dims, nullptr}}, options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : nullptr;
}

// Whether a step of the loop writes the value named `name`.
bool LoopWrites(const onednn::Plan& plan, const std::string& name) {
  for (size_t s = plan.image_loop.begin; s < plan.image_loop.end; ++s) {
    for (int id : plan.steps[s].outputs) {
      if (id >= 0 && plan.values[id].name == name) return true;
    }
  }
  return false;
}

// Session outputs for x against the double-precision reference:
// |got - want| <= 1e-5 * max|want| + 1e-6 per element.
void ExpectMatchesReference(const std::string& text, const std::vector<int64_t>& x_dims) {
  const std::vector<float> x = testing::SeededValues(Count(x_dims), 99);
  auto loaded = onnx_io::LoadModelBytes(testing::ModelBytesFromText(text), "", "image_loop_test");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  RefTensor ref_x{x_dims, std::vector<double>(x.begin(), x.end())};
  auto reference = EvaluateGraph(*loaded->model.graph, {{"x", ref_x}});
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    SessionOptions options;
    options.threads = threads;
    options.optimize = false;  // the graph as written, BatchNormalization included
    auto session = Session::OpenFromBytes(testing::ModelBytesFromText(text), options);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    std::vector<NamedTensor> outputs;
    Status status = (*session)->Run(
        {{"x", Tensor::Wrap(DataType::kFloat, x_dims, const_cast<float*>(x.data()))}}, &outputs);
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_EQ(outputs.size(), reference->size());
    for (const NamedTensor& out : outputs) {
      const RefTensor& want = reference->at(out.name);
      ASSERT_EQ(out.tensor.shape(), want.shape) << out.name;
      double scale = 0.0;
      for (double v : want.values) scale = std::max(scale, std::fabs(v));
      const float* got = out.tensor.data_as<float>();
      for (size_t i = 0; i < want.values.size(); ++i) {
        ASSERT_NEAR(got[i], want.values[i], 1e-5 * scale + 1e-6)
            << out.name << " element " << i << " (scale " << scale << ")";
      }
    }
  }
}

TEST(ImageLoopTest, EarlyConvolutionsOfABatchRunImageByImage) {
  std::shared_ptr<const onednn::Plan> plan = Compile(ChainModel(3), {3, 4, 56, 56}, true);
  ASSERT_TRUE(plan);
  ASSERT_TRUE(plan->image_loop.active());
  EXPECT_EQ(plan->image_loop.images, 3);
  EXPECT_TRUE(LoopWrites(*plan, "a"));  // with its Relu
  EXPECT_TRUE(LoopWrites(*plan, "bn"));
  EXPECT_TRUE(LoopWrites(*plan, "e")) << "the stride-2 Conv reads 56x56";
  EXPECT_FALSE(LoopWrites(*plan, "f")) << "the Conv reading 28x28 runs on the batch";
  EXPECT_FALSE(LoopWrites(*plan, "y"));
  // The first step reads x image by image (4x56x56 floats apart). Values
  // read after the loop -- e, and the residual sum s (a graph output,
  // accumulated into the buffer of a and r) -- keep every image; d and bn,
  // read only inside, hold one image at a time.
  const onednn::PlanStep& first = plan->steps[plan->image_loop.begin];
  EXPECT_EQ(first.input_image_strides[0], size_t{4 * 56 * 56 * 4});
  int exported = 0;
  for (size_t s = plan->image_loop.begin; s < plan->image_loop.end; ++s) {
    const onednn::PlanStep& step = plan->steps[s];
    ASSERT_EQ(step.input_image_strides.size(), step.inputs.size());
    ASSERT_EQ(step.output_image_strides.size(), step.outputs.size());
    const onednn::PlanValue& out = plan->values[step.outputs[0]];
    const bool read_after = out.name == "e" || out.name == "a";  // a holds r, then s
    EXPECT_EQ(step.output_image_strides[0], read_after ? out.desc.byte_size() : 0)
        << step.label;
    exported += read_after ? 1 : 0;
  }
  EXPECT_EQ(exported, 3);  // a twice (Conv + Relu, Conv + Add), e
}

TEST(ImageLoopTest, NoLoopAtBatchOneOrWhenOff) {
  std::shared_ptr<const onednn::Plan> one = Compile(ChainModel(1), {1, 4, 56, 56}, true);
  ASSERT_TRUE(one);
  EXPECT_FALSE(one->image_loop.active());
  std::shared_ptr<const onednn::Plan> off = Compile(ChainModel(3), {3, 4, 56, 56}, false);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->image_loop.active());
  for (const onednn::PlanStep& step : off->steps) EXPECT_TRUE(step.input_image_strides.empty());
}

TEST(ImageLoopTest, OutputsMatchDoublePrecisionReference) {
  ExpectMatchesReference(ChainModel(3), {3, 4, 56, 56});
}

// Opset 6 BatchNormalization without is_test: ONNX's default is_test = 0,
// training mode, which normalizes with the statistics of the whole batch.
// Run image by image it would use one image's statistics instead.
std::string TrainingBatchNormModel() {
  return "<ir_version: 4, opset_import: [\"\" : 6]>\ng (float[2,4,56,56] x) => "
         "(float[2,8,56,56] y) <" +
         SeededInitializerText("w1", {8, 4, 3, 3}, 1) + ", " + SeededInitializerText("b1", {8}, 2) +
         ", " + SeededInitializerText("gamma", {8}, 7, 0.5f, 1.5f) + ", " +
         SeededInitializerText("beta", {8}, 8) + ", " + SeededInitializerText("mean", {8}, 9) +
         ", " + SeededInitializerText("var", {8}, 10, 0.5f, 2.0f) +
         "> {\n"
         "c = Conv <pads = [1, 1, 1, 1]> (x, w1, b1)\n"
         "y = BatchNormalization <epsilon = 0.001> (c, gamma, beta, mean, var)\n"
         "}";
}

TEST(ImageLoopTest, TrainingModeBatchNormUsesTheWholeBatchsStatistics) {
  const std::vector<int64_t> dims = {2, 4, 56, 56};
  const std::vector<float> x = testing::SeededValues(Count(dims), 99);
  const std::string text = TrainingBatchNormModel();
  // Reference: the Conv in double (the graph cut after it), then batch
  // normalization over N, H, W with the biased variance, as ONNX's
  // training mode defines it.
  std::string conv_only = text;
  conv_only.replace(conv_only.find("float[2,8,56,56] y"), 18, "float[2,8,56,56] c");
  conv_only.erase(conv_only.find("y = BatchNormalization"));
  conv_only += "}";
  auto loaded = onnx_io::LoadModelBytes(testing::ModelBytesFromText(conv_only), "", "reference");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto conv = EvaluateGraph(*loaded->model.graph,
                            {{"x", RefTensor{dims, std::vector<double>(x.begin(), x.end())}}});
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  const RefTensor& c = conv->at("c");
  const std::vector<float> gamma = testing::SeededValues(8, 7, 0.5f, 1.5f);
  const std::vector<float> beta = testing::SeededValues(8, 8, -0.3f, 0.3f);
  const int64_t plane = 56 * 56;
  std::vector<double> want(c.values.size());
  double scale = 0.0;
  for (int64_t ch = 0; ch < 8; ++ch) {
    double sum = 0.0, sum_sq = 0.0;
    for (int64_t n = 0; n < 2; ++n) {
      for (int64_t i = 0; i < plane; ++i) sum += c.values[(n * 8 + ch) * plane + i];
    }
    const double mean = sum / (2 * plane);
    for (int64_t n = 0; n < 2; ++n) {
      for (int64_t i = 0; i < plane; ++i) {
        const double d = c.values[(n * 8 + ch) * plane + i] - mean;
        sum_sq += d * d;
      }
    }
    const double inv = 1.0 / std::sqrt(sum_sq / (2 * plane) + 0.001f);
    for (int64_t n = 0; n < 2; ++n) {
      for (int64_t i = 0; i < plane; ++i) {
        const int64_t k = (n * 8 + ch) * plane + i;
        want[k] = (c.values[k] - mean) * inv * gamma[ch] + beta[ch];
        scale = std::max(scale, std::fabs(want[k]));
      }
    }
  }
  SessionOptions options;
  options.optimize = false;
  auto session = Session::OpenFromBytes(testing::ModelBytesFromText(text), options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> outputs;
  Status status = (*session)->Run(
      {{"x", Tensor::Wrap(DataType::kFloat, dims, const_cast<float*>(x.data()))}}, &outputs);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(outputs.size(), 1u);
  ASSERT_EQ(outputs[0].tensor.shape(), c.shape);
  const float* got = outputs[0].tensor.data_as<float>();
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-5 * scale + 1e-6) << "element " << i;
  }
}

TEST(ImageLoopTest, ConstantWithOneValuePerImageEndsTheLoop) {
  std::shared_ptr<const onednn::Plan> plan = Compile(PerImageConstantModel(), {2, 4, 56, 56}, true);
  ASSERT_TRUE(plan);
  ASSERT_TRUE(plan->image_loop.active());
  EXPECT_TRUE(LoopWrites(*plan, "c"));
  EXPECT_FALSE(LoopWrites(*plan, "y"));
  ExpectMatchesReference(PerImageConstantModel(), {2, 4, 56, 56});
}

}  // namespace
}  // namespace bnfold
