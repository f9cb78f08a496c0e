// SessionOptions::profile and Session::TakeProfile: every step of a plan
// is named (the nodes it runs, fused followers included), says what ran it
// and what it wrote, and is timed once per Run; profiles are per plan, start
// afresh on each take, count concurrent runs, and do not change results.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bnfold/session.h"
#include "runtime/backend/onednn/kernel.h"
#include "tests/runtime/onnx/test_models.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold {
namespace {

using testing::SeededInitializerText;

// Conv 3x3 + Relu (fusable) -> GlobalAveragePool -> Flatten -> Gemm, batch N.
std::string ConvNet() {
  return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
         "g (float[N,16,16,16] x) => (float[N,10] y) <" +
         SeededInitializerText("w", {16, 16, 3, 3}, 1) + ", " +
         SeededInitializerText("b", {16}, 2) + ", " + SeededInitializerText("fw", {10, 16}, 3) +
         ", " + SeededInitializerText("fb", {10}, 4) +
         "> {\n"
         "  c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n"
         "  r = Relu(c)\n"
         "  p = GlobalAveragePool(r)\n"
         "  f = Flatten(p)\n"
         "  y = Gemm <transB = 1> (f, fw, fb)\n"
         "}";
}

// ConvNet's nodes, named after their outputs (the text syntax has no node
// names), so steps read "Conv 'c' + Relu 'r'".
const std::vector<std::string> kConvNetNodes = {"c", "r", "p", "f", "y"};

std::unique_ptr<Session> Open(const std::string& text, const std::vector<std::string>& node_names,
                              bool profile) {
  SessionOptions options;
  options.threads = 1;
  options.profile = profile;
  auto session =
      Session::OpenFromBytes(testing::Serialize(testing::ParseModel(text, node_names)), options);
  EXPECT_TRUE(session.ok()) << session.status().message();
  return session.ok() ? std::move(*session) : nullptr;
}

Tensor Input(int64_t batch) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, {batch, 16, 16, 16});
  const std::vector<float> values = testing::SeededValues(t.num_elements(), 7, -1.0f, 1.0f);
  std::memcpy(t.data(), values.data(), t.byte_size());
  return t;
}

std::vector<float> RunOnce(const Session& session, const Tensor& x) {
  std::vector<NamedTensor> out;
  const Status s = session.Run({{"x", x}}, &out);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return {};
  const Tensor& y = out[0].tensor;
  return std::vector<float>(y.data_as<float>(), y.data_as<float>() + y.num_elements());
}

// The step running `node` ("Conv 'c'"): the node first in its label, or
// fused into it when `fused`.
const StepProfile* FindStep(const PlanProfile& plan, const std::string& node, bool fused = false) {
  for (const StepProfile& step : plan.steps) {
    if (step.label.rfind(node, 0) == 0) return &step;
    if (fused && step.label.find(" + " + node) != std::string::npos) return &step;
  }
  return nullptr;
}

TEST(SessionProfileTest, NamesTimesAndDescribesEveryStep) {
  auto session = Open(ConvNet(), kConvNetNodes, /*profile=*/true);
  ASSERT_TRUE(session);
  const Tensor x = Input(1);
  RunOnce(*session, x);  // compiles the plan
  session->TakeProfile();
  for (int i = 0; i < 6; ++i) RunOnce(*session, x);

  const std::vector<PlanProfile> profiles = session->TakeProfile();
  ASSERT_EQ(profiles.size(), 1u);
  const PlanProfile& plan = profiles[0];
  EXPECT_EQ(plan.runs, 6);
  ASSERT_EQ(plan.inputs.size(), 1u);
  EXPECT_EQ(plan.inputs[0].name, "x");
  EXPECT_EQ(plan.inputs[0].shape, (std::vector<int64_t>{1, 16, 16, 16}));
  ASSERT_FALSE(plan.steps.empty());
  for (const StepProfile& step : plan.steps) {
    EXPECT_FALSE(step.label.empty());
    EXPECT_FALSE(step.implementation.empty()) << step.label;
    EXPECT_FALSE(step.output_layout.empty()) << step.label;
    EXPECT_GT(step.median_ms, 0.0) << step.label;
    EXPECT_GT(step.mean_ms, 0.0) << step.label;
  }

  // The Relu runs inside the Conv's step, on oneDNN, into a blocked layout;
  // a reorder step brings the plain input to it.
  const StepProfile* conv = FindStep(plan, "Conv 'c'");
  ASSERT_NE(conv, nullptr);
  EXPECT_NE(conv->label.find("Conv 'c' + Relu 'r'"), std::string::npos) << conv->label;
  EXPECT_EQ(FindStep(plan, "Relu 'r'", /*fused=*/true), conv);
  EXPECT_EQ(conv->implementation.rfind("convolution ", 0), 0u) << conv->implementation;
  EXPECT_EQ(conv->output_shape, (std::vector<int64_t>{1, 16, 16, 16}));
  EXPECT_NE(conv->output_layout, "plain");
  const StepProfile* reorder = FindStep(plan, "Reorder(x) for Conv 'c'");
  ASSERT_NE(reorder, nullptr);
  EXPECT_EQ(reorder->implementation.rfind("reorder ", 0), 0u) << reorder->implementation;
  EXPECT_EQ(reorder->output_layout, conv->output_layout);

  const StepProfile* gemm = FindStep(plan, "Gemm 'y'");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->output_shape, (std::vector<int64_t>{1, 10}));
  EXPECT_EQ(gemm->output_layout, "plain");

  // Taken: the next take has nothing until the session runs again.
  EXPECT_TRUE(session->TakeProfile().empty());
  RunOnce(*session, x);
  const std::vector<PlanProfile> again = session->TakeProfile();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].runs, 1);
  EXPECT_EQ(again[0].steps.size(), plan.steps.size());
}

TEST(SessionProfileTest, OffByDefaultAndResultsUnchanged) {
  auto plain = Open(ConvNet(), kConvNetNodes, /*profile=*/false);
  auto profiled = Open(ConvNet(), kConvNetNodes, /*profile=*/true);
  ASSERT_TRUE(plain && profiled);
  for (int64_t batch : {1, 3}) {
    const Tensor x = Input(batch);
    EXPECT_EQ(RunOnce(*plain, x), RunOnce(*profiled, x)) << "batch " << batch;
  }
  EXPECT_TRUE(plain->TakeProfile().empty());
  EXPECT_EQ(profiled->TakeProfile().size(), 2u);
}

TEST(SessionProfileTest, OneProfilePerPlan) {
  auto session = Open(ConvNet(), kConvNetNodes, /*profile=*/true);
  ASSERT_TRUE(session);
  const Tensor one = Input(1), four = Input(4);
  for (int i = 0; i < 3; ++i) RunOnce(*session, one);
  for (int i = 0; i < 2; ++i) RunOnce(*session, four);
  const std::vector<PlanProfile> profiles = session->TakeProfile();
  ASSERT_EQ(profiles.size(), 2u);
  int64_t runs_at[5] = {0, 0, 0, 0, 0};
  for (const PlanProfile& plan : profiles) {
    ASSERT_EQ(plan.inputs.size(), 1u);
    const int64_t batch = plan.inputs[0].shape[0];
    ASSERT_TRUE(batch == 1 || batch == 4) << batch;
    runs_at[batch] = plan.runs;
    const StepProfile* gemm = FindStep(plan, "Gemm 'y'");
    ASSERT_NE(gemm, nullptr);
    EXPECT_EQ(gemm->output_shape, (std::vector<int64_t>{batch, 10}));
  }
  EXPECT_EQ(runs_at[1], 3);
  EXPECT_EQ(runs_at[4], 2);
}

TEST(SessionProfileTest, CountsConcurrentRuns) {
  auto session = Open(ConvNet(), kConvNetNodes, /*profile=*/true);
  ASSERT_TRUE(session);
  const Tensor x = Input(2);
  const std::vector<float> expected = RunOnce(*session, x);
  session->TakeProfile();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) EXPECT_EQ(RunOnce(*session, x), expected);
    });
  }
  for (std::thread& t : threads) t.join();
  const std::vector<PlanProfile> profiles = session->TakeProfile();
  ASSERT_EQ(profiles.size(), 1u);
  EXPECT_EQ(profiles[0].runs, 100);
}

// Past the runs a profile keeps, runs are still counted and every step
// keeps a median.
TEST(SessionProfileTest, ManyRuns) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y) { y = Relu(x) })",
                      {"y"}, /*profile=*/true);
  ASSERT_TRUE(session);
  Tensor x = *Tensor::Allocate(DataType::kFloat, {2, 3});
  std::memset(x.data(), 0, x.byte_size());
  std::vector<NamedTensor> out;
  for (int i = 0; i < 20000; ++i) ASSERT_TRUE(session->Run({{"x", x}}, &out).ok());
  const std::vector<PlanProfile> profiles = session->TakeProfile();
  ASSERT_EQ(profiles.size(), 1u);
  EXPECT_EQ(profiles[0].runs, 20000);
  ASSERT_EQ(profiles[0].steps.size(), 1u);
  EXPECT_GT(profiles[0].steps[0].median_ms, 0.0);
  EXPECT_EQ(profiles[0].steps[0].label, "Relu 'y'");
}

TEST(LayoutNameTest, OneDnnLetterNotation) {
  using tag = dnnl::memory::format_tag;
  const auto f32 = dnnl::memory::data_type::f32;
  auto name = [&](const dnnl::memory::dims& dims, tag t) {
    return onednn::LayoutName(dnnl::memory::desc(dims, f32, t));
  };
  EXPECT_EQ(name({2, 32, 8, 8}, tag::nchw), "abcd");
  EXPECT_EQ(name({2, 32, 8, 8}, tag::nhwc), "acdb");
  EXPECT_EQ(name({2, 32, 8, 8}, tag::nChw16c), "aBcd16b");
  EXPECT_EQ(name({2, 32, 8, 8}, tag::nChw8c), "aBcd8b");
  EXPECT_EQ(name({32, 32, 3, 3}, tag::OIhw16i16o), "ABcd16b16a");
  EXPECT_EQ(name({4, 6}, tag::ba), "ba");
}

}  // namespace
}  // namespace bnfold
