// Backend fusion (runtime/backend/onednn/fusion.h): for each pattern, the
// fused plan has fewer steps than the unfused one, and Session with fusion
// on gives the outputs it gives with fusion off, within 1e-5 of the output's
// scale. Negative cases keep the step count. One pattern is also checked
// against a double-precision reference computed here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/onnx/loader.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold {
namespace {

using testing::InitializerText;
using testing::ModelBytesFromText;
using testing::SeededInitializerText;

using ::bnfold::testing::SeededValues;

int64_t Count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::string DimsText(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s;
}

// "float[4,3]", or "float" for a scalar.
std::string TypeText(const std::vector<int64_t>& dims) {
  return dims.empty() ? "float" : "float[" + DimsText(dims) + "]";
}

struct Io {
  std::string name;
  std::vector<int64_t> dims;
};

// A model with float inputs/outputs, initializers and a body in ONNX text.
std::string ModelText(const std::vector<Io>& inputs, const std::vector<Io>& outputs,
                      const std::vector<std::string>& inits, const std::string& body,
                      int opset = 14) {
  auto list = [](const std::vector<Io>& ios) {
    std::string s;
    for (size_t i = 0; i < ios.size(); ++i) {
      s += (i ? ", " : "") + TypeText(ios[i].dims) + " " + ios[i].name;
    }
    return s;
  };
  std::string text = "<ir_version: 8, opset_import: [\"\" : " + std::to_string(opset) +
                     "]>\ng (" + list(inputs) + ") => (" + list(outputs) + ")";
  if (!inits.empty()) {
    text += " <";
    for (size_t i = 0; i < inits.size(); ++i) text += (i ? ", " : "") + inits[i];
    text += ">";
  }
  return text + " {\n" + body + "\n}";
}

struct Model {
  std::string text;
  std::vector<Io> inputs;
};

std::shared_ptr<const onednn::Plan> Compile(const Model& model, bool fuse) {
  auto loaded = onnx_io::LoadModelBytes(ModelBytesFromText(model.text), "", "fusion_test");
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return nullptr;
  std::vector<onednn::FeedSpec> feeds;
  for (const Io& in : model.inputs) feeds.push_back({in.name, DataType::kFloat, in.dims, nullptr});
  onednn::CompileOptions options;
  options.fuse = fuse;
  auto plan = onednn::CompilePlan(*loaded->model.graph, feeds, options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : nullptr;
}

size_t StepCount(const Model& model, bool fuse) {
  std::shared_ptr<const onednn::Plan> plan = Compile(model, fuse);
  return plan ? plan->steps.size() : 0;
}

// Followers run inside another node's step: a fused step's label is
// "Conv #1 + Relu #2 + ...".
size_t AbsorbedCount(const onednn::Plan& plan) {
  size_t count = 0;
  for (const onednn::PlanStep& step : plan.steps) {
    for (size_t at = step.label.find(" + "); at != std::string::npos;
         at = step.label.find(" + ", at + 1)) {
      ++count;
    }
  }
  return count;
}

// The step that runs op `op_type` (alone or fused); null if none.
const onednn::PlanStep* StepRunning(const onednn::Plan& plan, const std::string& op_type) {
  for (const onednn::PlanStep& step : plan.steps) {
    if (step.label.find(op_type + " #") != std::string::npos) return &step;
  }
  return nullptr;
}

// Name of the value step `step` writes (its first output).
std::string OutputName(const onednn::Plan& plan, const onednn::PlanStep* step) {
  return step ? plan.values[step->outputs[0]].name : "(no step)";
}

std::vector<std::vector<float>> InputValues(const Model& model) {
  std::vector<std::vector<float>> values;
  uint32_t seed = 100;
  for (const Io& in : model.inputs) values.push_back(SeededValues(Count(in.dims), seed++));
  return values;
}

// Every output of `model` run through Session (graph as written).
std::vector<std::vector<float>> RunModel(const Model& model, bool fuse, int threads = 1) {
  SessionOptions options;
  options.threads = threads;
  options.optimize = false;
  options.fuse = fuse;
  auto session = Session::OpenFromBytes(ModelBytesFromText(model.text), options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  std::vector<std::vector<float>> values = InputValues(model);
  std::vector<NamedTensor> inputs;
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    inputs.push_back({model.inputs[i].name,
                      Tensor::Wrap(DataType::kFloat, model.inputs[i].dims, values[i].data())});
  }
  std::vector<NamedTensor> outputs;
  Status status = (*session)->Run(inputs, &outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  std::vector<std::vector<float>> result;
  for (const NamedTensor& out : outputs) {
    const float* p = out.tensor.data_as<float>();
    result.emplace_back(p, p + out.tensor.num_elements());
  }
  return result;
}

// |a - b| <= 1e-5 * max|b| (+ a float rounding floor for all-zero outputs).
void ExpectClose(const std::vector<float>& a, const std::vector<float>& b,
                 const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  ASSERT_FALSE(b.empty()) << what;
  double scale = 0.0;
  for (float v : b) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  const double tolerance = 1e-5 * scale + 1e-7;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tolerance) << what << " element " << i << " (scale " << scale << ")";
  }
}

// When the two plans give the same outputs, with 1 and 2 threads.
void ExpectSameOutputs(const Model& model) {
  for (int threads : {1, 2}) {
    const auto expected = RunModel(model, false, threads);
    const auto actual = RunModel(model, true, threads);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      ExpectClose(actual[i], expected[i], "output " + std::to_string(i));
    }
  }
}

// The fused plan runs `absorbed` followers inside other steps and so has
// fewer steps than the unfused one (the same number when none); both give
// the same outputs.
void ExpectFusion(const Model& model, size_t absorbed) {
  std::shared_ptr<const onednn::Plan> plan = Compile(model, true);
  ASSERT_TRUE(plan);
  EXPECT_EQ(AbsorbedCount(*plan), absorbed);
  const size_t unfused = StepCount(model, false);
  if (absorbed > 0) {
    EXPECT_LT(plan->steps.size(), unfused);
  } else {
    EXPECT_EQ(plan->steps.size(), unfused);
  }
  ExpectSameOutputs(model);
}

// ---------------------------------------------------------------- models

const std::vector<int64_t> kX = {2, 16, 7, 7};  // batch 2: not just the batch-1 path
const std::vector<int64_t> kW = {16, 16, 3, 3};

std::string ConvInits() {
  return SeededInitializerText("w", kW, 1) + ", " + SeededInitializerText("b", {16}, 2);
}

// Conv -> `activation` (a node writing y from c).
Model ConvThen(const std::string& activation, std::vector<std::string> extra_inits = {},
               int opset = 14) {
  std::vector<std::string> inits = {ConvInits()};
  inits.insert(inits.end(), extra_inits.begin(), extra_inits.end());
  return {ModelText({{"x", kX}}, {{"y", kX}}, inits,
                    "c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n" + activation, opset),
          {{"x", kX}}};
}

TEST(FusionTest, EltwiseFollowersFuseIntoConv) {
  const std::vector<std::string> activations = {
      "y = Relu(c)",
      "y = LeakyRelu <alpha = 0.2> (c)",
      "y = Elu <alpha = 0.5> (c)",
      "y = Sigmoid(c)",
      "y = Tanh(c)",
      "y = HardSwish(c)",
  };
  for (const std::string& activation : activations) {
    SCOPED_TRACE(activation);
    ExpectFusion(ConvThen(activation), 1);
  }
}

TEST(FusionTest, ClipWithConstantBoundsFusesAsRelu6) {
  ExpectFusion(ConvThen("y = Clip(c, lo, hi)", {InitializerText("lo", {}, {0.0f}), InitializerText("hi", {}, {0.25f})}),
               1);
  // Only a lower bound of 0: a ReLU.
  ExpectFusion(ConvThen("y = Clip(c, lo)", {InitializerText("lo", {}, {0.0f})}), 1);
  // Opset < 11: bounds are attributes.
  ExpectFusion(ConvThen("y = Clip <min = -0.1, max = 0.2> (c)", {}, 10), 1);
}

TEST(FusionTest, ClipWithRunTimeBoundIsNotFused) {
  const Model model = {
      ModelText({{"x", kX}, {"hi", {}}}, {{"y", kX}}, {ConvInits()},
                "c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\ny = Clip(c, , hi)"),
      {{"x", kX}, {"hi", {}}}};
  ExpectFusion(model, 0);
}

TEST(FusionTest, PerChannelScaleShiftBecomesBinaryPostOps) {
  // What an unfoldable BatchNormalization leaves: Mul and Add by [C,1,1].
  ExpectFusion(ConvThen("m = Mul(c, s)\na = Add(t, m)\ny = Relu(a)",
                        {SeededInitializerText("s", {16, 1, 1}, 3, 0.5f, 1.5f),
                         SeededInitializerText("t", {16, 1, 1}, 4)}),
               3);
  // Sub and Div with the chain value first; a scalar operand.
  ExpectFusion(ConvThen("m = Div(c, s)\ny = Sub(m, t)",
                        {SeededInitializerText("s", {16, 1, 1}, 5, 0.5f, 1.5f), InitializerText("t", {}, {0.125f})}),
               2);
}

// Residual block: r = Relu(Conv1(x)); h = Relu(Conv2(r));
// y = Relu(Conv3(h) + r). r is dead once Conv2 has read it, so Conv3
// accumulates into r's buffer (`sum`).
Model ResidualBlock() {
  return {ModelText({{"x", kX}}, {{"y", kX}},
                    {ConvInits(), SeededInitializerText("w2", kW, 7), SeededInitializerText("b2", {16}, 8),
                     SeededInitializerText("w3", kW, 9)},
                    "c1 = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n"
                    "r = Relu(c1)\n"
                    "c2 = Conv <pads = [1, 1, 1, 1]> (r, w2, b2)\n"
                    "h = Relu(c2)\n"
                    "c3 = Conv <pads = [1, 1, 1, 1]> (h, w3)\n"
                    "s = Add(c3, r)\n"
                    "y = Relu(s)"),
          {{"x", kX}}};
}

TEST(FusionTest, ResidualAddAccumulatesInPlace) {
  const Model model = ResidualBlock();
  ExpectFusion(model, 4);
  std::shared_ptr<const onednn::Plan> plan = Compile(model, true);
  ASSERT_TRUE(plan);
  // The step running the Add accumulated into r, which is the buffer the
  // first Conv (+ Relu) wrote as its value c1.
  EXPECT_EQ(OutputName(*plan, StepRunning(*plan, "Add")), "c1");
}

TEST(FusionTest, ResidualOperandReadByTheAnchorIsNotOverwritten) {
  // y = Conv(r) + r: the Conv reads r while writing its dst, so the Add is
  // a binary post-op into a buffer of its own.
  const Model model = {
      ModelText({{"x", kX}}, {{"y", kX}}, {ConvInits(), SeededInitializerText("w2", kW, 7)},
                "c1 = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n"
                "r = Relu(c1)\n"
                "c2 = Conv <pads = [1, 1, 1, 1]> (r, w2)\n"
                "y = Add(c2, r)"),
      {{"x", kX}}};
  ExpectFusion(model, 2);
  std::shared_ptr<const onednn::Plan> plan = Compile(model, true);
  ASSERT_TRUE(plan);
  EXPECT_EQ(OutputName(*plan, StepRunning(*plan, "Add")), "c2");
}

// Naive NCHW Conv (stride 1, symmetric pads) in double.
std::vector<double> ReferenceConv(const std::vector<double>& x, const std::vector<int64_t>& xd,
                                  const std::vector<float>& w, const std::vector<float>& b,
                                  int64_t out_channels, int64_t k, int64_t pad) {
  const int64_t n = xd[0], c = xd[1], h = xd[2], wd = xd[3];
  std::vector<double> y(n * out_channels * h * wd);
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t m = 0; m < out_channels; ++m)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < wd; ++j) {
          double sum = b[m];
          for (int64_t ci = 0; ci < c; ++ci)
            for (int64_t ki = 0; ki < k; ++ki)
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t ii = i + ki - pad, jj = j + kj - pad;
                if (ii < 0 || ii >= h || jj < 0 || jj >= wd) continue;
                sum += x[((ni * c + ci) * h + ii) * wd + jj] *
                       w[((m * c + ci) * k + ki) * k + kj];
              }
          y[((ni * out_channels + m) * h + i) * wd + j] = sum;
        }
  return y;
}

TEST(FusionTest, ResidualBlockMatchesDoubleReference) {
  const Model model = ResidualBlock();
  const std::vector<float> x = InputValues(model)[0];
  const std::vector<float> w1 = SeededValues(Count(kW), 1, -0.3f, 0.3f), b1 = SeededValues(16, 2, -0.3f, 0.3f);
  const std::vector<float> w2 = SeededValues(Count(kW), 7, -0.3f, 0.3f), b2 = SeededValues(16, 8, -0.3f, 0.3f);
  const std::vector<float> w3 = SeededValues(Count(kW), 9, -0.3f, 0.3f), b3(16, 0.0f);
  auto relu = [](std::vector<double> v) {
    for (double& e : v) e = std::max(e, 0.0);
    return v;
  };
  const std::vector<double> r =
      relu(ReferenceConv(std::vector<double>(x.begin(), x.end()), kX, w1, b1, 16, 3, 1));
  const std::vector<double> h = relu(ReferenceConv(r, kX, w2, b2, 16, 3, 1));
  std::vector<double> y = ReferenceConv(h, kX, w3, b3, 16, 3, 1);
  for (size_t i = 0; i < y.size(); ++i) y[i] = std::max(y[i] + r[i], 0.0);
  const auto fused = RunModel(model, true);
  ASSERT_EQ(fused.size(), 1u);
  ExpectClose(fused[0], std::vector<float>(y.begin(), y.end()), "residual block vs double");
}

TEST(FusionTest, ResidualFromALaterConvAccumulatesIntoTheEarlierOne) {
  // A downsampling block: the shortcut Conv comes after the main branch in
  // node order, so it anchors the Add and accumulates into c2.
  const Model model = {
      ModelText({{"x", kX}}, {{"y", kX}},
                {ConvInits(), SeededInitializerText("w2", kW, 7), SeededInitializerText("w3", {16, 16, 1, 1}, 9)},
                "c1 = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n"
                "r = Relu(c1)\n"
                "c2 = Conv <pads = [1, 1, 1, 1]> (r, w2)\n"
                "c3 = Conv(x, w3)\n"
                "s = Add(c2, c3)\n"
                "y = Relu(s)"),
      {{"x", kX}}};
  ExpectFusion(model, 3);  // Relu into c1; Add and Relu into c3
  std::shared_ptr<const onednn::Plan> plan = Compile(model, true);
  ASSERT_TRUE(plan);
  const onednn::PlanStep* add = StepRunning(*plan, "Add");
  ASSERT_TRUE(add);
  EXPECT_EQ(add->label.rfind("Conv", 0), 0u) << add->label;  // c3 anchors it
  EXPECT_EQ(OutputName(*plan, add), "c2");
}

TEST(FusionTest, ResidualOperandNeededLaterIsReadNotOverwritten) {
  // r is read again after the Add (z): the Add becomes a binary post-op
  // reading r, and r's buffer keeps its values for z.
  const Model model = {
      ModelText({{"x", kX}}, {{"y", kX}, {"z", kX}},
                {ConvInits(), SeededInitializerText("w2", kW, 7)},
                "c1 = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n"
                "r = Relu(c1)\n"
                "c2 = Conv <pads = [1, 1, 1, 1]> (r, w2)\n"
                "y = Add(c2, r)\n"
                "z = Sigmoid(r)"),
      {{"x", kX}}};
  ExpectFusion(model, 2);  // Relu into c1, Add into c2
  std::shared_ptr<const onednn::Plan> plan = Compile(model, true);
  ASSERT_TRUE(plan);
  EXPECT_EQ(OutputName(*plan, StepRunning(*plan, "Add")), "c2");  // its own buffer
}

TEST(FusionTest, ResidualOperandThatIsAGraphInputIsNotOverwritten) {
  const Model model = {
      ModelText({{"x", kX}}, {{"y", kX}}, {ConvInits()},
                "c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\ny = Add(x, c)"),
      {{"x", kX}}};
  // x is plain: whether the Add fuses as a binary post-op depends on oneDNN
  // having a fast kernel for a plain dst; either way it never writes x.
  ExpectSameOutputs(model);
  std::shared_ptr<const onednn::Plan> plan = Compile(model, true);
  ASSERT_TRUE(plan);
  EXPECT_NE(OutputName(*plan, StepRunning(*plan, "Add")), "x");
}

TEST(FusionTest, ResidualOperandWithALiveViewIsNotOverwritten) {
  // v is a zero-copy view (Identity) of r's buffer, read after the Add. An
  // in-place sum into r's buffer would change what z reads.
  const Model model = {
      ModelText({{"a", {3, 8}}}, {{"y", {3, 8}}, {"z", {3, 8}}},
                {SeededInitializerText("w1", {8, 8}, 1), SeededInitializerText("w2", {8, 8}, 2)},
                "m1 = MatMul(a, w1)\n"
                "r = Relu(m1)\n"
                "v = Identity(r)\n"
                "m2 = MatMul(a, w2)\n"
                "y = Add(m2, r)\n"
                "z = Sigmoid(v)"),
      {{"a", {3, 8}}}};
  ExpectSameOutputs(model);
  std::shared_ptr<const onednn::Plan> plan = Compile(model, true);
  ASSERT_TRUE(plan);
  EXPECT_NE(OutputName(*plan, StepRunning(*plan, "Add")), "m1");
}

TEST(FusionTest, FollowerWithTwoUsesIsNotFused) {
  const Model model = {
      ModelText({{"x", kX}}, {{"y", kX}, {"z", kX}}, {ConvInits()},
                "c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\ny = Relu(c)\nz = Sigmoid(c)"),
      {{"x", kX}}};
  ExpectFusion(model, 0);
  // The second link of a chain too: r feeds the Add and z.
  const Model second = {
      ModelText({{"x", kX}}, {{"y", kX}, {"z", kX}}, {ConvInits(), SeededInitializerText("t", {16, 1, 1}, 4)},
                "c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\nr = Relu(c)\ny = Add(r, t)\n"
                "z = Tanh(r)"),
      {{"x", kX}}};
  ExpectFusion(second, 1);  // only the Relu
}

TEST(FusionTest, GraphOutputIntermediateIsNotFused) {
  const Model model = {
      ModelText({{"x", kX}}, {{"c", kX}, {"y", kX}}, {ConvInits()},
                "c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\ny = Relu(c)"),
      {{"x", kX}}};
  ExpectFusion(model, 0);
}

TEST(FusionTest, OperandThatWouldGrowTheOutputIsNotFused) {
  // c is [2,16,1,1]; adding a [2,16,7,7] operand broadcasts c up: a
  // post-op cannot change the anchor's output shape.
  const Model model = {
      ModelText({{"x", kX}, {"big", kX}}, {{"y", kX}},
                {SeededInitializerText("w", {16, 16, 7, 7}, 1)},
                "c = Conv(x, w)\ny = Add(c, big)"),
      {{"x", kX}, {"big", kX}}};
  ExpectFusion(model, 0);
}

TEST(FusionTest, SubtractingTheChainValueIsNotFused) {
  ExpectFusion(ConvThen("y = Sub(t, c)", {SeededInitializerText("t", {16, 1, 1}, 4)}), 0);
}

TEST(FusionTest, GemmAndMatMulTakePostOps) {
  const Model gemm = {ModelText({{"a", {3, 20}}}, {{"y", {3, 8}}},
                                {SeededInitializerText("w", {8, 20}, 1), SeededInitializerText("c", {8}, 2)},
                                "g = Gemm <transB = 1, alpha = 0.5> (a, w, c)\ny = Relu(g)"),
                      {{"a", {3, 20}}}};
  ExpectFusion(gemm, 1);
  const Model matmul = {
      ModelText({{"a", {2, 3, 20}}}, {{"y", {2, 3, 8}}},
                {SeededInitializerText("w", {20, 8}, 1), SeededInitializerText("bias", {8}, 2)},
                "m = MatMul(a, w)\nt = Add(m, bias)\ny = Tanh(t)"),
      {{"a", {2, 3, 20}}}};
  ExpectFusion(matmul, 2);
  // A residual add of a graph input into a MatMul's output.
  const Model residual = {
      ModelText({{"a", {3, 8}}}, {{"y", {3, 8}}}, {SeededInitializerText("w", {8, 8}, 1)},
                "m = MatMul(a, w)\ny = Add(a, m)"),
      {{"a", {3, 8}}}};
  ExpectFusion(residual, 1);
}

TEST(FusionTest, ConvTransposeTakesPostOps) {
  const std::vector<int64_t> y_dims = {2, 8, 9, 9};
  const Model model = {ModelText({{"x", kX}}, {{"y", y_dims}},
                                 {SeededInitializerText("w", {16, 8, 3, 3}, 1)},
                                 "c = ConvTranspose(x, w)\ny = Elu(c)"),
                       {{"x", kX}}};
  ExpectFusion(model, 1);
}

// MobileNetV2's inverted residual block: expand 1x1 -> Clip(0, 6) ->
// depthwise 3x3 (stride `stride`) -> Clip(0, 6) -> project 1x1, at a size
// where oneDNN has a fused 1x1 + depthwise kernel (56x56, 24 -> 144
// channels). oneDNN 2.6 fuses only when the 1x1 output exceeds twice the
// L2 per thread: batch 4 (7.2 MB) clears that for L2 caches up to 3.6 MB at
// the plan's one thread. `tail` follows the depthwise Clip (d) and writes y.
Model InvertedResidual(int64_t stride, const std::string& tail, const std::string& pads,
                       const std::vector<Io>& outputs) {
  const std::vector<int64_t> x = {4, 24, 56, 56};
  return {ModelText({{"x", x}}, outputs,
                    {SeededInitializerText("we", {144, 24, 1, 1}, 1), SeededInitializerText("be", {144}, 2),
                     SeededInitializerText("wd", {144, 1, 3, 3}, 3), SeededInitializerText("bd", {144}, 4),
                     SeededInitializerText("wp", {24, 144, 1, 1}, 5), InitializerText("lo", {}, {0.0f}),
                     InitializerText("hi", {}, {6.0f})},
                    "e = Conv (x, we, be)\n"
                    "r = Clip(e, lo, hi)\n"
                    "c = Conv <group = 144, pads = " + pads + ", strides = [" +
                        std::to_string(stride) + ", " + std::to_string(stride) +
                        "]> (r, wd, bd)\n"
                    "d = Clip(c, lo, hi)\n" + tail),
          {{"x", x}}};
}

// Whether oneDNN has the fused 1x1 + depthwise kernel we measured: its
// AVX-512 1x1 convolution. Elsewhere the depthwise Conv keeps its own step.
bool HasFusedDepthwiseKernel() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512_core = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & avx512_core) == avx512_core;
}

TEST(FusionTest, DepthwiseConvFusesIntoThe1x1BeforeIt) {
  for (int64_t stride : {1, 2}) {
    SCOPED_TRACE(stride);
    const int64_t out = 56 / stride;
    // The expand step absorbs Clip, the depthwise Conv and its Clip; the
    // project Conv runs in its own step. Without the fused kernel: each
    // Conv absorbs its Clip.
    ExpectFusion(InvertedResidual(stride, "y = Conv (d, wp)", "[1, 1, 1, 1]",
                                  {{"y", {4, 24, out, out}}}),
                 HasFusedDepthwiseKernel() ? 3 : 2);
  }
}

TEST(FusionTest, DepthwiseConvWithOtherPadsIsNotFused) {
  // Only the expand Clip and the depthwise Clip are absorbed.
  ExpectFusion(InvertedResidual(1, "y = Conv (d, wp)", "[0, 0, 0, 0]", {{"y", {4, 24, 54, 54}}}),
               2);
}

TEST(FusionTest, AddAfterAFusedDepthwiseConvRunsApart) {
  // oneDNN takes no binary or sum post-op after `dw`: the chain stops
  // before the Add (of a graph input), which runs in its own step.
  Model model = InvertedResidual(1, "y = Add(d, z)", "[1, 1, 1, 1]", {{"y", {4, 144, 56, 56}}});
  const size_t inputs_end = model.text.find(") => (");
  model.text.insert(inputs_end, ", float[4,144,56,56] z");
  model.inputs.push_back({"z", {4, 144, 56, 56}});
  // Without the fused kernel the depthwise Conv absorbs its Clip and the
  // Add instead: 3 either way.
  ExpectFusion(model, 3);
}

TEST(FusionTest, DisabledFusionKeepsOneStepPerNode) {
  // The unfused plan has a step for each of the 5 nodes (plus reorders).
  EXPECT_GE(StepCount(ResidualBlock(), false), 5u);
}

}  // namespace
}  // namespace bnfold
