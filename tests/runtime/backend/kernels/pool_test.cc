// MaxPool / AveragePool / Global*Pool through the public API, compared with
// a double-precision reference that walks every kernel tap (padding taps
// included) the way the ONNX spec describes it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold::testing {
namespace {

struct PoolSpec {
  bool max = true;
  std::vector<int64_t> kernel, strides, dilations, pads;
  bool ceil_mode = false;
  bool count_include_pad = false;
};

int64_t PoolOutputSize(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                       bool ceil_mode) {
  const double span = static_cast<double>(in + pb + pe - ((k - 1) * d + 1));
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(span / s) : std::floor(span / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + pb) --out;
  return out;
}

// x has dims [N, C, spatial...]; returns y and fills out_dims.
std::vector<double> ReferencePool(const std::vector<double>& x, const std::vector<int64_t>& dims,
                                  const PoolSpec& spec, std::vector<int64_t>* out_dims) {
  const size_t n = dims.size() - 2;
  *out_dims = {dims[0], dims[1]};
  for (size_t d = 0; d < n; ++d) {
    out_dims->push_back(PoolOutputSize(dims[2 + d], spec.kernel[d], spec.strides[d],
                                       spec.dilations[d], spec.pads[d], spec.pads[n + d],
                                       spec.ceil_mode));
  }
  int64_t in_plane = 1, out_plane = 1, taps = 1;
  for (size_t d = 0; d < n; ++d) {
    in_plane *= dims[2 + d];
    out_plane *= (*out_dims)[2 + d];
    taps *= spec.kernel[d];
  }
  std::vector<double> y(static_cast<size_t>(dims[0] * dims[1] * out_plane));
  for (int64_t plane = 0; plane < dims[0] * dims[1]; ++plane) {
    for (int64_t o = 0; o < out_plane; ++o) {
      // Decompose o and each tap t into per-dim coordinates (row-major).
      std::vector<int64_t> opos(n);
      for (int64_t rest = o, d = static_cast<int64_t>(n) - 1; d >= 0; --d) {
        opos[d] = rest % (*out_dims)[2 + d];
        rest /= (*out_dims)[2 + d];
      }
      double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
      int64_t count = 0;
      for (int64_t t = 0; t < taps; ++t) {
        bool inside = true, padded = true;
        int64_t offset = 0;
        std::vector<int64_t> k(n);
        for (int64_t rest = t, d = static_cast<int64_t>(n) - 1; d >= 0; --d) {
          k[d] = rest % spec.kernel[d];
          rest /= spec.kernel[d];
        }
        for (size_t d = 0; d < n; ++d) {
          const int64_t i = opos[d] * spec.strides[d] - spec.pads[d] + k[d] * spec.dilations[d];
          inside = inside && i >= 0 && i < dims[2 + d];
          padded = padded && i >= -spec.pads[d] && i < dims[2 + d] + spec.pads[n + d];
          offset = offset * dims[2 + d] + i;
        }
        if (inside) {
          const double v = x[plane * in_plane + offset];
          best = std::max(best, v);
          sum += v;
          ++count;
        } else if (padded && spec.count_include_pad) {
          ++count;  // a zero from the padding
        }
      }
      y[plane * out_plane + o] = spec.max ? best : sum / count;
    }
  }
  return y;
}

SingleNodeModel PoolModel(const PoolSpec& spec, DataType dtype, int64_t opset,
                          const std::vector<int64_t>& in_dims,
                          const std::vector<int64_t>& out_dims) {
  SingleNodeModel m(spec.max ? "MaxPool" : "AveragePool", opset);
  m.Input("x", dtype, in_dims).Output("y", dtype, out_dims).IntsAttr("kernel_shape", spec.kernel);
  m.IntsAttr("strides", spec.strides).IntsAttr("pads", spec.pads);
  if (spec.dilations != std::vector<int64_t>(spec.kernel.size(), 1)) {
    m.IntsAttr("dilations", spec.dilations);
  }
  if (spec.ceil_mode) m.IntAttr("ceil_mode", 1);
  if (!spec.max) m.IntAttr("count_include_pad", spec.count_include_pad ? 1 : 0);
  return m;
}

// Runs `spec` on random data in each of `dtypes` and compares with the
// reference (inputs on a float16-exact grid so all dtypes see equal data).
void CheckPool(const PoolSpec& spec, const std::vector<int64_t>& dims,
               const std::vector<DataType>& dtypes, int64_t opset = 19, int threads = 1) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  const std::vector<double> x = RandomGridValues(static_cast<size_t>(count), 7);
  std::vector<int64_t> out_dims;
  const std::vector<double> expected = ReferencePool(x, dims, spec, &out_dims);
  for (DataType dtype : dtypes) {
    SCOPED_TRACE(DataTypeName(dtype));
    StatusOr<std::vector<Tensor>> y =
        PoolModel(spec, dtype, opset, dims, out_dims)
            .Run({MakeTensor(dtype, dims, x)}, /*optimize=*/false, threads);
    ASSERT_TRUE(y.ok()) << y.status().message();
    ASSERT_EQ((*y)[0].shape(), out_dims);
    const std::vector<double> got = ToDoubles((*y)[0]);
    const double tolerance = dtype == DataType::kFloat16 ? 4e-3 : 1e-5;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], expected[i], tolerance * (1.0 + std::fabs(expected[i]))) << "at " << i;
    }
  }
}

const std::vector<DataType> kFloatTypes = {DataType::kFloat, DataType::kDouble,
                                           DataType::kFloat16};

TEST(PoolTest, MaxPoolCeilModeWithPadsAndStrides) {
  PoolSpec s{.max = true, .kernel = {3, 3}, .strides = {2, 2}, .dilations = {1, 1},
             .pads = {1, 0, 0, 1}, .ceil_mode = true};
  CheckPool(s, {2, 3, 8, 7}, kFloatTypes);
}

TEST(PoolTest, MaxPoolDilations) {
  PoolSpec s{.max = true, .kernel = {2, 3}, .strides = {1, 2}, .dilations = {2, 3},
             .pads = {1, 2, 1, 2}};
  CheckPool(s, {1, 2, 9, 11}, kFloatTypes);
}

TEST(PoolTest, AveragePoolCountIncludePadVersusExclude) {
  for (bool include : {false, true}) {
    SCOPED_TRACE(include ? "include pad" : "exclude pad");
    PoolSpec s{.max = false, .kernel = {3, 3}, .strides = {2, 2}, .dilations = {1, 1},
               .pads = {1, 1, 1, 1}, .count_include_pad = include};
    CheckPool(s, {1, 3, 7, 6}, kFloatTypes);
  }
}

TEST(PoolTest, AveragePoolCeilModeExtendsOnlyTheWindowNotTheDivisor) {
  // in 6, k 3, s 2, pads 1/1: ceil gives 4 outputs whose last window reaches
  // one past the explicit padding; that tap is neither summed nor counted.
  for (bool include : {false, true}) {
    SCOPED_TRACE(include ? "include pad" : "exclude pad");
    PoolSpec s{.max = false, .kernel = {3, 3}, .strides = {2, 2}, .dilations = {1, 1},
               .pads = {1, 1, 1, 1}, .ceil_mode = true, .count_include_pad = include};
    CheckPool(s, {2, 2, 6, 6}, kFloatTypes);
  }
}

TEST(PoolTest, AveragePoolDilationsAtOpset19) {
  PoolSpec s{.max = false, .kernel = {2, 2}, .strides = {1, 1}, .dilations = {2, 2},
             .pads = {1, 1, 0, 0}, .count_include_pad = true};
  CheckPool(s, {1, 2, 6, 5}, kFloatTypes);
}

TEST(PoolTest, OneAndThreeSpatialDims) {
  PoolSpec one{.max = false, .kernel = {4}, .strides = {3}, .dilations = {1}, .pads = {2, 1},
               .ceil_mode = true};
  CheckPool(one, {2, 3, 17}, kFloatTypes);
  PoolSpec three{.max = true, .kernel = {2, 2, 3}, .strides = {2, 1, 2},
                 .dilations = {1, 2, 1}, .pads = {0, 1, 1, 1, 0, 1}};
  CheckPool(three, {1, 2, 5, 6, 7}, kFloatTypes);
}

TEST(PoolTest, LargeInputOnTwoThreads) {
  // Big enough for the C++ loop (double) to split planes across threads.
  PoolSpec s{.max = false, .kernel = {3, 3}, .strides = {1, 1}, .dilations = {1, 1},
             .pads = {1, 1, 1, 1}};
  CheckPool(s, {2, 8, 40, 40}, {DataType::kFloat, DataType::kDouble}, 19, /*threads=*/2);
}

TEST(PoolTest, Int8AndUint8MaxPool) {
  // The grid values scaled to integers are exact in both types.
  const std::vector<int64_t> dims = {1, 2, 5, 5};
  std::vector<double> x = RandomGridValues(50, 3);
  for (double& v : x) v = std::round(v * 30.0);  // [-120, 120]
  PoolSpec s{.max = true, .kernel = {3, 3}, .strides = {2, 2}, .dilations = {1, 1},
             .pads = {1, 1, 1, 1}};
  std::vector<int64_t> out_dims;
  const std::vector<double> expected = ReferencePool(x, dims, s, &out_dims);
  StatusOr<std::vector<Tensor>> y =
      PoolModel(s, DataType::kInt8, 12, dims, out_dims).Run({MakeTensor(DataType::kInt8, dims, x)});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), expected);
  for (double& v : x) v += 120.0;
  const std::vector<double> shifted = ReferencePool(x, dims, s, &out_dims);
  y = PoolModel(s, DataType::kUint8, 12, dims, out_dims)
          .Run({MakeTensor(DataType::kUint8, dims, x)});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), shifted);
}

TEST(PoolTest, Int8MaxPoolIsRefusedBeforeOpset12) {
  // ONNX shape inference refuses it before bnfold sees it; either way the
  // error names the op.
  PoolSpec s{.max = true, .kernel = {2}, .strides = {1}, .dilations = {1}, .pads = {0, 0}};
  StatusOr<std::vector<Tensor>> y = PoolModel(s, DataType::kInt8, 11, {1, 1, 4}, {1, 1, 3}).Run(
      {MakeTensor(DataType::kInt8, {1, 1, 4}, {1, 2, 3, 4})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("MaxPool"), std::string::npos)
      << y.status().message();
}

TEST(PoolTest, MaxPoolIndicesRowAndColumnMajor) {
  // x[n, c, h, w] over [2, 1, 3, 4]; the maxima are placed by hand.
  const std::vector<double> x = {
      0, 9, 1, 2,   3, 4, 5, 8,   6, 7, 1, 0,    // n = 0
      5, 1, 0, 0,   2, 3, 9, 1,   0, 0, 0, 7};  // n = 1
  for (int64_t order : {0, 1}) {
    SCOPED_TRACE(order ? "column major" : "row major");
    SingleNodeModel m("MaxPool", 12);
    m.Input("x", DataType::kFloat, {2, 1, 3, 4});
    m.Output("y", DataType::kFloat, {2, 1, 2, 2}).Output("i", DataType::kInt64, {2, 1, 2, 2});
    m.IntsAttr("kernel_shape", {2, 2}).IntsAttr("strides", {1, 2});
    m.IntAttr("storage_order", order);
    StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kFloat, {2, 1, 3, 4}, x)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[1].shape(), (std::vector<int64_t>{2, 1, 2, 2}));
    EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{9, 8, 7, 8, 5, 9, 3, 9}));
    // Positions (n, h, w) of each maximum.
    const int64_t at[8][3] = {{0, 0, 1}, {0, 1, 3}, {0, 2, 1}, {0, 1, 3},
                              {1, 0, 0}, {1, 1, 2}, {1, 1, 1}, {1, 1, 2}};
    std::vector<double> expected;
    for (const auto& p : at) {
      expected.push_back(static_cast<double>(p[0] * 12 + (order ? p[2] * 3 + p[1] : p[1] * 4 + p[2])));
    }
    EXPECT_EQ(ToDoubles((*out)[1]), expected);
  }
}

TEST(PoolTest, AutoPadSameUpperAndLower) {
  // in 5, k 2, s 2 -> out 3, total pad 1: SAME_UPPER pads at the end,
  // SAME_LOWER at the start.
  const std::vector<double> x = {1, 2, 3, 4, 5};
  for (const std::string mode : {"SAME_UPPER", "SAME_LOWER"}) {
    SCOPED_TRACE(mode);
    SingleNodeModel m("AveragePool", 11);
    m.Input("x", DataType::kFloat, {1, 1, 5}).Output("y", DataType::kFloat, {1, 1, 3});
    m.IntsAttr("kernel_shape", {2}).IntsAttr("strides", {2}).StringAttr("auto_pad", mode);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {1, 1, 5}, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    const std::vector<double> expected =
        mode == "SAME_UPPER" ? std::vector<double>{1.5, 3.5, 5} : std::vector<double>{1, 2.5, 4.5};
    EXPECT_EQ(ToDoubles((*y)[0]), expected);
  }
}

TEST(PoolTest, GlobalPools) {
  const std::vector<int64_t> dims = {2, 3, 4, 5};
  const std::vector<double> x = RandomGridValues(120, 11);
  for (DataType dtype : kFloatTypes) {
    SCOPED_TRACE(DataTypeName(dtype));
    for (const std::string op : {"GlobalAveragePool", "GlobalMaxPool"}) {
      SingleNodeModel m(op, 1);
      m.Input("x", dtype, dims).Output("y", dtype, {2, 3, 1, 1});
      StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, dims, x)});
      ASSERT_TRUE(y.ok()) << y.status().message();
      ASSERT_EQ((*y)[0].shape(), (std::vector<int64_t>{2, 3, 1, 1}));
      const std::vector<double> got = ToDoubles((*y)[0]);
      for (int plane = 0; plane < 6; ++plane) {
        double sum = 0, best = -1e9;
        for (int i = 0; i < 20; ++i) {
          sum += x[plane * 20 + i];
          best = std::max(best, x[plane * 20 + i]);
        }
        const double want = op == "GlobalMaxPool" ? best : sum / 20;
        EXPECT_NEAR(got[plane], want, 2e-3 * (1 + std::fabs(want))) << op << " plane " << plane;
      }
    }
  }
}

TEST(PoolTest, WindowLargerThanPaddedInputIsAnError) {
  SingleNodeModel m("MaxPool", 19);
  m.Input("x", DataType::kFloat, {1, 1, 3}).Output("y", DataType::kFloat, {-1, -1, -1});
  m.IntsAttr("kernel_shape", {5});
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {1, 1, 3}, {1, 2, 3})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("'node'"), std::string::npos) << y.status().message();
}

TEST(PoolTest, MissingKernelShapeIsAnError) {
  SingleNodeModel m("AveragePool", 19);
  m.Input("x", DataType::kFloat, {1, 1, 3}).Output("y", DataType::kFloat, {-1, -1, -1});
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {1, 1, 3}, {1, 2, 3})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("'node'"), std::string::npos) << y.status().message();
}

}  // namespace
}  // namespace bnfold::testing
