// ReduceSum / ReduceMean / ReduceMax / ReduceMin through the public API:
// axes as attribute and as input, keepdims, noop_with_empty_axes, integer
// types, empty reductions; against a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold::testing {
namespace {

// Reduces x (row-major, dims) over `reduced` dims; returns values in the
// keepdims layout (same order as without keepdims).
std::vector<double> ReferenceReduce(const std::string& op, const std::vector<double>& x,
                                    const std::vector<int64_t>& dims,
                                    const std::vector<bool>& reduced) {
  std::vector<int64_t> out_dims;
  for (size_t d = 0; d < dims.size(); ++d) out_dims.push_back(reduced[d] ? 1 : dims[d]);
  int64_t out_count = 1;
  for (int64_t d : out_dims) out_count *= d;
  const double init = op == "ReduceMax"   ? -std::numeric_limits<double>::infinity()
                      : op == "ReduceMin" ? std::numeric_limits<double>::infinity()
                                          : 0.0;
  std::vector<double> acc(static_cast<size_t>(out_count), init);
  std::vector<int64_t> count(static_cast<size_t>(out_count), 0);
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t rest = static_cast<int64_t>(i), out = 0, stride = 1;
    for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
      const int64_t coord = rest % dims[d];
      rest /= dims[d];
      if (!reduced[d]) out += coord * stride;
      stride *= out_dims[d];
    }
    if (op == "ReduceMax") acc[out] = std::max(acc[out], x[i]);
    else if (op == "ReduceMin") acc[out] = std::min(acc[out], x[i]);
    else acc[out] += x[i];
    ++count[out];
  }
  if (op == "ReduceMean") {
    for (size_t i = 0; i < acc.size(); ++i) acc[i] /= count[i];
  }
  return acc;
}

std::vector<int64_t> ReducedShape(const std::vector<int64_t>& dims, const std::vector<bool>& reduced,
                                  bool keepdims) {
  std::vector<int64_t> out;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (!reduced[d]) out.push_back(dims[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
  }
}

const std::vector<int64_t> kDims = {2, 3, 4, 5};
const std::vector<std::string> kOps = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"};

TEST(ReduceTest, AxesAttributeKeepdimsAndTypes) {
  const std::vector<double> x = RandomGridValues(120, 31);
  const std::vector<bool> reduced = {true, false, true, false};  // axes {0, -2}
  for (const std::string& op : kOps) {
    const std::vector<double> want = ReferenceReduce(op, x, kDims, reduced);
    for (DataType dtype : {DataType::kFloat, DataType::kDouble, DataType::kFloat16}) {
      for (int64_t keepdims : {0, 1}) {
        SCOPED_TRACE(op + " " + DataTypeName(dtype) + " keepdims " + std::to_string(keepdims));
        const std::vector<int64_t> out_dims = ReducedShape(kDims, reduced, keepdims);
        // ReduceSum takes axes as an attribute up to opset 12.
        SingleNodeModel m(op, op == "ReduceSum" ? 11 : 13);
        m.Input("x", dtype, kDims).Output("y", dtype, out_dims);
        m.IntsAttr("axes", {0, -2}).IntAttr("keepdims", keepdims);
        StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, kDims, x)});
        ASSERT_TRUE(y.ok()) << y.status().message();
        EXPECT_EQ((*y)[0].shape(), out_dims);
        ExpectNear(ToDoubles((*y)[0]), want, dtype == DataType::kFloat16 ? 2e-3 : 1e-6);
      }
    }
  }
}

TEST(ReduceTest, NoAxesReducesEverything) {
  const std::vector<double> x = RandomGridValues(120, 32);
  for (const std::string& op : kOps) {
    SCOPED_TRACE(op);
    const std::vector<double> want = ReferenceReduce(op, x, kDims, {true, true, true, true});
    SingleNodeModel m(op, 13);
    m.Input("x", DataType::kFloat, kDims).Output("y", DataType::kFloat, {1, 1, 1, 1});
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, kDims, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectNear(ToDoubles((*y)[0]), want, 1e-6);
  }
}

TEST(ReduceTest, AxesInputFromAnInitializer) {
  // ReduceSum takes axes as an input from opset 13, the others from 18.
  const std::vector<double> x = RandomGridValues(120, 33);
  const std::vector<bool> reduced = {false, true, false, true};  // axes {1, -1}
  for (const std::string& op : kOps) {
    for (DataType dtype : {DataType::kFloat, DataType::kDouble}) {
      SCOPED_TRACE(op + " " + DataTypeName(dtype));
      const std::vector<int64_t> out_dims = ReducedShape(kDims, reduced, false);
      SingleNodeModel m(op, op == "ReduceSum" ? 13 : 18);
      m.Input("x", dtype, kDims);
      m.Initializer("axes", MakeTensor(DataType::kInt64, {2}, {1, -1}));
      m.Output("y", dtype, out_dims).IntAttr("keepdims", 0);
      StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, kDims, x)});
      ASSERT_TRUE(y.ok()) << y.status().message();
      EXPECT_EQ((*y)[0].shape(), out_dims);
      ExpectNear(ToDoubles((*y)[0]), ReferenceReduce(op, x, kDims, reduced), 1e-6);
    }
  }
}

TEST(ReduceTest, EmptyAxesInputWithAndWithoutNoop) {
  // An axes input with no elements is known to be empty from its shape.
  const std::vector<int64_t> dims = {2, 3};
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};
  for (int64_t noop : {0, 1}) {
    SCOPED_TRACE(noop ? "noop" : "reduce all");
    SingleNodeModel m("ReduceSum", 13);
    m.Input("x", DataType::kFloat, dims).Input("axes", DataType::kInt64, {0});
    m.Output("y", DataType::kFloat, noop ? dims : std::vector<int64_t>{1, 1});
    m.IntAttr("noop_with_empty_axes", noop);
    StatusOr<std::vector<Tensor>> y =
        m.Run({MakeTensor(DataType::kFloat, dims, x), MakeTensor(DataType::kInt64, {0}, {})});
    ASSERT_TRUE(y.ok()) << y.status().message();
    EXPECT_EQ(ToDoubles((*y)[0]), noop ? x : std::vector<double>{21});
  }
}

TEST(ReduceTest, AxesFedAtRunTimeSpecialiseThePlan) {
  // The output shape depends on the axes' values: the session compiles one
  // plan per distinct value of this small fed input.
  SingleNodeModel m("ReduceSum", 13);
  m.Input("x", DataType::kFloat, {2, 3}).Input("axes", DataType::kInt64, {1});
  m.Output("y", DataType::kFloat, {-1, -1});
  const Tensor x = MakeTensor(DataType::kFloat, {2, 3}, {1, 2, 3, 4, 5, 6});
  StatusOr<std::vector<Tensor>> rows = m.Run({x, MakeTensor(DataType::kInt64, {1}, {1})});
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ((*rows)[0].shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ((*rows)[0].data_as<float>()[0], 6.0f);
  EXPECT_EQ((*rows)[0].data_as<float>()[1], 15.0f);
  StatusOr<std::vector<Tensor>> cols = m.Run({x, MakeTensor(DataType::kInt64, {1}, {0})});
  ASSERT_TRUE(cols.ok()) << cols.status().message();
  EXPECT_EQ((*cols)[0].shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ((*cols)[0].data_as<float>()[2], 9.0f);
}

TEST(ReduceTest, IntegerTypes) {
  const std::vector<int64_t> dims = {2, 3};
  {
    // int64 sums beyond 2^53 stay exact: (2^53 + 1) + 1 + 2 = 2^53 + 4,
    // where a double accumulator would give 2^53 + 2.
    SingleNodeModel m("ReduceSum", 11);
    m.Input("x", DataType::kInt64, {3}).Output("y", DataType::kInt64, {1});
    Tensor x = MakeTensor(DataType::kInt64, {3}, {0, 1, 2});
    x.data_as<int64_t>()[0] = int64_t{9007199254740993};
    StatusOr<std::vector<Tensor>> y = m.Run({x});
    ASSERT_TRUE(y.ok()) << y.status().message();
    EXPECT_EQ((*y)[0].data_as<int64_t>()[0], int64_t{9007199254740996});
  }
  {
    // Integer mean truncates toward zero: {-3, -4} -> -3, {7, 8} -> 7.
    SingleNodeModel m("ReduceMean", 13);
    m.Input("x", DataType::kInt32, {2, 2}).Output("y", DataType::kInt32, {2});
    m.IntsAttr("axes", {1}).IntAttr("keepdims", 0);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kInt32, {2, 2}, {-3, -4, 7, 8})});
    ASSERT_TRUE(y.ok()) << y.status().message();
    EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{-3, 7}));
  }
  for (DataType dtype : {DataType::kInt8, DataType::kUint8, DataType::kUint32}) {
    SCOPED_TRACE(DataTypeName(dtype));
    const std::vector<double> x = {5, 1, 9, 3, 7, 2};
    for (const std::string op : {"ReduceMax", "ReduceMin"}) {
      SingleNodeModel m(op, 13);
      m.Input("x", dtype, dims).Output("y", dtype, {2, 1}).IntsAttr("axes", {1});
      StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, dims, x)});
      ASSERT_TRUE(y.ok()) << y.status().message();
      const std::vector<double> want =
          op == "ReduceMax" ? std::vector<double>{9, 7} : std::vector<double>{1, 2};
      EXPECT_EQ(ToDoubles((*y)[0]), want);
    }
  }
}

TEST(ReduceTest, BoolMaxMinFromOpset20) {
  SingleNodeModel max("ReduceMax", 20), min("ReduceMin", 20);
  for (SingleNodeModel* m : {&max, &min}) {
    m->Input("x", DataType::kBool, {2, 3}).Output("y", DataType::kBool, {2}).IntAttr("keepdims", 0);
    m->Initializer("axes", MakeTensor(DataType::kInt64, {1}, {1}));
  }
  const Tensor x = MakeTensor(DataType::kBool, {2, 3}, {0, 1, 0, 1, 1, 1});
  StatusOr<std::vector<Tensor>> y = max.Run({x});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{1, 1}));
  y = min.Run({x});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{0, 1}));
}

TEST(ReduceTest, ReducingAnEmptyDim) {
  // x [2, 0]: sum 0, max -inf, min +inf, mean NaN (0 / 0) per row.
  const std::vector<int64_t> dims = {2, 0};
  for (const std::string& op : kOps) {
    SCOPED_TRACE(op);
    SingleNodeModel m(op, 13);
    m.Input("x", DataType::kFloat, dims).Output("y", DataType::kFloat, {2});
    if (op == "ReduceSum") {
      m.Initializer("axes", MakeTensor(DataType::kInt64, {1}, {1}));
    } else {
      m.IntsAttr("axes", {1});
    }
    m.IntAttr("keepdims", 0);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, dims, {})});
    ASSERT_TRUE(y.ok()) << y.status().message();
    const std::vector<double> got = ToDoubles((*y)[0]);
    ASSERT_EQ(got.size(), 2u);
    if (op == "ReduceMean") {
      EXPECT_TRUE(std::isnan(got[0]));
    } else {
      const double inf = std::numeric_limits<double>::infinity();
      EXPECT_EQ(got[0], op == "ReduceSum" ? 0.0 : op == "ReduceMax" ? -inf : inf);
    }
  }
}

TEST(ReduceTest, RepeatedAxisIsAnError) {
  SingleNodeModel m("ReduceMean", 13);
  m.Input("x", DataType::kFloat, {2, 3}).Output("y", DataType::kFloat, {-1, -1});
  m.IntsAttr("axes", {1, -1});
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {2, 3}, RandomValues(6, 1))});
  ASSERT_FALSE(y.ok());
}

}  // namespace
}  // namespace bnfold::testing
