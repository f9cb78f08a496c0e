// Kernels of the loss signal family (runtime/backend/onednn/kernels/loss_signal.cc)
// through the public Session API (single_node_model.h), against NumPy,
// double-precision or hand-computed references: the edge cases the ONNX
// backend suite misses (empty tensors, broadcasting, negative axes, integer
// overflow rules, NaN handling).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <optional>
#include <tuple>

#include "tests/runtime/backend/kernels/expect_values.h"
#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold::testing {
namespace {

// ---------------------------------------------------------------- losses

// Hand-written reference for input [N, C, D] (logp already log-probabilities):
// the per-element losses, then the reduction.
std::vector<double> ReferenceNll(const std::vector<double>& logp, const std::vector<int64_t>& target,
                                 int64_t n, int64_t c, int64_t d, const std::vector<double>& weight,
                                 const std::string& reduction, std::optional<int64_t> ignore) {
  std::vector<double> loss;
  double total = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const int64_t t = target[i * d + j];
      double l = 0;
      if (!ignore || t != *ignore) {
        const double w = weight.empty() ? 1.0 : weight[t];
        l = -w * logp[i * c * d + t * d + j];
        wsum += w;
      }
      loss.push_back(l);
      total += l;
    }
  }
  if (reduction == "none") return loss;
  if (reduction == "sum") return {total};
  return {total / wsum};
}

std::vector<double> LogSoftmaxOverC(const std::vector<double>& x, int64_t n, int64_t c, int64_t d) {
  std::vector<double> out(x.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < c; ++k) sum += std::exp(x[(i * c + k) * d + j]);
      for (int64_t k = 0; k < c; ++k) out[(i * c + k) * d + j] = x[(i * c + k) * d + j] - std::log(sum);
    }
  }
  return out;
}

struct LossCase {
  std::string reduction;
  bool weighted;
  std::optional<int64_t> ignore;
};

TEST(LossTest, NllLossAndSoftmaxCrossEntropyMatchTheReference) {
  // [N=2, C=3, d1=2, d2=2]; targets include the ignore index -1 where set.
  const std::vector<int64_t> dims = {2, 3, 2, 2};
  const std::vector<int64_t> loss_dims = {2, 2, 2};
  const std::vector<double> x = RandomValues(24, 51);
  const std::vector<int64_t> target = {0, 2, 1, -1, 2, 2, 0, 1};
  const std::vector<double> weight = {0.5, 2.0, 1.25};
  for (const LossCase& lc : {LossCase{"none", false, -1}, LossCase{"sum", true, -1},
                             LossCase{"mean", true, -1}, LossCase{"mean", false, -1}}) {
    for (const std::string op : {"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"}) {
      for (DataType dtype : {DataType::kFloat, DataType::kDouble, DataType::kFloat16}) {
        for (DataType tdtype : {DataType::kInt64, DataType::kInt32}) {
          SCOPED_TRACE(op + " " + lc.reduction + (lc.weighted ? " weighted " : " ") +
                       DataTypeName(dtype) + " " + DataTypeName(tdtype));
          const bool sce = op == "SoftmaxCrossEntropyLoss";
          const std::vector<double> xin = ToDoubles(MakeTensor(dtype, dims, x));  // rounded
          const std::vector<double> logp = sce ? LogSoftmaxOverC(xin, 2, 3, 4) : xin;
          SingleNodeModel m(op, 13);
          m.Input("x", dtype, dims).Input("t", tdtype, loss_dims);
          std::vector<Tensor> feeds = {MakeTensor(dtype, dims, x),
                                       MakeTensor(tdtype, loss_dims, {target.begin(), target.end()})};
          if (lc.weighted) {
            m.Input("w", dtype, {3});
            feeds.push_back(MakeTensor(dtype, {3}, weight));
          }
          m.Output("y", dtype, lc.reduction == "none" ? loss_dims : std::vector<int64_t>{});
          if (sce) m.Output("log_prob", dtype, dims);
          m.StringAttr("reduction", lc.reduction).IntAttr("ignore_index", *lc.ignore);
          StatusOr<std::vector<Tensor>> y = m.Run(feeds);
          ASSERT_TRUE(y.ok()) << y.status().message();
          const double tol = dtype == DataType::kFloat16 ? 3e-3 : 1e-6;
          ExpectValuesNear(ToDoubles((*y)[0]),
                     ReferenceNll(logp, target, 2, 3, 4, lc.weighted ? weight : std::vector<double>{},
                                  lc.reduction, lc.ignore),
                     tol);
          if (sce) ExpectValuesNear(ToDoubles((*y)[1]), logp, tol);
        }
      }
    }
  }
}

TEST(LossTest, TwoDimensionalInputWithoutIgnoreIndexAveragesOverN) {
  // [N=3, C=2]: mean of -x[n, t[n]] (hand-computed).
  SingleNodeModel m("NegativeLogLikelihoodLoss", 12);
  m.Input("x", DataType::kFloat, {3, 2}).Input("t", DataType::kInt64, {3});
  m.Output("y", DataType::kFloat, {});
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {3, 2}, {-1, -2, -3, -4, -5, -6}),
                                           MakeTensor(DataType::kInt64, {3}, {1, 0, 1})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), std::vector<int64_t>{});
  EXPECT_NEAR(ToDoubles((*y)[0])[0], (2 + 3 + 6) / 3.0, 1e-6);
}

TEST(LossTest, EveryTargetIgnoredGivesNanMeanAndZeroSum) {
  // mean = 0 / 0, as the ONNX reference and PyTorch give.
  for (const std::string reduction : {"mean", "sum"}) {
    SingleNodeModel m("NegativeLogLikelihoodLoss", 13);
    m.Input("x", DataType::kFloat, {2, 2}).Input("t", DataType::kInt64, {2});
    m.Output("y", DataType::kFloat, {}).IntAttr("ignore_index", 1).StringAttr("reduction", reduction);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {2, 2}, {1, 2, 3, 4}),
                                             MakeTensor(DataType::kInt64, {2}, {1, 1})});
    ASSERT_TRUE(y.ok()) << y.status().message();
    const double got = ToDoubles((*y)[0])[0];
    if (reduction == "mean") EXPECT_TRUE(std::isnan(got));
    else EXPECT_EQ(got, 0.0);
  }
}

TEST(LossTest, EmptyBatchAndNanScores) {
  // N = 0 with reduction none: an empty loss.
  SingleNodeModel empty("SoftmaxCrossEntropyLoss", 13);
  empty.Input("x", DataType::kFloat, {0, 3}).Input("t", DataType::kInt64, {0});
  empty.Output("y", DataType::kFloat, {0}).StringAttr("reduction", "none");
  StatusOr<std::vector<Tensor>> y = empty.Run({MakeTensor(DataType::kFloat, {0, 3}, {}),
                                               MakeTensor(DataType::kInt64, {0}, {})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), std::vector<int64_t>{0});
  // A NaN score poisons its own row only.
  SingleNodeModel m("SoftmaxCrossEntropyLoss", 13);
  m.Input("x", DataType::kFloat, {2, 2}).Input("t", DataType::kInt64, {2});
  m.Output("y", DataType::kFloat, {2}).StringAttr("reduction", "none");
  y = m.Run({MakeTensor(DataType::kFloat, {2, 2}, {NAN, 0, 0, 0}),
             MakeTensor(DataType::kInt64, {2}, {1, 0})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectValuesNear(ToDoubles((*y)[0]), {NAN, std::log(2.0)}, 1e-6);
}

TEST(LossTest, Bfloat16FromNllLoss22AndSoftmaxCrossEntropy13) {
  // -(x[0, 1] + x[1, 0]) / 2 with bfloat16-exact inputs.
  const std::vector<double> x = {-0.5, -1.5, -2.0, -0.25};
  for (const auto& [op, opset, ok] : std::vector<std::tuple<std::string, int64_t, bool>>{
           {"NegativeLogLikelihoodLoss", 22, true}, {"NegativeLogLikelihoodLoss", 13, false},
           {"SoftmaxCrossEntropyLoss", 13, true}, {"SoftmaxCrossEntropyLoss", 12, false}}) {
    SCOPED_TRACE(op + " " + std::to_string(opset));
    SingleNodeModel m(op, opset);
    m.Input("x", DataType::kBfloat16, {2, 2}).Input("t", DataType::kInt64, {2});
    m.Output("y", DataType::kBfloat16, {});
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kBfloat16, {2, 2}, x),
                                             MakeTensor(DataType::kInt64, {2}, {1, 0})});
    ASSERT_EQ(y.ok(), ok) << y.status().message();
    if (!ok) continue;
    double want = (1.5 + 2.0) / 2;
    if (op == "SoftmaxCrossEntropyLoss") {
      want = (std::log(std::exp(-0.5) + std::exp(-1.5)) + 1.5 +
              std::log(std::exp(-2.0) + std::exp(-0.25)) + 2.0) / 2;
    }
    EXPECT_NEAR(ToDoubles((*y)[0])[0], want, 1e-2);
  }
}

TEST(LossTest, TargetOutOfRangeIsAnErrorNotARead) {
  for (int64_t bad : {3, -1}) {
    SingleNodeModel m("NegativeLogLikelihoodLoss", 13);
    m.Input("x", DataType::kFloat, {1, 3}).Input("t", DataType::kInt64, {1});
    m.Output("y", DataType::kFloat, {});
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {1, 3}, {1, 2, 3}),
                                             MakeTensor(DataType::kInt64, {1}, {double(bad)})});
    ASSERT_FALSE(y.ok());
    EXPECT_NE(y.status().message().find("out of range"), std::string::npos) << y.status().message();
  }
}

TEST(LossTest, BadTargetShapeAndReductionAreModelErrors) {
  SingleNodeModel shape("NegativeLogLikelihoodLoss", 13);
  shape.Input("x", DataType::kFloat, {2, 3, 4}).Input("t", DataType::kInt64, {2, 3});
  shape.Output("y", DataType::kFloat, {});
  StatusOr<std::vector<Tensor>> y = shape.Run({MakeTensor(DataType::kFloat, {2, 3, 4}, {}),
                                               MakeTensor(DataType::kInt64, {2, 3}, {})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("target has shape"), std::string::npos) << y.status().message();
  SingleNodeModel reduction("NegativeLogLikelihoodLoss", 13);
  reduction.Input("x", DataType::kFloat, {2, 3}).Input("t", DataType::kInt64, {2});
  reduction.Output("y", DataType::kFloat, {}).StringAttr("reduction", "max");
  y = reduction.Run({MakeTensor(DataType::kFloat, {2, 3}, {}), MakeTensor(DataType::kInt64, {2}, {})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("reduction"), std::string::npos) << y.status().message();
}

// ---------------------------------------------------------------- windows

TEST(WindowTest, PeriodicAndSymmetricWindowsMatchNumpy) {
  // numpy: np.hanning(5), np.blackman(5) (symmetric), np.blackman(5)[:-1]
  // (periodic 4); Hamming with ONNX's alpha 25/46 by hand.
  struct Case {
    std::string op;
    int64_t size, periodic;
    std::vector<double> want;
  };
  const std::vector<Case> cases = {
      {"HannWindow", 5, 0, {0.0, 0.5, 1.0, 0.5, 0.0}},
      {"BlackmanWindow", 5, 0, {0.0, 0.34, 1.0, 0.34, 0.0}},
      {"BlackmanWindow", 4, 1, {0.0, 0.34, 1.0, 0.34}},
      {"HammingWindow", 4, 1, {4.0 / 46, 25.0 / 46, 1.0, 25.0 / 46}},
      {"HannWindow", 1, 0, {1.0}},
      {"HannWindow", 0, 1, {}},
  };
  for (const Case& c : cases) {
    for (DataType dtype : {DataType::kFloat, DataType::kDouble}) {
      SCOPED_TRACE(c.op + " " + std::to_string(c.size) + " periodic " + std::to_string(c.periodic));
      SingleNodeModel m(c.op, 17);
      m.Initializer("size", MakeTensor(DataType::kInt64, {}, {double(c.size)}));
      m.Output("y", dtype, {c.size}).IntAttr("periodic", c.periodic);
      m.IntAttr("output_datatype", static_cast<int64_t>(dtype));
      StatusOr<std::vector<Tensor>> y = m.Run({});
      ASSERT_TRUE(y.ok()) << y.status().message();
      EXPECT_EQ((*y)[0].dtype(), dtype);
      ExpectValuesNear(ToDoubles((*y)[0]), c.want, 1e-6);
    }
  }
}

TEST(WindowTest, SizeFedAtRunTimeAndIntegerOutput) {
  // A fed size: the session specialises the plan on its value.
  SingleNodeModel m("HannWindow", 17);
  m.Input("size", DataType::kInt32, {}).Output("y", DataType::kFloat, {-1});
  for (int64_t size : {4, 6}) {
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kInt32, {}, {double(size)})});
    ASSERT_TRUE(y.ok()) << y.status().message();
    std::vector<double> want;
    for (int64_t i = 0; i < size; ++i) want.push_back(std::pow(std::sin(M_PI * i / size), 2));
    ExpectValuesNear(ToDoubles((*y)[0]), want, 1e-6);
  }
  // An integer output_datatype truncates: a periodic Hann window of 2 is [0, 1].
  SingleNodeModel ints("HannWindow", 17);
  ints.Initializer("size", MakeTensor(DataType::kInt64, {}, {2}));
  ints.Output("y", DataType::kInt32, {2}).IntAttr("output_datatype", 6);
  StatusOr<std::vector<Tensor>> y = ints.Run({});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{0, 1}));
}

// ---------------------------------------------------------------- DFT / STFT

TEST(DftTest, ForwardOnesidedAndInverseMatchNumpyFft) {
  const std::vector<double> x = {1, 2, 0, -1, 3};
  // np.fft.fft(x)
  const std::vector<double> fft = {5, 0, 3.3541019662496847, 0.3632712640026804,
                                   -3.3541019662496847, 1.5388417685876266, -3.3541019662496847,
                                   -1.5388417685876266, 3.3541019662496847, -0.3632712640026804};
  // np.fft.rfft(x, n=8)
  const std::vector<double> rfft8 = {5, 0, 0.12132034355964283, -0.7071067811865476, 4, -3,
                                     -4.121320343559643, -0.7071067811865476, 3, 0};
  for (int64_t opset : {17, 20}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    // [batch 1, 5, 1], transform axis 1 (opset 20: the default axis -2).
    SingleNodeModel full("DFT", opset);
    full.Input("x", DataType::kFloat, {1, 5, 1}).Output("y", DataType::kFloat, {1, 5, 2});
    StatusOr<std::vector<Tensor>> y = full.Run({MakeTensor(DataType::kFloat, {1, 5, 1}, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectValuesNear(ToDoubles((*y)[0]), fft, 1e-6);

    SingleNodeModel one("DFT", opset);
    one.Input("x", DataType::kDouble, {1, 5, 1});
    one.Initializer("n", MakeTensor(DataType::kInt64, {}, {8}));
    one.Output("y", DataType::kDouble, {1, 5, 2}).IntAttr("onesided", 1);
    y = one.Run({MakeTensor(DataType::kDouble, {1, 5, 1}, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectValuesNear(ToDoubles((*y)[0]), rfft8, 1e-12);
  }
  // np.fft.ifft([1+1j, 2, 0, -1j]) along axis 2 of a [1, 1, 4, 2] tensor.
  SingleNodeModel inv("DFT", 17);
  inv.Input("x", DataType::kFloat, {1, 1, 4, 2}).Output("y", DataType::kFloat, {1, 1, 4, 2});
  inv.IntAttr("axis", 2).IntAttr("inverse", 1);
  StatusOr<std::vector<Tensor>> y =
      inv.Run({MakeTensor(DataType::kFloat, {1, 1, 4, 2}, {1, 1, 2, 0, 0, 0, 0, -1})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectValuesNear(ToDoubles((*y)[0]), {0.75, 0, 0, 0.75, -0.25, 0.5, 0.5, -0.25}, 1e-6);
}

TEST(DftTest, AxisOnTheComplexDimIsAnError) {
  SingleNodeModel m("DFT", 17);
  m.Input("x", DataType::kFloat, {1, 4, 2}).Output("y", DataType::kFloat, {1, 4, 2}).IntAttr("axis", 2);
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {1, 4, 2}, {})});
  ASSERT_FALSE(y.ok());
}

TEST(StftTest, FramesWindowAndTwoSidedMatchADirectSum) {
  // signal [2, 10, 1], frames of 4 every 3 -> 3 frames; window given; the
  // reference sums with std::polar independently of the kernel's table.
  const std::vector<double> x = RandomValues(20, 71);
  const std::vector<double> window = {0.5, 1, 1, 0.5};
  for (int64_t onesided : {1, 0}) {
    const int64_t bins = onesided ? 3 : 4;
    std::vector<double> want;
    for (int b = 0; b < 2; ++b) {
      for (int f = 0; f < 3; ++f) {
        for (int k = 0; k < bins; ++k) {
          std::complex<double> sum = 0;
          for (int n = 0; n < 4; ++n) {
            sum += x[b * 10 + f * 3 + n] * window[n] * std::polar(1.0, -2 * M_PI * k * n / 4);
          }
          want.push_back(sum.real());
          want.push_back(sum.imag());
        }
      }
    }
    SingleNodeModel m("STFT", 17);
    m.Input("x", DataType::kDouble, {2, 10, 1});
    m.Initializer("step", MakeTensor(DataType::kInt64, {}, {3}));
    m.Initializer("window", MakeTensor(DataType::kDouble, {4}, window));
    m.Output("y", DataType::kDouble, {2, 3, bins, 2}).IntAttr("onesided", onesided);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kDouble, {2, 10, 1}, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectValuesNear(ToDoubles((*y)[0]), want, 1e-12);
  }
}

TEST(StftTest, WindowAndFrameLengthMustAgree) {
  SingleNodeModel m("STFT", 17);
  m.Input("x", DataType::kFloat, {1, 10, 1});
  m.Initializer("step", MakeTensor(DataType::kInt64, {}, {2}));
  m.Initializer("window", MakeTensor(DataType::kFloat, {4}, {1, 1, 1, 1}));
  m.Initializer("length", MakeTensor(DataType::kInt64, {}, {5}));
  m.Output("y", DataType::kFloat, {1, -1, -1, 2});
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {1, 10, 1}, {})});
  ASSERT_FALSE(y.ok());
}

TEST(MelWeightMatrixTest, TriangularFiltersByHand) {
  // 2 mel bins over [0, 4000] Hz at 8000 Hz, dft_length 32 -> 17 bins.
  // The 4 points i * m / 4 on the mel scale (m = mel(4000); the step is the
  // range over num_mel_bins + 2, as the ONNX reference and ONNX Runtime
  // compute it), each at bin floor(33 hz / 8000), computed here in double.
  const double top = 2595 * std::log10(1 + 4000.0 / 700);
  std::vector<int64_t> bin;
  for (int i = 0; i < 4; ++i) {
    const double hz = 700 * (std::pow(10.0, top * i / 4 / 2595) - 1);
    bin.push_back(static_cast<int64_t>(std::floor(33 * hz / 8000)));
  }
  ASSERT_EQ(bin, (std::vector<int64_t>{0, 1, 4, 9}));  // so the triangles are:
  std::vector<double> want(34, 0.0);
  const auto at = [&](int j, int m) -> double& { return want[j * 2 + m]; };
  at(1, 0) = 1, at(2, 0) = 2.0 / 3, at(3, 0) = 1.0 / 3;  // filter 0: 0 -> 1 -> 4
  at(2, 1) = 1.0 / 3, at(3, 1) = 2.0 / 3, at(4, 1) = 1;  // filter 1: 1 -> 4 -> 9
  at(5, 1) = 0.8, at(6, 1) = 0.6, at(7, 1) = 0.4, at(8, 1) = 0.2;
  SingleNodeModel m("MelWeightMatrix", 17);
  m.Initializer("mels", MakeTensor(DataType::kInt64, {}, {2}));
  m.Initializer("dft", MakeTensor(DataType::kInt64, {}, {32}));
  m.Initializer("rate", MakeTensor(DataType::kInt64, {}, {8000}));
  m.Initializer("lo", MakeTensor(DataType::kFloat, {}, {0}));
  m.Initializer("hi", MakeTensor(DataType::kFloat, {}, {4000}));
  m.Output("w", DataType::kFloat, {17, 2});
  StatusOr<std::vector<Tensor>> y = m.Run({});
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectValuesNear(ToDoubles((*y)[0]), want, 1e-6);
}

}  // namespace
}  // namespace bnfold::testing
