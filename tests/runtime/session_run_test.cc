// Session::Run's fast path (a run whose feeds look like the last one's
// skips the plan key, the map and the lock): everything that must not take
// it still gets the slow path's checks and the right plan.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "bnfold/session.h"
#include "tests/test_util/onnx_text.h"

namespace bnfold {
namespace {

std::unique_ptr<Session> Open(const char* text) {
  auto session = Session::OpenFromBytes(testing::ModelBytesFromText(text), {.threads = 1});
  EXPECT_TRUE(session.ok()) << session.status().message();
  return session.ok() ? std::move(*session) : nullptr;
}

Tensor Floats(std::vector<int64_t> dims, float start) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, std::move(dims));
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = start + i;
  return t;
}

std::vector<float> Elements(const Tensor& t) {
  return std::vector<float>(t.data_as<float>(), t.data_as<float>() + t.num_elements());
}

constexpr char kSub[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[N, 3] a, float[N, 3] b) => (float[N, 3] d, float[N, 3] s) {
    d = Sub(a, b)
    s = Add(a, b)
  })";

// Feeds given in another order than the first run's must not be swapped.
TEST(SessionRunTest, FeedOrderChangesBetweenRuns) {
  auto session = Open(kSub);
  ASSERT_TRUE(session);
  const Tensor a = Floats({2, 3}, 10), b = Floats({2, 3}, 1);
  for (int i = 0; i < 4; ++i) {
    std::vector<NamedTensor> feeds = {{"a", a}, {"b", b}};
    if (i % 2) std::swap(feeds[0], feeds[1]);
    std::vector<NamedTensor> out;
    ASSERT_TRUE(session->Run(feeds, &out).ok());
    EXPECT_EQ(Elements(out[0].tensor), std::vector<float>(6, 9.0f)) << i;
  }
}

// Output buffers asked for out of graph order get their own output.
TEST(SessionRunTest, OutputBuffersInAnotherOrder) {
  auto session = Open(kSub);
  ASSERT_TRUE(session);
  const Tensor a = Floats({1, 3}, 5), b = Floats({1, 3}, 1);
  std::vector<NamedTensor> out = {{"s", Tensor()}, {"d", Tensor()}};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(session->Run({{"a", a}, {"b", b}}, &out).ok());
    EXPECT_EQ(Elements(out[0].tensor), (std::vector<float>{6, 8, 10}));
    EXPECT_EQ(Elements(out[1].tensor), (std::vector<float>{4, 4, 4}));
  }
}

// After fast runs, feeds that differ in type, shape, name or data are
// still checked and refused with the slow path's errors.
TEST(SessionRunTest, BadFeedsAfterGoodRunsAreRefused) {
  auto session = Open(kSub);
  ASSERT_TRUE(session);
  const Tensor a = Floats({2, 3}, 0), b = Floats({2, 3}, 0);
  std::vector<NamedTensor> out;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(session->Run({{"a", a}, {"b", b}}, &out).ok());

  Tensor ints = *Tensor::Allocate(DataType::kInt32, {2, 3});
  Status s = session->Run({{"a", a}, {"b", ints}}, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'b'"), std::string::npos) << s.message();

  s = session->Run({{"a", a}, {"c", b}}, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'c' is not an input"), std::string::npos) << s.message();

  Tensor empty_data = Tensor::Wrap(DataType::kFloat, {2, 3}, nullptr);
  s = session->Run({{"a", a}, {"b", empty_data}}, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("has no data"), std::string::npos) << s.message();

  s = session->Run({{"a", a}, {"b", b}, {"a", a}}, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("input 'a' is fed twice"), std::string::npos) << s.message();

  s = session->Run({{"a", a}}, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("input 'b' is not fed"), std::string::npos) << s.message();

  ASSERT_TRUE(session->Run({{"a", a}, {"b", b}}, &out).ok());  // still fine
}

// The feed rules (one check, onednn::CheckFeeds, for the cache and the
// planner) through Session::Run: an overridable initializer may be fed and
// then replaces its stored value, a plain initializer may not; every refusal
// names the model, the input and the reason.
constexpr char kScaled[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[N, 3] a, float[3] w) => (float[N, 3] y) <float[3] w = {1.0, 2.0, 3.0}, float[3] k = {1.0, 1.0, 1.0}> {
    t = Mul(a, w)
    y = Add(t, k)
  })";

TEST(SessionRunTest, FeedRulesNameModelInputAndReason) {
  auto session = Open(kScaled);
  ASSERT_TRUE(session);
  ASSERT_EQ(session->overridable_initializers().size(), 1u);
  EXPECT_EQ(session->overridable_initializers()[0].name, "w");
  const Tensor a = Floats({1, 3}, 1);  // 1 2 3
  std::vector<NamedTensor> out;
  ASSERT_TRUE(session->Run({{"a", a}}, &out).ok());
  EXPECT_EQ(Elements(out[0].tensor), (std::vector<float>{2, 5, 10}));  // a*w+k
  ASSERT_TRUE(session->Run({{"w", Floats({3}, 2)}, {"a", a}}, &out).ok());
  EXPECT_EQ(Elements(out[0].tensor), (std::vector<float>{3, 7, 13}));  // w = 2 3 4

  const std::pair<std::vector<NamedTensor>, std::string> refused[] = {
      {{{"a", a}, {"k", Floats({3}, 0)}}, "<memory>: 'k' is not an input of the model"},
      {{{"a", a}, {"w", Floats({3}, 0)}, {"w", Floats({3}, 0)}},
       "<memory>: input 'w' is fed twice"},
      {{{"w", Floats({3}, 0)}}, "<memory>: input 'a' is not fed"},
      {{{"a", a}, {"w", Floats({4}, 0)}}, "<memory>: input 'w': expected shape [3], got [4]"},
      {{{"a", *Tensor::Allocate(DataType::kInt64, {1, 3})}},
       "<memory>: input 'a': expected element type float, got int64"},
  };
  for (const auto& [feeds, message] : refused) {
    Status s = session->Run(feeds, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(s.message(), message);
  }
  ASSERT_TRUE(session->Run({{"a", a}}, &out).ok());  // the stored w again
  EXPECT_EQ(Elements(out[0].tensor), (std::vector<float>{2, 5, 10}));
}

// A Reshape whose shape is fed: the plan is specialised on the value, so
// a run with the same dims but another value must not reuse it.
TEST(SessionRunTest, PlansSpecialisedOnAValueAreKeyedByIt) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[6] x, int64[2] shape) => (float[A, B] y) {
      r = Relu(x)
      y = Reshape(r, shape)
    })");
  ASSERT_TRUE(session);
  const Tensor x = Floats({6}, 1);
  Tensor shape = *Tensor::Allocate(DataType::kInt64, {2});
  for (const std::vector<int64_t>& dims :
       std::vector<std::vector<int64_t>>{{2, 3}, {3, 2}, {2, 3}, {6, 1}}) {
    std::memcpy(shape.data(), dims.data(), 2 * sizeof(int64_t));
    std::vector<NamedTensor> out;
    ASSERT_TRUE(session->Run({{"x", x}, {"shape", shape}}, &out).ok());
    EXPECT_EQ(out[0].tensor.shape(), dims);
    EXPECT_EQ(Elements(out[0].tensor), Elements(x));
  }
}

// Runs from several threads share the spare context and the pool.
TEST(SessionRunTest, ConcurrentRunsWithTwoSignatures) {
  auto session = Open(kSub);
  ASSERT_TRUE(session);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const int64_t batch = 1 + (i + t) % 2;
        const Tensor a = Floats({batch, 3}, static_cast<float>(t * 100 + i));
        const Tensor b = Floats({batch, 3}, 0);
        std::vector<NamedTensor> out;
        if (!session->Run({{"a", a}, {"b", b}}, &out).ok() ||
            Elements(out[0].tensor) != std::vector<float>(batch * 3, t * 100.0f + i)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace bnfold
