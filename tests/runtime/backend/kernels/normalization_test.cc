// BatchNormalization (inference and training, every opset's mode switch,
// spatial=0), InstanceNormalization and LRN through the public API, against
// double-precision references and hand-computed statistics.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold::testing {
namespace {

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double rel) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], rel * (1.0 + std::fabs(want[i]))) << "at " << i;
  }
}

// y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + b[c] over [N, C, ...].
std::vector<double> ReferenceBatchNorm(const std::vector<double>& x, int64_t n, int64_t c,
                                       int64_t inner, const std::vector<double>& scale,
                                       const std::vector<double>& b,
                                       const std::vector<double>& mean,
                                       const std::vector<double>& var, double eps) {
  std::vector<double> y(x.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t s = 0; s < inner; ++s) {
        const int64_t at = (i * c + ch) * inner + s;
        y[at] = (x[at] - mean[ch]) / std::sqrt(var[ch] + eps) * scale[ch] + b[ch];
      }
    }
  }
  return y;
}

SingleNodeModel BatchNormModel(int64_t opset, DataType dtype, const std::vector<int64_t>& dims,
                               const std::vector<int64_t>& param_dims) {
  SingleNodeModel m("BatchNormalization", opset);
  m.Input("x", dtype, dims).Input("scale", dtype, param_dims).Input("b", dtype, param_dims);
  m.Input("mean", dtype, param_dims).Input("var", dtype, param_dims);
  return m;
}

TEST(BatchNormTest, InferenceEpsilonIsHonoured) {
  // var close to zero makes eps 1e-3 and 1e-5 give clearly different results.
  const std::vector<int64_t> dims = {2, 3, 4, 5};
  const std::vector<double> x = RandomValues(120, 1);
  const std::vector<double> scale = {1.5, -0.5, 2.0}, b = {0.1, 0.2, -0.3};
  const std::vector<double> mean = {0.2, -0.1, 0.05}, var = {1e-4, 0.5, 2e-4};
  for (DataType dtype : {DataType::kFloat, DataType::kDouble}) {
    for (float eps : {1e-3f, 1e-5f}) {
      SCOPED_TRACE(std::string(DataTypeName(dtype)) + " eps " + std::to_string(eps));
      SingleNodeModel m = BatchNormModel(15, dtype, dims, {3});
      m.Output("y", dtype, dims).FloatAttr("epsilon", eps);
      StatusOr<std::vector<Tensor>> y =
          m.Run({MakeTensor(dtype, dims, x), MakeTensor(dtype, {3}, scale),
                 MakeTensor(dtype, {3}, b), MakeTensor(dtype, {3}, mean),
                 MakeTensor(dtype, {3}, var)});
      ASSERT_TRUE(y.ok()) << y.status().message();
      ExpectNear(ToDoubles((*y)[0]),
                 ReferenceBatchNorm(x, 2, 3, 20, scale, b, mean, var, static_cast<float>(eps)),
                 1e-5);
    }
  }
}

TEST(BatchNormTest, InferenceDefaultEpsilonAndRanks2To5) {
  const std::vector<double> scale = {0.5, 2.0}, b = {1.0, -1.0};
  const std::vector<double> mean = {0.5, -0.25}, var = {0.01, 3.0};
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{
           {3, 2}, {2, 2, 7}, {1, 2, 3, 3}, {2, 2, 2, 3, 2}}) {
    SCOPED_TRACE(ShapeToString(dims));
    int64_t count = 1;
    for (int64_t d : dims) count *= d;
    const std::vector<double> x = RandomValues(static_cast<size_t>(count), 2);
    SingleNodeModel m = BatchNormModel(9, DataType::kFloat, dims, {2});
    m.Output("y", DataType::kFloat, dims);
    StatusOr<std::vector<Tensor>> y = m.Run(
        {MakeTensor(DataType::kFloat, dims, x), MakeTensor(DataType::kFloat, {2}, scale),
         MakeTensor(DataType::kFloat, {2}, b), MakeTensor(DataType::kFloat, {2}, mean),
         MakeTensor(DataType::kFloat, {2}, var)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectNear(ToDoubles((*y)[0]),
               ReferenceBatchNorm(x, dims[0], 2, count / dims[0] / 2, scale, b, mean, var, 1e-5),
               1e-5);
  }
}

TEST(BatchNormTest, Opset15MixedParameterTypes) {
  // scale/B in float16, mean/var in double: allowed from opset 15.
  const std::vector<int64_t> dims = {2, 2, 3};
  const std::vector<double> x = RandomGridValues(12, 4);
  const std::vector<double> scale = {0.5, 1.25}, b = {0.25, -0.5};
  const std::vector<double> mean = {0.1, -0.2}, var = {0.3, 0.7};
  SingleNodeModel m("BatchNormalization", 15);
  m.Input("x", DataType::kFloat, dims).Input("scale", DataType::kFloat16, {2});
  m.Input("b", DataType::kFloat16, {2}).Input("mean", DataType::kDouble, {2});
  m.Input("var", DataType::kDouble, {2}).Output("y", DataType::kFloat, dims);
  StatusOr<std::vector<Tensor>> y = m.Run(
      {MakeTensor(DataType::kFloat, dims, x), MakeTensor(DataType::kFloat16, {2}, scale),
       MakeTensor(DataType::kFloat16, {2}, b), MakeTensor(DataType::kDouble, {2}, mean),
       MakeTensor(DataType::kDouble, {2}, var)});
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectNear(ToDoubles((*y)[0]), ReferenceBatchNorm(x, 2, 2, 3, scale, b, mean, var, 1e-5), 1e-5);
}

// A batch whose statistics are easy by hand: X [N=2, C=2, 2]
//   channel 0: {1, 3} and {5, 7}: mean 4, population variance 5
//   channel 1: {0, 0} and {2, 2}: mean 1, population variance 1
const std::vector<int64_t> kTrainDims = {2, 2, 2};
const std::vector<double> kTrainX = {1, 3, 0, 0, 5, 7, 2, 2};
const std::vector<double> kTrainScale = {2.0, 1.0}, kTrainB = {0.5, -1.0};
const std::vector<double> kTrainMean = {1.0, 2.0}, kTrainVar = {4.0, 9.0};
const std::vector<double> kBatchMean = {4.0, 1.0}, kBatchVar = {5.0, 1.0};

std::vector<Tensor> TrainFeeds(DataType dtype) {
  return {MakeTensor(dtype, kTrainDims, kTrainX), MakeTensor(dtype, {2}, kTrainScale),
          MakeTensor(dtype, {2}, kTrainB), MakeTensor(dtype, {2}, kTrainMean),
          MakeTensor(dtype, {2}, kTrainVar)};
}

std::vector<double> TrainY(double eps) {
  return ReferenceBatchNorm(kTrainX, 2, 2, 2, kTrainScale, kTrainB, kBatchMean, kBatchVar, eps);
}

TEST(BatchNormTest, TrainingModeRunningStatistics) {
  // running = input * momentum + batch * (1 - momentum), momentum 0.8:
  //   mean {1*0.8 + 4*0.2, 2*0.8 + 1*0.2} = {1.6, 1.8}
  //   var  {4*0.8 + 5*0.2, 9*0.8 + 1*0.2} = {4.2, 7.4}
  for (DataType dtype : {DataType::kFloat, DataType::kDouble}) {
    SCOPED_TRACE(DataTypeName(dtype));
    SingleNodeModel m = BatchNormModel(15, dtype, kTrainDims, {2});
    m.Output("y", dtype, kTrainDims).Output("running_mean", dtype, {2});
    m.Output("running_var", dtype, {2});
    m.IntAttr("training_mode", 1).FloatAttr("momentum", 0.8f).FloatAttr("epsilon", 1e-3f);
    StatusOr<std::vector<Tensor>> out = m.Run(TrainFeeds(dtype));
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectNear(ToDoubles((*out)[0]), TrainY(1e-3), 1e-6);
    ExpectNear(ToDoubles((*out)[1]), {1.6, 1.8}, 1e-6);
    ExpectNear(ToDoubles((*out)[2]), {4.2, 7.4}, 1e-6);
  }
}

TEST(BatchNormTest, TrainingModeOnTwoThreads) {
  // Large enough for the channel loop to run in parallel; statistics from
  // the reference.
  const std::vector<int64_t> dims = {4, 6, 40, 40};
  const int64_t inner = 1600, count = 4 * 6 * inner;
  const std::vector<double> x = RandomValues(static_cast<size_t>(count), 41);
  std::vector<double> batch_mean(6, 0.0), batch_var(6, 0.0);
  for (int64_t i = 0; i < count; ++i) batch_mean[(i / inner) % 6] += x[i] / (4 * inner);
  for (int64_t i = 0; i < count; ++i) {
    const double d = x[i] - batch_mean[(i / inner) % 6];
    batch_var[(i / inner) % 6] += d * d / (4 * inner);
  }
  const std::vector<double> scale = RandomValues(6, 42), b = RandomValues(6, 43);
  const std::vector<double> mean(6, 0.0), var(6, 1.0);
  SingleNodeModel m = BatchNormModel(15, DataType::kFloat, dims, {6});
  m.Output("y", DataType::kFloat, dims).Output("running_mean", DataType::kFloat, {6});
  m.Output("running_var", DataType::kFloat, {6}).IntAttr("training_mode", 1);
  StatusOr<std::vector<Tensor>> out =
      m.Run({MakeTensor(DataType::kFloat, dims, x), MakeTensor(DataType::kFloat, {6}, scale),
             MakeTensor(DataType::kFloat, {6}, b), MakeTensor(DataType::kFloat, {6}, mean),
             MakeTensor(DataType::kFloat, {6}, var)},
            /*optimize=*/false, /*threads=*/2);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]), ReferenceBatchNorm(x, 4, 6, inner, scale, b, batch_mean, batch_var, 1e-5),
             1e-5);
  std::vector<double> running_var(6);
  for (int c = 0; c < 6; ++c) running_var[c] = 0.9 + 0.1 * batch_var[c];
  ExpectNear(ToDoubles((*out)[2]), running_var, 1e-6);
}

TEST(BatchNormTest, TrainingModeWithOnlyY) {
  SingleNodeModel m = BatchNormModel(14, DataType::kFloat, kTrainDims, {2});
  m.Output("y", DataType::kFloat, kTrainDims).IntAttr("training_mode", 1);
  StatusOr<std::vector<Tensor>> out = m.Run(TrainFeeds(DataType::kFloat));
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]), TrainY(1e-5), 1e-6);
}

TEST(BatchNormTest, Opset9TrainingIsSelectedByTheExtraOutputs) {
  // Opset 9 has no mode attribute: five outputs = training, with saved
  // mean/var = the batch statistics. Default momentum 0.9.
  SingleNodeModel m = BatchNormModel(9, DataType::kFloat, kTrainDims, {2});
  m.Output("y", DataType::kFloat, kTrainDims).Output("mean_out", DataType::kFloat, {2});
  m.Output("var_out", DataType::kFloat, {2}).Output("saved_mean", DataType::kFloat, {2});
  m.Output("saved_var", DataType::kFloat, {2});
  StatusOr<std::vector<Tensor>> out = m.Run(TrainFeeds(DataType::kFloat));
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]), TrainY(1e-5), 1e-6);
  ExpectNear(ToDoubles((*out)[1]), {1.0 * 0.9 + 4.0 * 0.1, 2.0 * 0.9 + 1.0 * 0.1}, 1e-6);
  ExpectNear(ToDoubles((*out)[2]), {4.0 * 0.9 + 5.0 * 0.1, 9.0 * 0.9 + 1.0 * 0.1}, 1e-6);
  ExpectNear(ToDoubles((*out)[3]), kBatchMean, 1e-6);
  ExpectNear(ToDoubles((*out)[4]), kBatchVar, 1e-6);

  // The same node with only Y is inference with the given statistics.
  SingleNodeModel inference = BatchNormModel(9, DataType::kFloat, kTrainDims, {2});
  inference.Output("y", DataType::kFloat, kTrainDims);
  out = inference.Run(TrainFeeds(DataType::kFloat));
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]),
             ReferenceBatchNorm(kTrainX, 2, 2, 2, kTrainScale, kTrainB, kTrainMean, kTrainVar, 1e-5),
             1e-6);
}

TEST(BatchNormTest, Opset6IsTestSelectsTheMode) {
  for (int64_t is_test : {0, 1}) {
    SCOPED_TRACE(is_test ? "is_test=1" : "is_test=0");
    SingleNodeModel m = BatchNormModel(6, DataType::kFloat, kTrainDims, {2});
    m.Output("y", DataType::kFloat, kTrainDims).IntAttr("is_test", is_test);
    StatusOr<std::vector<Tensor>> out = m.Run(TrainFeeds(DataType::kFloat));
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectNear(ToDoubles((*out)[0]),
               is_test ? ReferenceBatchNorm(kTrainX, 2, 2, 2, kTrainScale, kTrainB, kTrainMean,
                                            kTrainVar, 1e-5)
                       : TrainY(1e-5),
               1e-6);
  }
}

TEST(BatchNormTest, SpatialZeroKeepsOneStatisticPerActivation) {
  // X [2, 2, 3]: 6 activations, each with its own scale/B/mean/var.
  const std::vector<int64_t> dims = {2, 2, 3}, param_dims = {2, 3};
  const std::vector<double> x = RandomValues(12, 5);
  const std::vector<double> scale = RandomValues(6, 6, 0.5, 2.0), b = RandomValues(6, 7);
  const std::vector<double> mean = RandomValues(6, 8), var = RandomValues(6, 9, 0.1, 2.0);
  {
    SCOPED_TRACE("inference");
    SingleNodeModel m = BatchNormModel(7, DataType::kFloat, dims, param_dims);
    m.Output("y", DataType::kFloat, dims).IntAttr("spatial", 0);
    StatusOr<std::vector<Tensor>> out = m.Run(
        {MakeTensor(DataType::kFloat, dims, x), MakeTensor(DataType::kFloat, param_dims, scale),
         MakeTensor(DataType::kFloat, param_dims, b), MakeTensor(DataType::kFloat, param_dims, mean),
         MakeTensor(DataType::kFloat, param_dims, var)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    // Per activation = per channel of the (N, C*D) view.
    ExpectNear(ToDoubles((*out)[0]), ReferenceBatchNorm(x, 2, 6, 1, scale, b, mean, var, 1e-5),
               1e-5);
  }
  {
    SCOPED_TRACE("training");
    // Statistics over the batch only: activation a has values x[a], x[6 + a].
    std::vector<double> batch_mean(6), batch_var(6);
    for (int a = 0; a < 6; ++a) {
      batch_mean[a] = (x[a] + x[6 + a]) / 2;
      batch_var[a] = (x[a] - x[6 + a]) * (x[a] - x[6 + a]) / 4;
    }
    SingleNodeModel m = BatchNormModel(6, DataType::kFloat, dims, param_dims);
    // Opset 6 allows 1 or 5 outputs; the last three are left out here.
    m.Output("y", DataType::kFloat, dims).Output("mean_out", DataType::kFloat, param_dims);
    m.NoOutput().NoOutput().NoOutput();
    m.IntAttr("spatial", 0).IntAttr("is_test", 0).FloatAttr("momentum", 0.5f);
    StatusOr<std::vector<Tensor>> out = m.Run(
        {MakeTensor(DataType::kFloat, dims, x), MakeTensor(DataType::kFloat, param_dims, scale),
         MakeTensor(DataType::kFloat, param_dims, b), MakeTensor(DataType::kFloat, param_dims, mean),
         MakeTensor(DataType::kFloat, param_dims, var)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectNear(ToDoubles((*out)[0]),
               ReferenceBatchNorm(x, 2, 6, 1, scale, b, batch_mean, batch_var, 1e-5), 1e-4);
    std::vector<double> running(6);
    for (int a = 0; a < 6; ++a) running[a] = 0.5 * mean[a] + 0.5 * batch_mean[a];
    ExpectNear(ToDoubles((*out)[1]), running, 1e-6);
  }
}

TEST(BatchNormTest, StatisticsOutputsOutsideTrainingModeAreAnError) {
  SingleNodeModel m = BatchNormModel(15, DataType::kFloat, kTrainDims, {2});
  m.Output("y", DataType::kFloat, kTrainDims).Output("running_mean", DataType::kFloat, {2});
  m.Output("running_var", DataType::kFloat, {2});
  StatusOr<std::vector<Tensor>> out = m.Run(TrainFeeds(DataType::kFloat));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("BatchNormalization 'node'"), std::string::npos)
      << out.status().message();
}

TEST(BatchNormTest, WrongParameterSizeIsAnError) {
  SingleNodeModel m = BatchNormModel(15, DataType::kFloat, {1, 3, 2}, {-1});
  m.Output("y", DataType::kFloat, {1, 3, 2});
  std::vector<Tensor> feeds = {MakeTensor(DataType::kFloat, {1, 3, 2}, RandomValues(6, 1))};
  for (int i = 0; i < 4; ++i) feeds.push_back(MakeTensor(DataType::kFloat, {2}, {1, 1}));
  StatusOr<std::vector<Tensor>> out = m.Run(feeds);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("'node'"), std::string::npos) << out.status().message();
}

TEST(InstanceNormTest, MatchesReference) {
  const std::vector<int64_t> dims = {2, 3, 4, 5};
  const std::vector<double> x = RandomGridValues(120, 12);
  const std::vector<double> scale = {0.5, 1.0, -2.0}, b = {0.25, 0.0, 1.0};
  std::vector<double> expected(120);
  for (int plane = 0; plane < 6; ++plane) {
    double mean = 0, var = 0;
    for (int i = 0; i < 20; ++i) mean += x[plane * 20 + i] / 20;
    for (int i = 0; i < 20; ++i) var += (x[plane * 20 + i] - mean) * (x[plane * 20 + i] - mean) / 20;
    for (int i = 0; i < 20; ++i) {
      expected[plane * 20 + i] =
          (x[plane * 20 + i] - mean) / std::sqrt(var + 1e-2) * scale[plane % 3] + b[plane % 3];
    }
  }
  for (DataType dtype : {DataType::kFloat, DataType::kDouble, DataType::kFloat16}) {
    SCOPED_TRACE(DataTypeName(dtype));
    SingleNodeModel m("InstanceNormalization", 6);
    m.Input("x", dtype, dims).Input("scale", dtype, {3}).Input("b", dtype, {3});
    m.Output("y", dtype, dims).FloatAttr("epsilon", 1e-2f);
    StatusOr<std::vector<Tensor>> y = m.Run(
        {MakeTensor(dtype, dims, x), MakeTensor(dtype, {3}, scale), MakeTensor(dtype, {3}, b)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectNear(ToDoubles((*y)[0]), expected, dtype == DataType::kFloat16 ? 3e-3 : 1e-5);
  }
}

// ONNX LRN: window [c - floor((size-1)/2), c + ceil((size-1)/2)], alpha/size.
std::vector<double> ReferenceLrn(const std::vector<double>& x, const std::vector<int64_t>& dims,
                                 int64_t size, double alpha, double beta, double bias) {
  const int64_t c_count = dims[1];
  int64_t inner = 1;
  for (size_t d = 2; d < dims.size(); ++d) inner *= dims[d];
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < dims[0]; ++n) {
    for (int64_t c = 0; c < c_count; ++c) {
      for (int64_t i = 0; i < inner; ++i) {
        double sum = 0;
        for (int64_t k = c - (size - 1) / 2; k <= c + size / 2; ++k) {
          if (k < 0 || k >= c_count) continue;
          sum += x[(n * c_count + k) * inner + i] * x[(n * c_count + k) * inner + i];
        }
        const int64_t at = (n * c_count + c) * inner + i;
        y[at] = x[at] / std::pow(bias + alpha / size * sum, beta);
      }
    }
  }
  return y;
}

TEST(LrnTest, OddAndEvenSizes) {
  const std::vector<int64_t> dims = {2, 6, 3, 3};
  const std::vector<double> x = RandomValues(108, 13, -3.0, 3.0);
  for (int64_t size : {1, 3, 4, 5}) {
    for (DataType dtype : {DataType::kFloat, DataType::kDouble}) {
      SCOPED_TRACE("size " + std::to_string(size) + " " + DataTypeName(dtype));
      SingleNodeModel m("LRN", 13);
      m.Input("x", dtype, dims).Output("y", dtype, dims).IntAttr("size", size);
      m.FloatAttr("alpha", 0.5f).FloatAttr("beta", 0.6f).FloatAttr("bias", 1.5f);
      StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, dims, x)});
      ASSERT_TRUE(y.ok()) << y.status().message();
      ExpectNear(ToDoubles((*y)[0]), ReferenceLrn(x, dims, size, 0.5, 0.6, 1.5), 1e-5);
    }
  }
}

}  // namespace
}  // namespace bnfold::testing
