// Session through the public API: plan cache per input shape, caller-owned
// output buffers, concurrent runs on one session, feed validation.
#include "bnfold/session.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "tests/test_util/onnx_text.h"

namespace bnfold {
namespace {

const char* kReluModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  relu (float[N, 5] x) => (float[N, 5] y) { y = Relu(x) }
)";

std::unique_ptr<Session> OpenRelu(int threads = 1) {
  auto session = Session::OpenFromBytes(testing::ModelBytesFromText(kReluModel),
                                        {.threads = threads});
  EXPECT_TRUE(session.ok()) << session.status().message();
  return std::move(*session);
}

Tensor RandomInput(int64_t batch, std::mt19937* rng) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, {batch, 5});
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = dist(*rng);
  return t;
}

void ExpectRelu(const Tensor& in, const Tensor& out) {
  ASSERT_EQ(out.shape(), in.shape());
  for (int64_t i = 0; i < in.num_elements(); ++i) {
    ASSERT_EQ(out.data_as<float>()[i], std::max(0.0f, in.data_as<float>()[i])) << i;
  }
}

TEST(SessionTest, DescribesInputsAndOutputs) {
  auto session = OpenRelu();
  ASSERT_EQ(session->inputs().size(), 1u);
  EXPECT_EQ(session->inputs()[0].name, "x");
  EXPECT_EQ(session->inputs()[0].dtype, DataType::kFloat);
  EXPECT_EQ(session->inputs()[0].shape, (std::vector<int64_t>{-1, 5}));
  EXPECT_EQ(session->inputs()[0].dim_names[0], "N");
  ASSERT_EQ(session->outputs().size(), 1u);
  EXPECT_EQ(session->outputs()[0].name, "y");
}

TEST(SessionTest, StatsCountPlansAndPooledContexts) {
  auto session = OpenRelu();
  EXPECT_EQ(session->stats().plans, 0);
  EXPECT_EQ(session->stats().idle_contexts, 0);
  std::mt19937 rng(3);
  for (int64_t batch : {1, 2, 1, 4}) {
    std::vector<NamedTensor> out;
    ASSERT_TRUE(session->Run({{"x", RandomInput(batch, &rng)}}, &out).ok());
  }
  EXPECT_EQ(session->stats().plans, 3);
  EXPECT_EQ(session->stats().idle_contexts, 3);  // one per plan after sequential runs
}

TEST(SessionTest, NamedOutputWithoutDataIsAllocated) {
  auto session = OpenRelu();
  std::mt19937 rng(4);
  Tensor in = RandomInput(3, &rng);
  std::vector<NamedTensor> out = {{"y", Tensor()}};
  ASSERT_TRUE(session->Run({{"x", in}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  ExpectRelu(in, out[0].tensor);
}

TEST(SessionTest, NewBatchSizeCompilesANewPlanAndOldOnesStillWork) {
  auto session = OpenRelu();
  std::mt19937 rng(1);
  for (int64_t batch : {1, 7, 1, 3, 7}) {
    Tensor in = RandomInput(batch, &rng);
    std::vector<NamedTensor> out;
    ASSERT_TRUE(session->Run({{"x", in}}, &out).ok());
    ExpectRelu(in, out.at(0).tensor);
  }
}

TEST(SessionTest, WritesIntoCallerOwnedOutputBuffers) {
  auto session = OpenRelu();
  std::mt19937 rng(2);
  Tensor in = RandomInput(4, &rng);
  std::vector<float> buffer(20, -7.0f);
  std::vector<NamedTensor> out = {{"y", Tensor::Wrap(DataType::kFloat, {4, 5}, buffer.data())}};
  ASSERT_TRUE(session->Run({{"x", in}}, &out).ok());
  EXPECT_EQ(out[0].tensor.data(), buffer.data());
  ExpectRelu(in, out[0].tensor);

  std::vector<NamedTensor> wrong = {{"y", Tensor::Wrap(DataType::kFloat, {5, 4}, buffer.data())}};
  Status s = session->Run({{"x", in}}, &wrong);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("output 'y'"), std::string::npos) << s.message();
}

TEST(SessionTest, ConcurrentRunsOnOneSessionAreIndependent) {
  auto session = OpenRelu();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      for (int i = 0; i < 200; ++i) {
        Tensor in = RandomInput(1 + (i + t) % 4, &rng);
        std::vector<NamedTensor> out;
        if (!session->Run({{"x", in}}, &out).ok()) {
          ++failures;
          continue;
        }
        for (int64_t k = 0; k < in.num_elements(); ++k) {
          if (out[0].tensor.data_as<float>()[k] != std::max(0.0f, in.data_as<float>()[k])) {
            ++failures;
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(SessionTest, RejectsBadFeeds) {
  auto session = OpenRelu();
  std::mt19937 rng(3);
  std::vector<NamedTensor> out;

  Status missing = session->Run({}, &out);
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("input 'x' is not fed"), std::string::npos) << missing.message();

  Status unknown = session->Run({{"x", RandomInput(1, &rng)}, {"z", RandomInput(1, &rng)}}, &out);
  EXPECT_NE(unknown.message().find("'z' is not an input"), std::string::npos) << unknown.message();

  Tensor wrong_shape = *Tensor::Allocate(DataType::kFloat, {2, 6});
  Status shape = session->Run({{"x", wrong_shape}}, &out);
  EXPECT_NE(shape.message().find("expected shape [N,5], got [2,6]"), std::string::npos)
      << shape.message();

  Tensor wrong_type = *Tensor::Allocate(DataType::kInt64, {2, 5});
  Status type = session->Run({{"x", wrong_type}}, &out);
  EXPECT_NE(type.message().find("expected element type float, got int64"), std::string::npos)
      << type.message();
}

}  // namespace
}  // namespace bnfold
