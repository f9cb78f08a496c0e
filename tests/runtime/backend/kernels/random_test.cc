// Kernels of the random family (runtime/backend/onednn/kernels/random.cc)
// through the public Session API, models in ONNX text: a seed gives the
// same draws in every session, successive runs draw anew (the generators
// are never folded into constants, by the planner or by fold-constants),
// and the samples follow their distribution (moments and frequencies over
// 20,000 seeded draws, exact for probabilities 0 and 1).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/runtime/backend/kernels/elementwise_test_util.h"

namespace bnfold::testing {
namespace {

onnx::ModelProto Parse(int opset, const std::string& signature, const std::string& body) {
  return ParseModel("<ir_version: 8, opset_import: [\"\" : " + std::to_string(opset) + "]>\ng " +
                    signature + " {\n" + body + "\n}\n");
}

// `runs` successive runs of one session.
std::vector<std::vector<double>> RunTimes(const onnx::ModelProto& model,
                                          const std::vector<NamedTensor>& feeds, int runs,
                                          bool optimize = true) {
  std::vector<std::vector<double>> results;
  StatusOr<std::unique_ptr<Session>> session = OpenModel(model, optimize);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return results;
  for (int r = 0; r < runs; ++r) {
    std::vector<NamedTensor> outputs;
    const Status status = (*session)->Run(feeds, &outputs);
    EXPECT_TRUE(status.ok()) << status.message();
    if (!status.ok() || outputs.empty()) return results;
    results.push_back(ToDoubles(outputs[0].tensor));
  }
  return results;
}

void ExpectMoments(const std::vector<double>& v, double mean, double stddev, double tolerance) {
  double sum = 0.0, squares = 0.0;
  for (double x : v) sum += x;
  const double m = sum / v.size();
  for (double x : v) squares += (x - m) * (x - m);
  EXPECT_NEAR(m, mean, tolerance);
  EXPECT_NEAR(std::sqrt(squares / v.size()), stddev, tolerance);
}

TEST(RandomTest, SeededNormalRepeatsAcrossSessionsAndDrawsAnewEachRun) {
  const onnx::ModelProto model = Parse(
      13, "() => (float[20000] Y)",
      "  Y = RandomNormal <shape = [20000], mean = 2.0, scale = 3.0, seed = 7.0> ()");
  for (bool optimize : {true, false}) {
    const std::vector<std::vector<double>> a = RunTimes(model, {}, 2, optimize);
    const std::vector<std::vector<double>> b = RunTimes(model, {}, 2, optimize);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(a[0], b[0]);
    EXPECT_EQ(a[1], b[1]);
    EXPECT_NE(a[0], a[1]);  // not folded into a constant
    ExpectMoments(a[0], 2.0, 3.0, 0.1);
  }
  // Another seed, other draws.
  const onnx::ModelProto other = Parse(
      13, "() => (float[20000] Y)",
      "  Y = RandomNormal <shape = [20000], mean = 2.0, scale = 3.0, seed = 8.0> ()");
  EXPECT_NE(RunTimes(model, {}, 1)[0], RunTimes(other, {}, 1)[0]);
}

TEST(RandomTest, UniformLikeOfAConstantStaysRandomInTheOptimizedGraph) {
  onnx::ModelProto model = Parse(
      13, "(double[2,5000] X) => (double[2,5000] Y)",
      "  R = RandomUniformLike <low = -1.0, high = 3.0, seed = 1.0> (P)\n  Y = Add (X, R)");
  AddInitializer(&model, "P", DataType::kDouble, {2, 5000}, std::vector<double>(10000, 0.0));
  const std::vector<NamedTensor> feeds = {
      {"X", MakeTensor(DataType::kDouble, {2, 5000}, std::vector<double>(10000, 0.0))}};
  const std::vector<std::vector<double>> runs = RunTimes(model, feeds, 2);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_NE(runs[0], runs[1]);
  for (double x : runs[0]) {
    ASSERT_GE(x, -1.0);
    ASSERT_LT(x, 3.0);
  }
  ExpectMoments(runs[0], 1.0, 4.0 / std::sqrt(12.0), 0.05);
}

TEST(RandomTest, BernoulliIsExactAtZeroAndOneAndFollowsP) {
  const onnx::ModelProto model =
      Parse(15, "(float[20000] P) => (bool[20000] Y)", "  Y = Bernoulli <dtype = 9, seed = 3.0> (P)");
  std::vector<double> p(20000);
  for (size_t i = 0; i < p.size(); ++i) p[i] = i % 4 == 0 ? 0.0 : (i % 4 == 1 ? 1.0 : 0.3);
  const std::vector<double> y =
      RunTimes(model, {{"P", MakeTensor(DataType::kFloat, {20000}, p)}}, 1)[0];
  double ones_at_03 = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0) {
      ASSERT_EQ(y[i], 0.0) << i;
    }
    if (p[i] == 1.0) {
      ASSERT_EQ(y[i], 1.0) << i;
    }
    if (p[i] == 0.3) ones_at_03 += y[i];
  }
  EXPECT_NEAR(ones_at_03 / 10000.0, 0.3, 0.02);
}

TEST(RandomTest, MultinomialDrawsFromTheSoftmaxOfEachRow) {
  const onnx::ModelProto model = Parse(
      7, "(float[2,2] X) => (int64[2,10000] Y)",
      "  Y = Multinomial <sample_size = 10000, dtype = 7, seed = 5.0> (X)");
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> y = RunTimes(
      model,
      {{"X", MakeTensor(DataType::kFloat, {2, 2}, {std::log(0.25), std::log(0.75), 0.0, -inf})}},
      1)[0];
  double ones = 0.0;
  for (int s = 0; s < 10000; ++s) ones += y[s];
  EXPECT_NEAR(ones / 10000.0, 0.75, 0.02);
  for (int s = 10000; s < 20000; ++s) ASSERT_EQ(y[s], 0.0);  // class 1 has probability 0
}

}  // namespace
}  // namespace bnfold::testing
