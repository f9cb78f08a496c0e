// Reordered constants shared between plans (ReorderedConstantCache,
// plan.h): plans for two batch sizes compiled with one cache hold the same
// reordered weight buffers, and both compute what a double-precision
// reference computes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/backend/onednn/executor.h"
#include "runtime/backend/onednn/memory.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/onnx/loader.h"
#include "tests/passes/reference_evaluator.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold::onednn {
namespace {

constexpr int kIn = 32, kMid = 48, kOut = 32, kSize = 6;

using ::bnfold::testing::SeededValues;

std::string Values(const std::vector<float>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

// Conv 1x1 -> Relu -> Conv 3x3 (pads 1): both weights are reordered into
// blocked layouts (the 3x3 one into Winograd's).
class ConstantSharingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w1_ = SeededValues(size_t(kMid) * kIn, 3);
    w2_ = SeededValues(size_t(kOut) * kMid * 9, 5);
    const std::string text =
        "<ir_version: 8, opset_import: [\"\" : 13]>\n"
        "g (float[N, 32, 6, 6] x) => (float[N, 32, 6, 6] y)\n"
        "<float[48, 32, 1, 1] w1 = {" + Values(w1_) + "}, float[32, 48, 3, 3] w2 = {" +
        Values(w2_) + "}>\n"
        "{ h = Conv(x, w1)\n r = Relu(h)\n y = Conv<pads = [1, 1, 1, 1]>(r, w2) }";
    auto loaded = onnx_io::LoadModelBytes(testing::ModelBytesFromText(text), "", "test");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    model_ = std::make_unique<onnx_io::LoadedModel>(std::move(*loaded));
  }

  std::shared_ptr<const Plan> Compile(int batch, std::shared_ptr<ReorderedConstantCache> cache) {
    CompileOptions options;
    options.constant_cache = std::move(cache);
    auto plan = CompilePlan(*model_->model.graph,
                            {{"x", DataType::kFloat, {batch, kIn, kSize, kSize}, nullptr}},
                            options);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return plan.ok() ? *plan : nullptr;
  }

  // Largest difference between the plan's output and the graph evaluated in
  // double precision (tests/passes/reference_evaluator.h).
  double WorstError(const std::shared_ptr<const Plan>& plan, int batch) const {
    const std::vector<float> x = SeededValues(size_t(batch) * kIn * kSize * kSize, 17 + batch);
    ExecState state(plan);
    Status status = state.Run({x.data()});
    EXPECT_TRUE(status.ok()) << status.ToString();
    if (!status.ok()) return INFINITY;
    const passes::testing::RefTensor ref_x{{batch, kIn, kSize, kSize},
                                           std::vector<double>(x.begin(), x.end())};
    auto want = passes::testing::EvaluateGraph(*model_->model.graph, {{"x", ref_x}});
    EXPECT_TRUE(want.ok()) << want.status().ToString();
    if (!want.ok()) return INFINITY;
    const std::vector<double>& y_ref = want->at("y").values;
    const float* y = static_cast<const float*>(state.output(0));
    double worst = 0.0;
    for (size_t i = 0; i < y_ref.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_ref[i]));
    return worst;
  }

  std::unique_ptr<onnx_io::LoadedModel> model_;
  std::vector<float> w1_, w2_;
};

// Buffers of reordered constants (in a oneDNN layout) both plans hold.
int SharedBlobs(const Plan& a, const Plan& b) {
  std::set<const void*> blobs;
  for (const PlanValue& v : a.values) {
    if (v.storage == PlanValue::Storage::kConstant && v.blob) blobs.insert(v.blob.get());
  }
  int shared = 0;
  for (const PlanValue& v : b.values) {
    if (v.storage == PlanValue::Storage::kConstant && v.blob) shared += blobs.count(v.blob.get());
  }
  return shared;
}

// Batch 2 and 4 both run Conv in nChw16c, so their weights layouts agree.
TEST_F(ConstantSharingTest, PlansWithOneCacheShareReorderedWeights) {
  auto cache = std::make_shared<ReorderedConstantCache>();
  std::shared_ptr<const Plan> two = Compile(2, cache);
  std::shared_ptr<const Plan> four = Compile(4, cache);
  ASSERT_TRUE(two && four);
  EXPECT_GE(SharedBlobs(*two, *four), 1);
  // Sums of up to 432 products of magnitude <= 1 in float.
  EXPECT_LT(WorstError(two, 2), 5e-4);
  EXPECT_LT(WorstError(four, 4), 5e-4);
  // The first plan gone, the second still owns what it shared.
  two.reset();
  EXPECT_LT(WorstError(four, 4), 5e-4);
}

TEST_F(ConstantSharingTest, PlansWithoutCacheShareNothing) {
  std::shared_ptr<const Plan> two = Compile(2, nullptr);
  std::shared_ptr<const Plan> four = Compile(4, nullptr);
  ASSERT_TRUE(two && four);
  EXPECT_EQ(SharedBlobs(*two, *four), 0);
  EXPECT_LT(WorstError(four, 4), 5e-4);
}

// Entries of dead plans are not handed out: a plan compiled after every
// plan using the cache died reorders its weights anew, correctly.
TEST_F(ConstantSharingTest, DeadPlansLeaveNothingBehind) {
  auto cache = std::make_shared<ReorderedConstantCache>();
  Compile(2, cache).reset();
  std::shared_ptr<const Plan> again = Compile(2, cache);
  ASSERT_TRUE(again);
  EXPECT_LT(WorstError(again, 2), 5e-4);
  // And a batch 1 plan (other layouts, perhaps) next to it computes right.
  std::shared_ptr<const Plan> one = Compile(1, cache);
  ASSERT_TRUE(one);
  EXPECT_LT(WorstError(one, 1), 5e-4);
}

}  // namespace
}  // namespace bnfold::onednn
