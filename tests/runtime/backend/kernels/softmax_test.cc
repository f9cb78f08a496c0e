// Softmax / LogSoftmax through the public API: the opset < 13 semantics
// (flatten to 2-D at axis, default 1) versus opset >= 13 (one axis, default
// -1), against a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold::testing {
namespace {

// Normalises x (viewed as [outer, n, inner]) along n.
std::vector<double> ReferenceSoftmax(const std::vector<double>& x, int64_t outer, int64_t n,
                                     int64_t inner, bool log) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += std::exp(x[(o * n + j) * inner + i]);
      for (int64_t j = 0; j < n; ++j) {
        const int64_t at = (o * n + j) * inner + i;
        y[at] = log ? x[at] - std::log(sum) : std::exp(x[at]) / sum;
      }
    }
  }
  return y;
}

StatusOr<std::vector<double>> RunSoftmax(const std::string& op, int64_t opset, DataType dtype,
                                         const std::vector<int64_t>& dims,
                                         const std::vector<double>& x, const int64_t* axis) {
  SingleNodeModel m(op, opset);
  m.Input("x", dtype, dims).Output("y", dtype, dims);
  if (axis) m.IntAttr("axis", *axis);
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, dims, x)});
  if (!y.ok()) return y.status();
  return ToDoubles((*y)[0]);
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
  }
}

const std::vector<int64_t> kDims = {2, 3, 4};

TEST(SoftmaxTest, OldOpsetsFlattenAtAxisNewOnesUseOneAxis) {
  const std::vector<double> x = RandomGridValues(24, 21);
  const int64_t axis = 1;
  for (const std::string op : {"Softmax", "LogSoftmax"}) {
    const bool log = op == "LogSoftmax";
    for (DataType dtype : {DataType::kFloat, DataType::kDouble, DataType::kFloat16}) {
      SCOPED_TRACE(op + " " + DataTypeName(dtype));
      const double tol = dtype == DataType::kFloat16 ? 3e-3 : 1e-5;
      // Opset 11, axis 1: normalised over the 12 values of [3, 4] together.
      StatusOr<std::vector<double>> old_y = RunSoftmax(op, 11, dtype, kDims, x, &axis);
      ASSERT_TRUE(old_y.ok()) << old_y.status().message();
      ExpectNear(*old_y, ReferenceSoftmax(x, 2, 12, 1, log), tol);
      // Opset 13, axis 1: normalised over the 3 values along dim 1.
      StatusOr<std::vector<double>> new_y = RunSoftmax(op, 13, dtype, kDims, x, &axis);
      ASSERT_TRUE(new_y.ok()) << new_y.status().message();
      ExpectNear(*new_y, ReferenceSoftmax(x, 2, 3, 4, log), tol);
    }
  }
}

TEST(SoftmaxTest, DefaultAxisIsOneBeforeOpset13AndMinusOneFrom13) {
  const std::vector<double> x = RandomValues(24, 22);
  StatusOr<std::vector<double>> old_y = RunSoftmax("Softmax", 1, DataType::kFloat, kDims, x, nullptr);
  ASSERT_TRUE(old_y.ok()) << old_y.status().message();
  ExpectNear(*old_y, ReferenceSoftmax(x, 2, 12, 1, false), 1e-5);
  StatusOr<std::vector<double>> new_y = RunSoftmax("Softmax", 13, DataType::kFloat, kDims, x, nullptr);
  ASSERT_TRUE(new_y.ok()) << new_y.status().message();
  ExpectNear(*new_y, ReferenceSoftmax(x, 6, 4, 1, false), 1e-5);
}

TEST(SoftmaxTest, NegativeAndZeroAxes) {
  const std::vector<double> x = RandomValues(24, 23);
  const int64_t minus_two = -2, zero = 0;
  StatusOr<std::vector<double>> y = RunSoftmax("LogSoftmax", 13, DataType::kFloat, kDims, x, &minus_two);
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectNear(*y, ReferenceSoftmax(x, 2, 3, 4, true), 1e-5);
  // Opset 11 with axis 0 normalises over the whole tensor.
  y = RunSoftmax("Softmax", 11, DataType::kFloat, kDims, x, &zero);
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectNear(*y, ReferenceSoftmax(x, 1, 24, 1, false), 1e-5);
}

TEST(SoftmaxTest, LargeValuesDoNotOverflow) {
  const std::vector<double> x = {1000, 1001, 1002, 1003, -1000, -999, -998, -997};
  const int64_t axis = -1;
  for (const std::string op : {"Softmax", "LogSoftmax"}) {
    for (DataType dtype : {DataType::kFloat, DataType::kDouble}) {
      SCOPED_TRACE(op + " " + DataTypeName(dtype));
      StatusOr<std::vector<double>> y = RunSoftmax(op, 13, dtype, {2, 4}, x, &axis);
      ASSERT_TRUE(y.ok()) << y.status().message();
      // Shifting a row does not change its softmax: compare with 0..3.
      const std::vector<double> shifted = {0, 1, 2, 3, 0, 1, 2, 3};
      std::vector<double> want = ReferenceSoftmax(shifted, 2, 4, 1, op == "LogSoftmax");
      ExpectNear(*y, want, 1e-5);
    }
  }
}

TEST(SoftmaxTest, AxisOutOfRangeIsAnError) {
  const int64_t axis = 3;
  StatusOr<std::vector<double>> y =
      RunSoftmax("Softmax", 13, DataType::kFloat, kDims, RandomValues(24, 1), &axis);
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("axis"), std::string::npos) << y.status().message();
}

}  // namespace
}  // namespace bnfold::testing
