// Staged runs (plan_cache.h): shapes that depend on values computed from
// the feeds at run time -- a Range whose limit is computed from a fed size,
// ConstantOfShape/Expand/Tile/Reshape/Slice fed by a shape computed from
// data, NonMaxSuppression on computed boxes feeding Gather -- through the
// Session API, against hand-computed values, with the feeds' sizes
// changing between runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "bnfold/session.h"
#include "tests/runtime/detection_model.h"
#include "tests/test_util/onnx_text.h"

namespace bnfold {
namespace {

std::unique_ptr<Session> Open(const char* text, bool optimize = true) {
  SessionOptions options;
  options.threads = 1;
  options.optimize = optimize;
  auto session = Session::OpenFromBytes(testing::ModelBytesFromText(text), options);
  EXPECT_TRUE(session.ok()) << session.status().message();
  return session.ok() ? std::move(*session) : nullptr;
}

Tensor Floats(std::vector<int64_t> dims, const std::vector<float>& values) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, std::move(dims));
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = values[i];
  return t;
}

Tensor Int64Scalar(int64_t v) {
  Tensor t = *Tensor::Allocate(DataType::kInt64, {});
  *t.data_as<int64_t>() = v;
  return t;
}

std::vector<double> Values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.num_elements(); ++i) v.push_back(t.GetAsDouble(i));
  return v;
}

// The window ops' expanded form: a Range whose limit is computed from a fed
// size, so the output's length is known only when the size is.
constexpr char kRangeOfFedSize[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (int64 size) => (float[M] w) {
    one = Constant <value = int64 {1}> ()
    zero = Constant <value = int64 {0}> ()
    n = Add(size, one)
    r = Range(zero, n, one)
    rf = Cast <to = 1> (r)
    w = Mul(rf, rf)
  })";

TEST(StagedRunTest, RangeLimitComputedFromAFedSize) {
  for (bool optimize : {true, false}) {
    auto session = Open(kRangeOfFedSize, optimize);
    ASSERT_TRUE(session);
    int64_t plans_after_first_pass = 0;
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t size : {3, 5, 0}) {
        std::vector<NamedTensor> out;
        Status s = session->Run({{"size", Int64Scalar(size)}}, &out);
        ASSERT_TRUE(s.ok()) << s.message();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].tensor.shape(), std::vector<int64_t>{size + 1});
        std::vector<double> want;
        for (int64_t i = 0; i <= size; ++i) want.push_back(static_cast<double>(i * i));
        EXPECT_EQ(Values(out[0].tensor), want) << "size " << size;
      }
      // The same sizes again reuse the stages' plans.
      if (pass == 0) plans_after_first_pass = session->stats().plans;
      if (pass == 1) {
        EXPECT_EQ(session->stats().plans, plans_after_first_pass);
      }
    }
  }
}

// Shapes computed from the data (not only from the feeds' shapes): m is
// the largest element of x, and every shape op downstream is sized by it.
constexpr char kShapesFromData[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[N] x) => (float[M] r, float[M, 2] c, float[M, 2] e, float[T] t, float[M, 2] re,
                     float[L] s) {
    mx = ReduceMax <keepdims = 0> (x)
    m = Cast <to = 7> (mx)
    zero = Constant <value = int64 {0}> ()
    one = Constant <value = int64 {1}> ()
    ri = Range(zero, m, one)
    r = Cast <to = 1> (ri)
    ax = Constant <value = int64[1] {0}> ()
    m1 = Unsqueeze(m, ax)
    two = Constant <value = int64[1] {2}> ()
    shp = Concat <axis = 0> (m1, two)
    c = ConstantOfShape <value = float[1] {7}> (shp)
    half = Constant <value = float[1, 2] {0.5, -1}> ()
    e = Expand(half, shp)
    t = Tile(x, m1)
    rr = Tile(r, two)
    re = Reshape(rr, shp)
    s = Slice(x, ax, m1)
  })";

TEST(StagedRunTest, ShapeOpsSizedByValuesComputedFromData) {
  auto session = Open(kShapesFromData);
  ASSERT_TRUE(session);
  for (const std::vector<float>& x :
       {std::vector<float>{3, 1, 2}, std::vector<float>{2, 0.5f, 1, 1.5f, 0},
        std::vector<float>{0, -1}, std::vector<float>{3, 1, 2}}) {
    std::vector<NamedTensor> out;
    Status s = session->Run({{"x", Floats({static_cast<int64_t>(x.size())}, x)}}, &out);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_EQ(out.size(), 6u);
    const int64_t m = static_cast<int64_t>(*std::max_element(x.begin(), x.end()));
    std::vector<double> r, c, e, t, re, sl;
    for (int64_t i = 0; i < m; ++i) r.push_back(static_cast<double>(i));
    for (int64_t i = 0; i < m; ++i) c.insert(c.end(), {7.0, 7.0});
    for (int64_t i = 0; i < m; ++i) e.insert(e.end(), {0.5, -1.0});
    for (int64_t k = 0; k < m; ++k) t.insert(t.end(), x.begin(), x.end());
    for (int k = 0; k < 2; ++k) re.insert(re.end(), r.begin(), r.end());
    for (int64_t i = 0; i < std::min<int64_t>(m, static_cast<int64_t>(x.size())); ++i) {
      sl.push_back(x[i]);
    }
    EXPECT_EQ(out[0].tensor.shape(), std::vector<int64_t>{m});
    EXPECT_EQ(Values(out[0].tensor), r);
    EXPECT_EQ(out[1].tensor.shape(), (std::vector<int64_t>{m, 2}));
    EXPECT_EQ(Values(out[1].tensor), c);
    EXPECT_EQ(out[2].tensor.shape(), (std::vector<int64_t>{m, 2}));
    EXPECT_EQ(Values(out[2].tensor), e);
    EXPECT_EQ(Values(out[3].tensor), t);
    EXPECT_EQ(out[4].tensor.shape(), (std::vector<int64_t>{m, 2}));
    EXPECT_EQ(Values(out[4].tensor), re);
    EXPECT_EQ(Values(out[5].tensor), sl);
  }
}

// tf2onnx's Range(0, Shape(x)[1]): the limit follows from the fed shape,
// so each shape's plan folds it; symbolic dims change between runs.
constexpr char kRangeOfShape[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[B, N] x) => (float[B, N] y, float[N] c) {
    shape = Shape(x)
    one = Constant <value = int64 {1}> ()
    n = Gather <axis = 0> (shape, one)
    nf = Cast <to = 1> (n)
    zf = Constant <value = float {0}> ()
    onef = Constant <value = float {1}> ()
    rng = Range(zf, nf, onef)
    y = Mul(x, rng)
    ax = Constant <value = int64[1] {0}> ()
    n1 = Unsqueeze(n, ax)
    c = ConstantOfShape <value = float[1] {2}> (n1)
  })";

TEST(StagedRunTest, RangeOfAFedShapeWithSymbolicDims) {
  auto session = Open(kRangeOfShape);
  ASSERT_TRUE(session);
  for (auto [b, n] : {std::pair<int64_t, int64_t>{3, 4}, {2, 5}, {3, 4}}) {
    std::vector<float> x(static_cast<size_t>(b * n));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) + 1.0f;
    std::vector<NamedTensor> out;
    Status s = session->Run({{"x", Floats({b, n}, x)}}, &out);
    ASSERT_TRUE(s.ok()) << s.message();
    std::vector<double> y;
    for (int64_t i = 0; i < b; ++i) {
      for (int64_t j = 0; j < n; ++j) y.push_back(x[i * n + j] * static_cast<double>(j));
    }
    EXPECT_EQ(out[0].tensor.shape(), (std::vector<int64_t>{b, n}));
    EXPECT_EQ(Values(out[0].tensor), y);
    EXPECT_EQ(Values(out[1].tensor), std::vector<double>(static_cast<size_t>(n), 2.0));
  }
}

struct DetectCase {
  std::vector<float> raw, logits;  // [N, 4], [N, 2]
  std::vector<double> selected, picked, scores;
};

// Hand-computed: boxes are raw * 2; class 0 keeps box 0 (box 1 overlaps it
// by IoU 0.905, box 3 by 0.25) and box 3; class 1 keeps box 1 and the
// disjoint box 2, box 0 overlapping box 1; box scores 0.05 fall below 0.1.
const DetectCase kFourBoxes = {
    {0, 0, 1, 1, 0, 0.05f, 1, 1.05f, 2, 2, 3, 3, 0, 0, 0.5f, 0.5f},
    {0.9f, 0.2f, 0.8f, 0.7f, 0.05f, 0.6f, 0.3f, 0.05f},
    {0, 0, 0, 0, 0, 3, 0, 1, 1, 0, 1, 2},
    {0, 0, 2, 2, 0, 0, 1, 1, 0, 0.1, 2, 2.1, 4, 4, 6, 6},
    {0.9, 0.3, 0.7, 0.6}};
// Identical boxes 0 and 1 (the higher score, box 1, wins); class 1 all
// below the threshold.
const DetectCase kThreeBoxes = {{0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6},
                                {0.5f, 0.01f, 0.6f, 0.02f, 0.05f, 0.03f},
                                {0, 0, 1},
                                {0, 0, 2, 2},
                                {0.6}};
// Nothing above the threshold: empty selections flow through Gather.
const DetectCase kNone = {{0, 0, 1, 1, 2, 2, 3, 3}, {0, 0, 0.1f, 0.1f}, {}, {}, {}};

void ExpectDetections(const Session& session, const DetectCase& c) {
  const int64_t n = static_cast<int64_t>(c.raw.size() / 4);
  std::vector<NamedTensor> out;
  Status s = session.Run({{"raw", Floats({1, n, 4}, c.raw)}, {"logits", Floats({1, n, 2}, c.logits)}},
                         &out);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(out.size(), 3u);
  const int64_t k = static_cast<int64_t>(c.selected.size() / 3);
  EXPECT_EQ(out[0].tensor.shape(), (std::vector<int64_t>{k, 3}));
  EXPECT_EQ(Values(out[0].tensor), c.selected);
  EXPECT_EQ(out[1].tensor.shape(), (std::vector<int64_t>{k, 4}));
  const std::vector<double> picked = Values(out[1].tensor);
  ASSERT_EQ(picked.size(), c.picked.size());
  for (size_t i = 0; i < picked.size(); ++i) EXPECT_NEAR(picked[i], c.picked[i], 1e-6) << i;
  const std::vector<double> scores = Values(out[2].tensor);
  ASSERT_EQ(scores.size(), c.scores.size());
  for (size_t i = 0; i < scores.size(); ++i) EXPECT_NEAR(scores[i], c.scores[i], 1e-6) << i;
}

TEST(StagedRunTest, NonMaxSuppressionOnComputedBoxesFeedsGather) {
  for (bool optimize : {true, false}) {
    auto session = Open(testing::kDetectModel, optimize);
    ASSERT_TRUE(session);
    for (const DetectCase* c : {&kFourBoxes, &kThreeBoxes, &kNone, &kFourBoxes, &kThreeBoxes}) {
      ExpectDetections(*session, *c);
    }
  }
}

TEST(StagedRunTest, ConcurrentRunsOfDifferentSizes) {
  auto session = Open(testing::kDetectModel);
  ASSERT_TRUE(session);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) ExpectDetections(*session, (t + i) % 2 ? kFourBoxes : kThreeBoxes);
    });
  }
  for (std::thread& th : threads) th.join();
}

// NonMaxSuppression straight on fed boxes and scores (160 coordinates,
// too many to specialise a plan on), new values every run: the runs go in
// stages, with a plan per selection count, not per value.
constexpr char kFedNms[] = R"(
  <ir_version: 8, opset_import: ["" : 11]>
  g (float[1, N, 4] boxes, float[1, 1, N] scores) => (int64[K, 3] selected) {
    max_out = Constant <value = int64[1] {100}> ()
    iou = Constant <value = float[1] {0.5}> ()
    selected = NonMaxSuppression(boxes, scores, max_out, iou)
  })";

TEST(StagedRunTest, FedBoxesDoNotCompileAPlanPerValue) {
  auto session = Open(kFedNms);
  ASSERT_TRUE(session);
  const int64_t n = 40;
  int64_t plans = -1;
  for (float offset : {0.0f, 0.25f}) {
    for (int run = 0; run < 6; ++run) {
      // Box i is [y1, x1, y2, x2] = [i, 0, i + width, 1] (shifted by
      // offset); boxes d apart overlap by IoU (width - d) / (width + d).
      // Scores fall with i, so the greedy pass goes in index order.
      const float width = 1.0f + 0.9f * static_cast<float>(run);
      std::vector<float> boxes, scores;
      for (int64_t i = 0; i < n; ++i) {
        const float y = static_cast<float>(i) + offset;
        boxes.insert(boxes.end(), {y, offset, y + width, 1 + offset});
        scores.push_back(1.0f - static_cast<float>(i) / 100.0f);
      }
      std::vector<NamedTensor> out;
      Status s = session->Run(
          {{"boxes", Floats({1, n, 4}, boxes)}, {"scores", Floats({1, 1, n}, scores)}}, &out);
      ASSERT_TRUE(s.ok()) << s.message();
      std::vector<double> want;
      std::vector<int64_t> kept;
      for (int64_t i = 0; i < n; ++i) {
        bool suppressed = false;
        for (int64_t k : kept) {
          const double d = static_cast<double>(i - k);
          suppressed = suppressed || (d < width && (width - d) / (width + d) > 0.5);
        }
        if (suppressed) continue;
        kept.push_back(i);
        want.insert(want.end(), {0, 0, static_cast<double>(i)});
      }
      EXPECT_EQ(Values(out[0].tensor), want) << "width " << width << " offset " << offset;
    }
    // The shifted boxes select as many: no new plan.
    if (offset == 0.0f) plans = session->stats().plans;
    EXPECT_EQ(session->stats().plans, plans);
  }
}

// A bad value met in a later stage is an error naming the node; the session
// stays usable.
constexpr char kBadIou[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, N, 4] boxes, float[1, 1, N] scores, float[1] iou) => (int64[K, 3] selected) {
    max_out = Constant <value = int64[1] {5}> ()
    one = Constant <value = float[1] {1}> ()
    b = Mul(boxes, one)
    i = Mul(iou, one)
    selected = NonMaxSuppression(b, scores, max_out, i)
  })";

TEST(StagedRunTest, ErrorInALaterStageNamesTheNode) {
  auto session = Open(kBadIou);
  ASSERT_TRUE(session);
  const Tensor boxes = Floats({1, 2, 4}, {0, 0, 1, 1, 0, 0, 1, 1});
  const Tensor scores = Floats({1, 1, 2}, {0.5f, 0.4f});
  std::vector<NamedTensor> out;
  Status s = session->Run({{"boxes", boxes}, {"scores", scores}, {"iou", Floats({1}, {1.5f})}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("NonMaxSuppression"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("iou_threshold"), std::string::npos) << s.message();
  out.clear();
  s = session->Run({{"boxes", boxes}, {"scores", scores}, {"iou", Floats({1}, {0.5f})}}, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Values(out[0].tensor), (std::vector<double>{0, 0, 0}));
}

}  // namespace
}  // namespace bnfold
