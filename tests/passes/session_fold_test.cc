// Folding through the public API: bnfold::Session with optimize on vs off on
// the same model and inputs. The BN counts need no backend; the numeric
// comparison runs the oneDNN kernels (Conv/ConvTranspose/Gemm/MatMul/BN/...).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bnfold/session.h"
#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

struct SessionCase {
  std::string name;
  ModelSpec spec;
  int batchnorm_before = 1;
  int batchnorm_after = 0;
};

std::ostream& operator<<(std::ostream& os, const SessionCase& c) { return os << c.name; }

ModelSpec WithBatchNorm(const std::string& inputs, const std::string& body, int64_t channels,
                        std::vector<Init> extra, int opset = 15) {
  ModelSpec spec;
  spec.text = Header(8, opset) + "g (" + inputs + ") => (float Y) {\n" + body + "}\n";
  spec.inits = BatchNormInits("bn", channels);
  for (Init& i : extra) spec.inits.push_back(i);
  return spec;
}

std::vector<SessionCase> Cases() {
  std::vector<SessionCase> cases;
  cases.push_back({"ConvGroup2", WithBatchNorm("float[N,4,9,9] X",
                                               "  T = Conv <group = 2, pads = [1, 1, 1, 1]> (X, W, B)\n" +
                                                   BatchNormLine("T", "Y", 15),
                                               6, {{"W", {6, 2, 3, 3}}, {"B", {6}}})});
  cases.push_back({"DepthwiseConvNoBias",
                   WithBatchNorm("float[N,8,7,7] X",
                                 "  T = Conv <group = 8, strides = [2, 2]> (X, W)\n" +
                                     BatchNormLine("T", "Y", 15),
                                 8, {{"W", {8, 1, 3, 3}}})});
  cases.push_back({"Conv1DOpset9", WithBatchNorm("float[N,3,16] X",
                                                 "  T = Conv <pads = [2, 2]> (X, W, B)\n" +
                                                     BatchNormLine("T", "Y", 9),
                                                 5, {{"W", {5, 3, 5}}, {"B", {5}}}, 9)});
  cases.push_back({"Conv3D", WithBatchNorm("float[N,2,5,5,5] X",
                                           "  T = Conv (X, W)\n" + BatchNormLine("T", "Y", 15), 4,
                                           {{"W", {4, 2, 3, 3, 3}}})});
  cases.push_back({"ConvTransposeGroup2",
                   WithBatchNorm("float[N,4,5,5] X",
                                 "  T = ConvTranspose <group = 2, strides = [2, 2]> (X, W, B)\n" +
                                     BatchNormLine("T", "Y", 15),
                                 6, {{"W", {4, 3, 3, 3}}, {"B", {6}}})});
  cases.push_back({"GemmTransBAlphaBeta",
                   WithBatchNorm("float[3,7] X",
                                 "  T = Gemm <transB = 1, alpha = 0.5, beta = 1.5> (X, W, C)\n" +
                                     BatchNormLine("T", "Y", 15),
                                 6, {{"W", {6, 7}}, {"C", {3, 6}}})});
  cases.push_back({"MatMulAddBias", WithBatchNorm("float[N,7] X",
                                                  "  T0 = MatMul (X, W)\n  T = Add (T0, K)\n" +
                                                      BatchNormLine("T", "Y", 14),
                                                  6, {{"W", {7, 6}}, {"K", {6}}}, 14)});
  cases.push_back({"BatchNormAfterReluIntoConv",
                   WithBatchNorm("float[N,3,8,8] X",
                                 "  T = Conv <pads = [1, 1, 1, 1]> (X, W1)\n  R = Relu (T)\n" +
                                     BatchNormLine("R", "U", 15) + "  Y = Conv (U, W2, B2)\n",
                                 4, {{"W1", {4, 3, 3, 3}}, {"W2", {5, 4, 1, 1}}, {"B2", {5}}})});
  cases.push_back({"BatchNormThroughMaxPoolIntoConv",
                   WithBatchNorm("float[N,3,8,8] X",
                                 "  R = Relu (X)\n" + BatchNormLine("R", "U", 15) +
                                     "  P = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (U)\n"
                                     "  Y = Conv <group = 3> (P, W)\n",
                                 3, {{"W", {6, 1, 2, 2}}})});
  cases.push_back({"BatchNormIntoGemm",
                   WithBatchNorm("float[N,6] X",
                                 "  R = Relu (X)\n" + BatchNormLine("R", "U", 15) +
                                     "  Y = Gemm (U, W, C)\n",
                                 6, {{"W", {6, 4}}, {"C", {4}}})});
  ModelSpec keras;
  keras.text = Header(8, 13) + "g (float[N,6] A) => (float Y) {\n"
               "  T = MatMul (A, W)\n  U = Add (T, Bias)\n  V = Mul (U, G)\n  Y = Add (V, H)\n}\n";
  keras.inits = {{"W", {6, 5}}, {"Bias", {5}}, {"G", {5}, 0.5, 2.0}, {"H", {5}}};
  cases.push_back({"KerasDenseAffineChain", keras, 0, 0});
  ModelSpec unfoldable = WithBatchNorm("float[N,3,4,4] X",
                                       "  R = Relu (X)\n" + BatchNormLine("R", "U", 15) +
                                           "  Y = Relu (U)\n",
                                       3, {});
  cases.push_back({"UnfoldableStays", unfoldable, 1, 1});
  return cases;
}

class SessionFoldTest : public ::testing::TestWithParam<SessionCase> {};

std::unique_ptr<Session> OpenSession(const ModelSpec& spec, bool optimize) {
  SessionOptions options;
  options.optimize = optimize;
  options.threads = 1;
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(ModelBytes(spec), options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  return session.ok() ? std::move(*session) : nullptr;
}

TEST_P(SessionFoldTest, BatchNormCountsThroughThePublicApi) {
  const SessionCase& c = GetParam();
  std::unique_ptr<Session> folded = OpenSession(c.spec, true);
  std::unique_ptr<Session> plain = OpenSession(c.spec, false);
  ASSERT_TRUE(folded && plain);
  EXPECT_EQ(folded->batchnorm_count_before(), c.batchnorm_before);
  EXPECT_EQ(folded->batchnorm_count_after(), c.batchnorm_after);
  EXPECT_EQ(plain->batchnorm_count_after(), c.batchnorm_before);
  // Folding never changes the interface.
  ASSERT_EQ(folded->inputs().size(), plain->inputs().size());
  ASSERT_EQ(folded->outputs().size(), plain->outputs().size());
  for (size_t i = 0; i < plain->outputs().size(); ++i) {
    EXPECT_EQ(folded->outputs()[i].name, plain->outputs()[i].name);
  }
}

TEST_P(SessionFoldTest, OptimizedMatchesUnoptimizedWithin1e5) {
  const SessionCase& c = GetParam();
  std::unique_ptr<Session> folded = OpenSession(c.spec, true);
  std::unique_ptr<Session> plain = OpenSession(c.spec, false);
  ASSERT_TRUE(folded && plain);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::vector<float>> buffers;
  std::vector<NamedTensor> feeds;
  for (const TensorInfo& info : plain->inputs()) {
    std::vector<int64_t> shape = info.shape;
    for (int64_t& d : shape) d = d < 0 ? 2 : d;
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    buffers.emplace_back(count);
    for (float& v : buffers.back()) v = dist(rng);
    feeds.push_back({info.name, Tensor::Wrap(DataType::kFloat, shape, buffers.back().data())});
  }
  std::vector<NamedTensor> want, got;
  Status s = plain->Run(feeds, &want);
  ASSERT_TRUE(s.ok()) << "unoptimized: " << s.ToString();
  s = folded->Run(feeds, &got);
  ASSERT_TRUE(s.ok()) << "optimized: " << s.ToString();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].tensor.shape(), want[i].tensor.shape()) << want[i].name;
    double max_ref = 0.0, max_diff = 0.0;
    for (int64_t j = 0; j < want[i].tensor.num_elements(); ++j) {
      const double w = want[i].tensor.GetAsDouble(j), g = got[i].tensor.GetAsDouble(j);
      max_ref = std::max(max_ref, std::fabs(w));
      max_diff = std::max(max_diff, std::fabs(g - w));
    }
    EXPECT_LE(max_diff, 1e-5 * max_ref) << want[i].name << ": max |diff| " << max_diff
                                        << " for max |ref| " << max_ref;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, SessionFoldTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace bnfold::passes::testing
