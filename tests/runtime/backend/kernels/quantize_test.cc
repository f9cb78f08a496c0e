// Kernels of the quantization family (runtime/backend/onednn/kernels/quantize.cc)
// through the public Session API (single_node_model.h), against hand-computed
// values and double-precision references computed on the dequantized
// values: rounding half to even, saturation, per-axis and blocked
// parameters, batch broadcasting, grouped and padded convolutions.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold::testing {
namespace {

std::vector<double> RunOne(const SingleNodeModel& m, const std::vector<Tensor>& feeds, int output = 0) {
  StatusOr<std::vector<Tensor>> out = m.Run(feeds);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (!out.ok()) return {};
  return ToDoubles((*out)[output]);
}

double Clamp(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }

TEST(QuantizeLinearTest, RoundsHalfToEvenAndSaturates) {
  const std::vector<double> x = {0.5, 1.5, 2.5, -0.5, -1.5, 1000.0, -1000.0, 3.0};
  // scale 0.5: x / scale = 1, 3, 5, -1, -3, 2000, -2000, 6; halves come from scale 1.
  SingleNodeModel u8("QuantizeLinear", 10);
  u8.Input("x", DataType::kFloat, {8}).Input("s", DataType::kFloat, {});
  u8.Input("z", DataType::kUint8, {}).Output("y", DataType::kUint8, {8});
  EXPECT_EQ(RunOne(u8, {MakeTensor(DataType::kFloat, {8}, x), MakeTensor(DataType::kFloat, {}, {1.0}),
                        MakeTensor(DataType::kUint8, {}, {10})}),
            (std::vector<double>{10, 12, 12, 10, 8, 255, 0, 13}));
  SingleNodeModel i8("QuantizeLinear", 13);
  i8.Input("x", DataType::kFloat, {8}).Input("s", DataType::kFloat, {});
  i8.Input("z", DataType::kInt8, {}).Output("y", DataType::kInt8, {8});
  EXPECT_EQ(RunOne(i8, {MakeTensor(DataType::kFloat, {8}, x), MakeTensor(DataType::kFloat, {}, {1.0}),
                        MakeTensor(DataType::kInt8, {}, {-1})}),
            (std::vector<double>{-1, 1, 1, -1, -3, 127, -128, 2}));
  // No zero point: uint8 with zero point 0.
  SingleNodeModel none("QuantizeLinear", 10);
  none.Input("x", DataType::kFloat, {8}).Input("s", DataType::kFloat, {});
  none.Output("y", DataType::kUint8, {8});
  EXPECT_EQ(RunOne(none, {MakeTensor(DataType::kFloat, {8}, x), MakeTensor(DataType::kFloat, {}, {0.5})}),
            (std::vector<double>{1, 3, 5, 0, 0, 255, 0, 6}));
}

TEST(QuantizeLinearTest, PerAxisNegativeAxisAndBlocked) {
  // [2, 3] per-axis on axis -1 (3 scales), then blocked (opset 21) along
  // axis 1 with block 2 into int16: scale shape [2, 2].
  const std::vector<double> x = {1, 2, 3, -4, -5, 6};
  SingleNodeModel axis("QuantizeLinear", 13);
  axis.Input("x", DataType::kFloat, {2, 3}).Input("s", DataType::kFloat, {3});
  axis.Input("z", DataType::kInt8, {3}).Output("y", DataType::kInt8, {2, 3}).IntAttr("axis", -1);
  EXPECT_EQ(RunOne(axis, {MakeTensor(DataType::kFloat, {2, 3}, x),
                          MakeTensor(DataType::kFloat, {3}, {1.0, 0.5, 0.25}),
                          MakeTensor(DataType::kInt8, {3}, {0, 1, -2})}),
            (std::vector<double>{1, 5, 10, -4, -9, 22}));
  SingleNodeModel block("QuantizeLinear", 21);
  block.Input("x", DataType::kFloat, {2, 3}).Input("s", DataType::kFloat, {2, 2});
  block.Input("z", DataType::kInt16, {2, 2}).Output("y", DataType::kInt16, {2, 3});
  block.IntAttr("axis", 1).IntAttr("block_size", 2);
  EXPECT_EQ(RunOne(block, {MakeTensor(DataType::kFloat, {2, 3}, x),
                           MakeTensor(DataType::kFloat, {2, 2}, {0.01, 1.0, 0.5, 2.0}),
                           MakeTensor(DataType::kInt16, {2, 2}, {0, 100, -1, 0})}),
            (std::vector<double>{100, 200, 103, -9, -11, 3}));
  // A per-axis scale of the wrong length is refused with the reason.
  SingleNodeModel bad("QuantizeLinear", 13);
  bad.Input("x", DataType::kFloat, {2, 3}).Input("s", DataType::kFloat, {2});
  bad.Output("y", DataType::kUint8, {2, 3});
  StatusOr<std::vector<Tensor>> out =
      bad.Run({MakeTensor(DataType::kFloat, {2, 3}, x), MakeTensor(DataType::kFloat, {2}, {1, 1})});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("per-axis scale"), std::string::npos) << out.status().message();
}

TEST(DequantizeLinearTest, PerAxisInt32AndFloat16Scale) {
  SingleNodeModel axis("DequantizeLinear", 13);
  axis.Input("x", DataType::kUint8, {2, 2, 1}).Input("s", DataType::kFloat, {2});
  axis.Input("z", DataType::kUint8, {2}).Output("y", DataType::kFloat, {2, 2, 1});
  EXPECT_EQ(RunOne(axis, {MakeTensor(DataType::kUint8, {2, 2, 1}, {0, 255, 10, 20}),
                          MakeTensor(DataType::kFloat, {2}, {0.5, 2.0}),
                          MakeTensor(DataType::kUint8, {2}, {128, 10})}),
            (std::vector<double>{-64, 490, -59, 20}));
  SingleNodeModel i32("DequantizeLinear", 10);
  i32.Input("x", DataType::kInt32, {3}).Input("s", DataType::kFloat, {}).Output("y", DataType::kFloat, {3});
  EXPECT_EQ(RunOne(i32, {MakeTensor(DataType::kInt32, {3}, {-2000000, 0, 7}),
                         MakeTensor(DataType::kFloat, {}, {0.25})}),
            (std::vector<double>{-500000, 0, 1.75}));
  SingleNodeModel half("DequantizeLinear", 19);
  half.Input("x", DataType::kInt8, {2}).Input("s", DataType::kFloat16, {}).Output("y", DataType::kFloat16, {2});
  EXPECT_EQ(RunOne(half, {MakeTensor(DataType::kInt8, {2}, {-128, 3}),
                          MakeTensor(DataType::kFloat16, {}, {0.5})}),
            (std::vector<double>{-64, 1.5}));
}

TEST(DynamicQuantizeLinearTest, RangeIncludesZeroAndAllZeroInput) {
  // x in [1, 3]: the range widens to [0, 3]; scale 3/255, zero point 0.
  SingleNodeModel m("DynamicQuantizeLinear", 11);
  m.Input("x", DataType::kFloat, {3}).Output("y", DataType::kUint8, {3});
  m.Output("s", DataType::kFloat, {}).Output("z", DataType::kUint8, {});
  StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kFloat, {3}, {1.0, 2.0, 3.0})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{85, 170, 255}));
  EXPECT_FLOAT_EQ((*out)[1].GetAsDouble(0), 3.0f / 255.0f);
  EXPECT_EQ((*out)[2].GetAsDouble(0), 0);
  // [-1, 2]: scale 3/255, zero point round(1 / scale) = 85.
  out = m.Run({MakeTensor(DataType::kFloat, {3}, {-1.0, 0.0, 2.0})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{0, 85, 255}));
  EXPECT_EQ((*out)[2].GetAsDouble(0), 85);
  out = m.Run({MakeTensor(DataType::kFloat, {3}, {0.0, 0.0, 0.0})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ((*out)[1].GetAsDouble(0), 0.0);
}

// Row-major [.., M, K] x [.., K, N] of dequantized values, batch broadcast
// from a [2, 1, M, K] and b [3, K, N].
TEST(QLinearMatMulTest, BatchBroadcastPerColumnScalesAgainstDequantizedReference) {
  const int64_t M = 2, K = 3, N = 4;
  const std::vector<double> a = {0, 255, 128, 7, 90, 200, 1, 2, 3, 250, 128, 129};
  std::vector<double> b(3 * K * N);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<double>((i * 37) % 256) - 128;
  const double as = 0.02, az = 128, ys = 0.05, yz = 3;
  const std::vector<double> bs = {0.01, 0.02, 0.03, 0.04}, bz = {0, 1, -1, 2};
  SingleNodeModel m("QLinearMatMul", 10);
  m.Input("a", DataType::kUint8, {2, 1, M, K}).Input("as", DataType::kFloat, {});
  m.Input("az", DataType::kUint8, {}).Input("b", DataType::kInt8, {3, K, N});
  m.Input("bs", DataType::kFloat, {N}).Input("bz", DataType::kInt8, {N});
  m.Input("ys", DataType::kFloat, {}).Input("yz", DataType::kInt8, {});
  m.Output("y", DataType::kInt8, {2, 3, M, N});
  const std::vector<double> got = RunOne(
      m, {MakeTensor(DataType::kUint8, {2, 1, M, K}, a), MakeTensor(DataType::kFloat, {}, {as}),
          MakeTensor(DataType::kUint8, {}, {az}), MakeTensor(DataType::kInt8, {3, K, N}, b),
          MakeTensor(DataType::kFloat, {N}, bs), MakeTensor(DataType::kInt8, {N}, bz),
          MakeTensor(DataType::kFloat, {}, {ys}), MakeTensor(DataType::kInt8, {}, {yz})});
  ASSERT_EQ(got.size(), static_cast<size_t>(2 * 3 * M * N));
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 3; ++q)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double real = 0;
          for (int64_t k = 0; k < K; ++k) {
            real += (a[(p * M + i) * K + k] - az) * as * (b[(q * K + k) * N + j] - bz[j]) * bs[j];
          }
          const double want = Clamp(std::nearbyint(real / ys) + yz, -128, 127);
          EXPECT_NEAR(got[((p * 3 + q) * M + i) * N + j], want, 1.0) << p << q << i << j;
        }
}

TEST(MatMulIntegerTest, PerRowZeroPointAndVectorOperand) {
  // A [2, 3] uint8 with per-row zero points, B [3] int8 (a vector: the
  // output is [2]).
  SingleNodeModel m("MatMulInteger", 10);
  m.Input("a", DataType::kUint8, {2, 3}).Input("b", DataType::kInt8, {3});
  m.Input("az", DataType::kUint8, {2}).Output("y", DataType::kInt32, {2});
  EXPECT_EQ(RunOne(m, {MakeTensor(DataType::kUint8, {2, 3}, {255, 0, 10, 1, 2, 3}),
                       MakeTensor(DataType::kInt8, {3}, {-128, 127, 2}),
                       MakeTensor(DataType::kUint8, {2}, {10, 1})}),
            // row 0: (245, -10, 0) . (-128, 127, 2) = -31360 - 1270 = -32630
            // row 1: (0, 1, 2) . (-128, 127, 2) = 131
            (std::vector<double>{-32630, 131}));
}

// Dequantize, convolve in double, quantize: the reference QLinearConv.
TEST(QLinearConvTest, GroupedStridedPaddedPerChannelAgainstDequantizedReference) {
  const int64_t N = 1, C = 4, H = 5, W = 5, M = 4, group = 2, KH = 3, KW = 2;
  const int64_t stride = 2, pad = 1;
  const int64_t OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  std::vector<double> x(N * C * H * W), w(M * (C / group) * KH * KW);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>((i * 53) % 256);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<double>((i * 29) % 255) - 127;
  const double xs = 0.03, xz = 100, ys = 0.4, yz = 120;
  const std::vector<double> ws = {0.01, 0.005, 0.02, 0.015}, bias = {100, -2000, 0, 50};
  SingleNodeModel m("QLinearConv", 10);
  m.Input("x", DataType::kUint8, {N, C, H, W}).Input("xs", DataType::kFloat, {});
  m.Input("xz", DataType::kUint8, {}).Input("w", DataType::kInt8, {M, C / group, KH, KW});
  m.Input("ws", DataType::kFloat, {M}).Input("wz", DataType::kInt8, {M});
  m.Input("ys", DataType::kFloat, {}).Input("yz", DataType::kUint8, {});
  m.Input("b", DataType::kInt32, {M}).Output("y", DataType::kUint8, {N, M, OH, OW});
  m.IntAttr("group", group).IntsAttr("strides", {stride, stride}).IntsAttr("pads", {pad, pad, pad, pad});
  const std::vector<double> got = RunOne(
      m, {MakeTensor(DataType::kUint8, {N, C, H, W}, x), MakeTensor(DataType::kFloat, {}, {xs}),
          MakeTensor(DataType::kUint8, {}, {xz}), MakeTensor(DataType::kInt8, {M, C / group, KH, KW}, w),
          MakeTensor(DataType::kFloat, {M}, ws), MakeTensor(DataType::kInt8, {M}, {0, 0, 0, 0}),
          MakeTensor(DataType::kFloat, {}, {ys}), MakeTensor(DataType::kUint8, {}, {yz}),
          MakeTensor(DataType::kInt32, {M}, bias)});
  ASSERT_EQ(got.size(), static_cast<size_t>(M * OH * OW));
  const int64_t cpg = C / group, mpg = M / group;
  for (int64_t o = 0; o < M; ++o)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double real = bias[o] * xs * ws[o];
        for (int64_t c = 0; c < cpg; ++c)
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const double xv = (x[((o / mpg) * cpg + c) * H * W + ih * W + iw] - xz) * xs;
              real += xv * w[((o * cpg + c) * KH + kh) * KW + kw] * ws[o];
            }
        const double want = Clamp(std::nearbyint(real / ys) + yz, 0, 255);
        EXPECT_NEAR(got[(o * OH + oh) * OW + ow], want, 1.0) << o << " " << oh << " " << ow;
      }
}

TEST(ConvIntegerTest, ZeroPointsAndInt32Output) {
  // 1x1x3x3 uint8 with x zero point 1, 1x1x2x2 kernel of ones: each output
  // is the sum of its window minus 4.
  SingleNodeModel m("ConvInteger", 10);
  m.Input("x", DataType::kUint8, {1, 1, 3, 3}).Input("w", DataType::kUint8, {1, 1, 2, 2});
  m.Input("xz", DataType::kUint8, {}).Output("y", DataType::kInt32, {1, 1, 2, 2});
  EXPECT_EQ(RunOne(m, {MakeTensor(DataType::kUint8, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 255}),
                       MakeTensor(DataType::kUint8, {1, 1, 2, 2}, {1, 1, 1, 1}),
                       MakeTensor(DataType::kUint8, {}, {1})}),
            (std::vector<double>{8, 12, 20, 270}));
}

}  // namespace
}  // namespace bnfold::testing
