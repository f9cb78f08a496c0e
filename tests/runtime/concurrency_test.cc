// One Session run from 8 threads at once, each with its own sequence of batch
// sizes, so plans for new input shapes are compiled while other threads run
// (and compile) others. Every output is checked against a double-precision
// evaluation of the model computed here, and against the same session run
// from one thread before the threads start (the concurrent result must be the
// same bits). Built and run under TSan by scripts/sanitize.sh thread (label
// "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cmath>
#include <map>
#include <thread>

#include "bnfold/session.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold {
namespace {

constexpr int kThreads = 8;
constexpr int kIn = 2, kOut = 3, kH = 6, kW = 5, kK = 3;  // Conv 3x3, pads 1

// Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm:
// folds (BN into Conv), fusion (Relu into Conv) and several kernels.
struct Model {
  std::vector<float> w = testing::SeededValues(kOut * kIn * kK * kK, 1, -0.5f, 0.5f);
  std::vector<float> b = testing::SeededValues(kOut, 2, -0.2f, 0.2f);
  std::vector<float> scale = testing::SeededValues(kOut, 3, 0.5f, 1.5f);
  std::vector<float> shift = testing::SeededValues(kOut, 4, -0.3f, 0.3f);
  std::vector<float> mean = testing::SeededValues(kOut, 5, -0.2f, 0.2f);
  std::vector<float> var = testing::SeededValues(kOut, 6, 0.5f, 2.0f);
  std::vector<float> fc = testing::SeededValues(kOut * 2, 7, -1.0f, 1.0f);  // [3, 2]
  std::vector<float> fc_b = testing::SeededValues(2, 8, -0.1f, 0.1f);

  std::string Text() const {
    using testing::InitializerText;
    return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
           "g (float[N, 2, 6, 5] x) => (float[N, 2] y) <" +
           InitializerText("w", {kOut, kIn, kK, kK}, w) + ", " +
           InitializerText("b", {kOut}, b) + ", " + InitializerText("scale", {kOut}, scale) +
           ", " + InitializerText("shift", {kOut}, shift) + ", " +
           InitializerText("mean", {kOut}, mean) + ", " + InitializerText("var", {kOut}, var) +
           ", " + InitializerText("fc", {kOut, 2}, fc) + ", " +
           InitializerText("fc_b", {2}, fc_b) +
           "> {\n"
           "  c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n"
           "  n = BatchNormalization <epsilon = 0.001> (c, scale, shift, mean, var)\n"
           "  r = Relu(n)\n"
           "  p = GlobalAveragePool(r)\n"
           "  f = Flatten(p)\n"
           "  y = Gemm(f, fc, fc_b)\n"
           "}";
  }

  // The model in double precision, written out loop by loop.
  std::vector<double> Reference(const std::vector<float>& x, int64_t batch) const {
    std::vector<double> y(batch * 2);
    for (int64_t n = 0; n < batch; ++n) {
      std::vector<double> pooled(kOut);
      for (int o = 0; o < kOut; ++o) {
        const double bn_scale = scale[o] / std::sqrt(static_cast<double>(var[o]) + 0.001);
        double sum = 0;
        for (int i = 0; i < kH; ++i) {
          for (int j = 0; j < kW; ++j) {
            double acc = b[o];
            for (int c = 0; c < kIn; ++c) {
              for (int ki = 0; ki < kK; ++ki) {
                for (int kj = 0; kj < kK; ++kj) {
                  const int ii = i + ki - 1, jj = j + kj - 1;
                  if (ii < 0 || ii >= kH || jj < 0 || jj >= kW) continue;
                  acc += static_cast<double>(x[((n * kIn + c) * kH + ii) * kW + jj]) *
                         w[((o * kIn + c) * kK + ki) * kK + kj];
                }
              }
            }
            sum += std::max(0.0, (acc - mean[o]) * bn_scale + shift[o]);
          }
        }
        pooled[o] = sum / (kH * kW);
      }
      for (int k = 0; k < 2; ++k) {
        double acc = fc_b[k];
        for (int o = 0; o < kOut; ++o) acc += pooled[o] * fc[o * 2 + k];
        y[n * 2 + k] = acc;
      }
    }
    return y;
  }
};

Tensor Input(int64_t batch, uint32_t seed) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, {batch, kIn, kH, kW});
  const std::vector<float> v = testing::SeededValues(t.num_elements(), seed, -1.0f, 1.0f);
  std::copy(v.begin(), v.end(), t.data_as<float>());
  return t;
}

std::vector<float> Floats(const Tensor& t) {
  return std::vector<float>(t.data_as<float>(), t.data_as<float>() + t.num_elements());
}

TEST(ConcurrencyTest, EightThreadsCompileAndRunDifferentBatchSizes) {
  const Model model;
  const std::string bytes = testing::ModelBytesFromText(model.Text());
  // One OpenMP thread per run: the concurrency is the callers'.
  auto reference_session = Session::OpenFromBytes(bytes, {.threads = 1});
  ASSERT_TRUE(reference_session.ok()) << reference_session.status().message();

  // Batch sizes 1..8: each thread starts at its own and walks the others, so
  // all eight plans are first compiled at the same moment.
  constexpr int kRounds = 6;
  std::map<std::pair<int64_t, uint32_t>, std::vector<float>> expected;
  auto feed = [](int thread, int round) {
    const int64_t batch = 1 + (thread + round * 3) % kThreads;
    return std::make_pair(batch, static_cast<uint32_t>(100 + thread * 31 + round));
  };
  for (int t = 0; t < kThreads; ++t) {
    for (int r = 0; r < kRounds; ++r) {
      const auto [batch, seed] = feed(t, r);
      const Tensor x = Input(batch, seed);
      std::vector<NamedTensor> out;
      ASSERT_TRUE((*reference_session)->Run({{"x", x}}, &out).ok());
      const std::vector<double> want = model.Reference(Floats(x), batch);
      const std::vector<float> got = Floats(out[0].tensor);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], 1e-4 + 1e-4 * std::abs(want[i])) << "batch " << batch;
      }
      expected[{batch, seed}] = got;
    }
  }

  // A fresh session, so no plan exists when the threads start.
  auto session = Session::OpenFromBytes(bytes, {.threads = 1});
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::barrier start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        const auto [batch, seed] = feed(t, r);
        const Tensor x = Input(batch, seed);
        std::vector<NamedTensor> out;
        const Status s = (*session)->Run({{"x", x}}, &out);
        if (!s.ok()) {
          errors[t] = s.message();
          ++failures;
        } else if (out.size() != 1 || Floats(out[0].tensor) != expected.at({batch, seed})) {
          errors[t] = "batch " + std::to_string(batch) + ": output differs from the reference";
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*session)->stats().plans, kThreads);
}

// Sessions opened, run and destroyed on several threads at once (the
// process-wide state: kernel registry, CPU checks, environment reads).
TEST(ConcurrencyTest, SessionsOpenedAndClosedConcurrently) {
  const Model model;
  const std::string bytes = testing::ModelBytesFromText(model.Text());
  std::barrier start(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int r = 0; r < 3; ++r) {
        auto session = Session::OpenFromBytes(bytes, {.threads = 1});
        if (!session.ok()) {
          errors[t] = session.status().message();
          return;
        }
        const int64_t batch = 1 + (t + r) % 3;
        const Tensor x = Input(batch, 7 + t);
        std::vector<NamedTensor> out;
        if (!(*session)->Run({{"x", x}}, &out).ok()) {
          errors[t] = "run failed";
          return;
        }
        const std::vector<double> want = model.Reference(Floats(x), batch);
        const std::vector<float> got = Floats(out[0].tensor);
        for (size_t i = 0; i < want.size(); ++i) {
          if (std::abs(got[i] - want[i]) > 1e-4 + 1e-4 * std::abs(want[i])) {
            errors[t] = "output " + std::to_string(i) + " differs";
            return;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;
}

}  // namespace
}  // namespace bnfold
