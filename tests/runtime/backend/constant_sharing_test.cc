// Reordered constants shared between plans (ReorderedConstantCache,
// plan.h): plans for two batch sizes compiled with one cache hold the same
// reordered weight buffers, and both compute what a double-precision
// reference computes.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/backend/onednn/plan.h"
#include "runtime/onnx/loader.h"
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

// The weights as the model text holds them (std::to_string's 6 decimals).
std::vector<double> AsWritten(const std::vector<float>& v) {
  std::vector<double> d;
  for (float x : v) d.push_back(std::stod(std::to_string(x)));
  return d;
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

  // Largest difference between the plan's output and the reference.
  double WorstError(const std::shared_ptr<const Plan>& plan, int batch) const {
    const std::vector<float> x = SeededValues(size_t(batch) * kIn * kSize * kSize, 17 + batch);
    ExecState state(plan);
    Status status = state.Run({x.data()});
    EXPECT_TRUE(status.ok()) << status.ToString();
    if (!status.ok()) return INFINITY;
    const float* y = static_cast<const float*>(state.output(0));
    const std::vector<double> w1 = AsWritten(w1_), w2 = AsWritten(w2_);
    const int plane = kSize * kSize;
    double worst = 0.0;
    for (int n = 0; n < batch; ++n) {
      std::vector<double> r(size_t(kMid) * plane, 0.0);
      for (int m = 0; m < kMid; ++m) {
        for (int p = 0; p < plane; ++p) {
          double sum = 0.0;
          for (int c = 0; c < kIn; ++c) sum += w1[m * kIn + c] * x[(size_t(n) * kIn + c) * plane + p];
          r[size_t(m) * plane + p] = std::max(sum, 0.0);
        }
      }
      for (int o = 0; o < kOut; ++o) {
        for (int oy = 0; oy < kSize; ++oy) {
          for (int ox = 0; ox < kSize; ++ox) {
            double sum = 0.0;
            for (int m = 0; m < kMid; ++m) {
              for (int ky = 0; ky < 3; ++ky) {
                for (int kx = 0; kx < 3; ++kx) {
                  const int iy = oy + ky - 1, ix = ox + kx - 1;
                  if (iy < 0 || iy >= kSize || ix < 0 || ix >= kSize) continue;
                  sum += w2[((size_t(o) * kMid + m) * 3 + ky) * 3 + kx] *
                         r[size_t(m) * plane + iy * kSize + ix];
                }
              }
            }
            const double got = y[(size_t(n) * kOut + o) * plane + oy * kSize + ox];
            worst = std::max(worst, std::abs(got - sum));
          }
        }
      }
    }
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
