// Conv with 1-8 output channels (NarrowOutputConv, narrow_conv.h) through the
// public API against the double-precision reference: every channel count,
// input channels that do not fill a 16-channel block, odd widths (partial
// pixel blocks), strides, dilations, asymmetric pads, kernels wider than the
// image, no bias, batch 2, two threads, fused activations, a blocked input
// from a Conv before. Where the CPU has AVX-512 the profile shows the
// kernel ran.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/runtime/backend/kernels/linear_op_test_util.h"

namespace bnfold::testing {
namespace {

using V = std::vector<int64_t>;

bool CpuHasAvx512() { return __builtin_cpu_supports("avx512f"); }

struct NarrowCase {
  std::string name;
  V x, w;
  ConvParams params;
  std::vector<Attr> attrs;
  V y;
  bool bias = true;
  // An activation node after the Conv ("" for none) and its attributes /
  // Clip bounds.
  std::string activation;
  float alpha = 0.0f, lo = 0.0f, hi = 0.0f;
};

Tensor ScalarTensor(float value) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, {});
  t.data_as<float>()[0] = value;
  return t;
}

double Activate(const NarrowCase& c, double v) {
  if (c.activation == "Relu") return std::max(v, 0.0);
  if (c.activation == "LeakyRelu") return v < 0 ? c.alpha * v : v;
  if (c.activation == "Clip") return std::min(std::max(v, double{c.lo}), double{c.hi});
  if (c.activation == "Sigmoid") return 1.0 / (1.0 + std::exp(-v));
  return v;
}

// Runs the case with `threads`; the output against the reference, and the
// implementation the profile names for the Conv's step.
void RunNarrowCase(const NarrowCase& c, int threads) {
  SCOPED_TRACE(c.name + ", " + std::to_string(threads) + " thread(s)");
  const Tensor x = RandomTensor(c.x, 1), w = RandomTensor(c.w, 2), b = RandomTensor({c.w[0]}, 3);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, c.x).Initializer("W", w);
  std::vector<std::string> inputs = {"X", "W"};
  if (c.bias) {
    model.Initializer("B", b);
    inputs.push_back("B");
  }
  const std::string conv_out = c.activation.empty() ? "Y" : "H";
  model.Node("Conv", inputs, {conv_out}, c.attrs);
  if (c.activation == "LeakyRelu") {
    model.Node("LeakyRelu", {"H"}, {"Y"}, {{"alpha", c.alpha}});
  } else if (c.activation == "Clip") {
    model.Initializer("lo", ScalarTensor(c.lo)).Initializer("hi", ScalarTensor(c.hi));
    model.Node("Clip", {"H", "lo", "hi"}, {"Y"});
  } else if (!c.activation.empty()) {
    model.Node(c.activation, {"H"}, {"Y"});
  }
  model.Output("Y", DataType::kFloat, 4);

  SessionOptions options = ThreadsOption(threads);
  options.profile = true;
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(model.Bytes(), options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<NamedTensor> outputs;
  const Status run = (*session)->Run({{"X", x}}, &outputs);
  ASSERT_TRUE(run.ok()) << run.message();

  Reference want = ReferenceConv(c.x, Values(x), w, c.bias ? &b : nullptr, c.params, c.y);
  for (double& v : want.values) v = Activate(c, v);
  ExpectMatches(outputs[0].tensor, want, 1e-5, 1e-6);

  if (!CpuHasAvx512()) return;
  const std::vector<PlanProfile> profiles = (*session)->TakeProfile();
  ASSERT_EQ(profiles.size(), 1u);
  bool ran = false;
  for (const StepProfile& step : profiles[0].steps) {
    ran = ran || step.implementation == "bnfold narrow_conv:avx512";
  }
  EXPECT_TRUE(ran) << "the Conv did not run on NarrowOutputConv";
}

std::vector<NarrowCase> Cases() {
  const ConvParams same = {1, {1, 1}, {1, 1}, {1, 1}};
  const std::vector<Attr> pads1 = {{"pads", V{1, 1, 1, 1}}};
  std::vector<NarrowCase> cases;
  // Every channel count; 20 input channels (a partial block); width 17
  // leaves a partial pixel block for every count; batch 2.
  for (int64_t m = 1; m <= 8; ++m) {
    cases.push_back({"channels_" + std::to_string(m), {2, 20, 6, 17}, {m, 20, 3, 3}, same, pads1,
                     {2, m, 6, 17}});
  }
  // (13+1+2-3)/2+1 = 7, (11+2+0-3)/2+1 = 6
  cases.push_back({"strided_asymmetric_pads", {1, 48, 13, 11}, {3, 48, 3, 3},
                   {1, {2, 2}, {1, 1}, {1, 2}}, {{"strides", V{2, 2}}, {"pads", V{1, 2, 2, 0}}},
                   {1, 3, 7, 6}});
  // (12+4-((5-1)*2+1))+1 = 8 rows, (15+2-3)+1 = 15 columns
  cases.push_back({"dilated_rows_5x3", {1, 16, 12, 15}, {4, 16, 5, 3},
                   {1, {1, 1}, {2, 1}, {2, 1}}, {{"dilations", V{2, 1}}, {"pads", V{2, 1, 2, 1}}},
                   {1, 4, 8, 15}});
  // (15+2-((3-1)*2+1))+1 = 13: a dilated width takes the general tap loop.
  cases.push_back({"dilated_columns", {1, 8, 9, 15}, {2, 8, 3, 3}, {1, {1, 1}, {1, 2}, {1, 1}},
                   {{"dilations", V{1, 2}}, {"pads", V{1, 1, 1, 1}}}, {1, 2, 9, 13}});
  cases.push_back({"pointwise_no_bias", {2, 35, 5, 9}, {2, 35, 1, 1}, {1, {1, 1}, {1, 1}, {0, 0}},
                   {}, {2, 2, 5, 9}, /*bias=*/false});
  // A 7x7 kernel over a 3x4 image with pads 3: most taps read padding.
  cases.push_back({"kernel_wider_than_image", {1, 5, 3, 4}, {1, 5, 7, 7}, {1, {1, 1}, {1, 1}, {3, 3}},
                   {{"pads", V{3, 3, 3, 3}}}, {1, 1, 3, 4}});
  NarrowCase relu{"fused_relu", {1, 32, 10, 21}, {3, 32, 3, 3}, same, pads1, {1, 3, 10, 21}};
  relu.activation = "Relu";
  NarrowCase leaky = relu;
  leaky.name = "fused_leaky_relu";
  leaky.activation = "LeakyRelu";
  leaky.alpha = 0.2f;
  NarrowCase clip = relu;
  clip.name = "fused_clip";
  clip.activation = "Clip";
  clip.lo = -0.5f;
  clip.hi = 0.25f;
  NarrowCase sigmoid = relu;  // not fused: runs after the kernel
  sigmoid.name = "sigmoid_after";
  sigmoid.activation = "Sigmoid";
  for (const NarrowCase& c : {relu, leaky, clip, sigmoid}) cases.push_back(c);
  return cases;
}

TEST(NarrowConvTest, MatchesReference) {
  for (const NarrowCase& c : Cases()) RunNarrowCase(c, 1);
}

TEST(NarrowConvTest, TwoThreadsMatchReference) {
  for (const NarrowCase& c : Cases()) RunNarrowCase(c, 2);
}

// The kernel reads the blocked output of the Conv before it as is, and its
// nhwc output reaches the graph output in plain layout.
TEST(NarrowConvTest, AfterABlockedConv) {
  const Tensor x = RandomTensor({1, 16, 11, 19}, 1);
  const Tensor w1 = RandomTensor({32, 16, 3, 3}, 2), w2 = RandomTensor({3, 32, 3, 3}, 3);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {1, 16, 11, 19})
      .Initializer("W1", w1)
      .Initializer("W2", w2)
      .Node("Conv", {"X", "W1"}, {"H"}, {{"pads", V{1, 1, 1, 1}}})
      .Node("Conv", {"H", "W2"}, {"Y"}, {{"pads", V{1, 1, 1, 1}}})
      .Output("Y", DataType::kFloat, 4);
  StatusOr<Tensor> y = RunModel(model.Bytes(), {{"X", x}});
  ASSERT_TRUE(y.ok()) << y.status().message();
  const ConvParams same = {1, {1, 1}, {1, 1}, {1, 1}};
  const Reference h = ReferenceConv(x.shape(), Values(x), w1, nullptr, same, {1, 32, 11, 19});
  ExpectMatches(*y, ReferenceConv(h.dims, h.values, w2, nullptr, same, {1, 3, 11, 19}), 1e-4, 1e-5);
}

}  // namespace
}  // namespace bnfold::testing
