// Kernels of the indexing family (runtime/backend/onednn/kernels/indexing.cc,
// and its reductions in reduce.cc) through the public Session API
// (single_node_model.h), against hand-computed or double-precision
// references: the edge cases the ONNX backend suite misses (empty tensors,
// negative axes and indices, out-of-range indices, NaN handling, integer
// types, opsets it does not exercise).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "tests/runtime/backend/kernels/expect_values.h"
#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold::testing {
namespace {

// ---------------------------------------------------------------- Reduce*

// Reduces a [2, 3, 4] tensor over axis 1 with `f` folding the three values.
std::vector<double> ReduceAxis1(const std::vector<double>& x,
                                const std::function<double(double, double, double)>& f) {
  std::vector<double> out;
  for (int a = 0; a < 2; ++a) {
    for (int c = 0; c < 4; ++c) out.push_back(f(x[a * 12 + c], x[a * 12 + 4 + c], x[a * 12 + 8 + c]));
  }
  return out;
}

struct ReduceCase {
  std::string op;
  std::function<double(double, double, double)> f;
};

const std::vector<ReduceCase>& ReduceCases() {
  static const std::vector<ReduceCase> cases = {
      {"ReduceProd", [](double a, double b, double c) { return a * b * c; }},
      {"ReduceL1", [](double a, double b, double c) { return std::fabs(a) + std::fabs(b) + std::fabs(c); }},
      {"ReduceL2", [](double a, double b, double c) { return std::sqrt(a * a + b * b + c * c); }},
      {"ReduceSumSquare", [](double a, double b, double c) { return a * a + b * b + c * c; }},
      {"ReduceLogSum", [](double a, double b, double c) { return std::log(a + b + c); }},
      {"ReduceLogSumExp",
       [](double a, double b, double c) { return std::log(std::exp(a) + std::exp(b) + std::exp(c)); }},
  };
  return cases;
}

TEST(ReduceMoreTest, EveryOpsetFormAndTypeMatchesTheReference) {
  // Positive values so ReduceLogSum is defined; axis -2 == 1.
  const std::vector<int64_t> dims = {2, 3, 4};
  std::vector<double> x = RandomGridValues(24, 61);
  for (double& v : x) v = std::fabs(v) + 0.25;
  for (const ReduceCase& rc : ReduceCases()) {
    const std::vector<double> want = ReduceAxis1(x, rc.f);
    for (int64_t opset : {11, 13, 18}) {
      for (DataType dtype : {DataType::kFloat, DataType::kDouble, DataType::kFloat16}) {
        SCOPED_TRACE(rc.op + " opset " + std::to_string(opset) + " " + DataTypeName(dtype));
        SingleNodeModel m(rc.op, opset);
        m.Input("x", dtype, dims);
        if (opset >= 18) m.Initializer("axes", MakeTensor(DataType::kInt64, {1}, {-2}));
        else m.IntsAttr("axes", {-2});
        m.Output("y", dtype, {2, 4}).IntAttr("keepdims", 0);
        StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, dims, x)});
        ASSERT_TRUE(y.ok()) << y.status().message();
        EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{2, 4}));
        ExpectValuesNear(ToDoubles((*y)[0]), want, dtype == DataType::kFloat16 ? 3e-3 : 1e-5);
      }
    }
  }
}

TEST(ReduceMoreTest, IntegerTypesAccumulateWide) {
  // Integer reductions are exact: L1 of negative int32s, int64 products.
  const std::vector<double> x = {-3, 4, -5, 1000, 1000, 3};
  SingleNodeModel l1("ReduceL1", 13);
  l1.Input("x", DataType::kInt32, {2, 3}).Output("y", DataType::kInt32, {2});
  l1.IntsAttr("axes", {1}).IntAttr("keepdims", 0);
  StatusOr<std::vector<Tensor>> y = l1.Run({MakeTensor(DataType::kInt32, {2, 3}, x)});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{12, 2003}));
  SingleNodeModel prod("ReduceProd", 13);
  prod.Input("x", DataType::kInt64, {2, 3}).Output("y", DataType::kInt64, {2});
  prod.IntsAttr("axes", {1}).IntAttr("keepdims", 0);
  y = prod.Run({MakeTensor(DataType::kInt64, {2, 3}, x)});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{60, 3000000}));
}

TEST(ReduceMoreTest, LogSumExpDoesNotOverflowAndKeepsInfinities) {
  // float32 exp(100) overflows; the max-shifted form does not.
  SingleNodeModel m("ReduceLogSumExp", 13);
  m.Input("x", DataType::kFloat, {3, 2}).Output("y", DataType::kFloat, {3});
  m.IntsAttr("axes", {1}).IntAttr("keepdims", 0);
  const double inf = std::numeric_limits<double>::infinity();
  StatusOr<std::vector<Tensor>> y =
      m.Run({MakeTensor(DataType::kFloat, {3, 2}, {100, 100, -inf, -inf, inf, 1})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  ExpectValuesNear(ToDoubles((*y)[0]), {100 + std::log(2.0), -inf, inf}, 1e-6);
}

TEST(ReduceMoreTest, EmptyReductionGivesTheIdentity) {
  // Reducing a dim of size 0: sum-like 0, product 1, log of 0 sum -inf.
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, double>> cases = {
      {"ReduceProd", 1}, {"ReduceL1", 0}, {"ReduceL2", 0}, {"ReduceSumSquare", 0},
      {"ReduceLogSum", -inf}, {"ReduceLogSumExp", -inf}};
  for (const auto& [op, want] : cases) {
    SCOPED_TRACE(op);
    SingleNodeModel m(op, 13);
    m.Input("x", DataType::kFloat, {2, 0}).Output("y", DataType::kFloat, {2});
    m.IntsAttr("axes", {1}).IntAttr("keepdims", 0);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {2, 0}, {})});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectValuesNear(ToDoubles((*y)[0]), {want, want}, 0);
  }
}

TEST(ReduceMoreTest, NoopWithEmptyAxesAppliesTheElementFunction) {
  // Opset 18: no axes + noop_with_empty_axes reduces each element alone,
  // as the ONNX reference does (|x|, x^2, log x).
  const std::vector<double> x = {-2, 0.5, 3, -1};
  const std::vector<std::pair<std::string, std::vector<double>>> cases = {
      {"ReduceL1", {2, 0.5, 3, 1}},
      {"ReduceSumSquare", {4, 0.25, 9, 1}},
      {"ReduceProd", x},
      {"ReduceLogSumExp", x},
  };
  for (const auto& [op, want] : cases) {
    SCOPED_TRACE(op);
    SingleNodeModel m(op, 18);
    m.Input("x", DataType::kFloat, {2, 2}).Output("y", DataType::kFloat, {2, 2});
    m.IntAttr("noop_with_empty_axes", 1);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {2, 2}, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectValuesNear(ToDoubles((*y)[0]), want, 1e-6);
  }
}

// ---------------------------------------------------------------- ArgMax/ArgMin

TEST(ArgTest, AxesKeepdimsLastIndexAndTypes) {
  // [2, 3] with ties: hand-computed.
  const std::vector<double> x = {1, 5, 5, 2, 2, 0};
  struct Case {
    std::string op;
    int64_t axis, keepdims, last;
    std::vector<int64_t> dims;
    std::vector<double> want;
  };
  const std::vector<Case> cases = {
      {"ArgMax", 1, 1, 0, {2, 1}, {1, 0}}, {"ArgMax", -1, 0, 1, {2}, {2, 1}},
      {"ArgMin", 0, 0, 0, {3}, {0, 1, 1}}, {"ArgMin", -1, 1, 1, {2, 1}, {0, 2}},
      {"ArgMax", 0, 1, 1, {1, 3}, {1, 0, 0}},
  };
  for (const Case& c : cases) {
    for (DataType dtype : {DataType::kFloat, DataType::kInt32, DataType::kUint8, DataType::kFloat16,
                           DataType::kInt64, DataType::kDouble}) {
      SCOPED_TRACE(c.op + " axis " + std::to_string(c.axis) + " last " + std::to_string(c.last) +
                   " " + DataTypeName(dtype));
      SingleNodeModel m(c.op, 12);
      m.Input("x", dtype, {2, 3}).Output("y", DataType::kInt64, c.dims);
      m.IntAttr("axis", c.axis).IntAttr("keepdims", c.keepdims).IntAttr("select_last_index", c.last);
      StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(dtype, {2, 3}, x)});
      ASSERT_TRUE(y.ok()) << y.status().message();
      EXPECT_EQ((*y)[0].shape(), c.dims);
      EXPECT_EQ(ToDoubles((*y)[0]), c.want);
    }
  }
}

TEST(ArgTest, OpsetsBeforeSelectLastIndex) {
  // Opsets 1 and 11 have no select_last_index: the first extreme wins.
  for (int64_t opset : {1, 11}) {
    for (const std::string op : {"ArgMax", "ArgMin"}) {
      SingleNodeModel m(op, opset);
      m.Input("x", DataType::kFloat, {2, 3}).Output("y", DataType::kInt64, {2});
      m.IntAttr("axis", opset == 1 ? 1 : -1).IntAttr("keepdims", 0);
      StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {2, 3}, {1, 5, 5, 0, 2, 0})});
      ASSERT_TRUE(y.ok()) << y.status().message();
      const std::vector<double> want = op == "ArgMax" ? std::vector<double>{1, 1}
                                                      : std::vector<double>{0, 0};
      EXPECT_EQ(ToDoubles((*y)[0]), want) << op << " opset " << opset;
    }
  }
}

TEST(ArgTest, NanIsTheExtremeAsInNumpy) {
  for (const std::string op : {"ArgMax", "ArgMin"}) {
    for (int64_t last : {0, 1}) {
      SingleNodeModel m(op, 13);
      m.Input("x", DataType::kFloat, {5}).Output("y", DataType::kInt64, {});
      m.IntAttr("keepdims", 0).IntAttr("select_last_index", last);
      StatusOr<std::vector<Tensor>> y =
          m.Run({MakeTensor(DataType::kFloat, {5}, {1, NAN, 9, NAN, -9})});
      ASSERT_TRUE(y.ok()) << y.status().message();
      EXPECT_EQ(ToDoubles((*y)[0]), std::vector<double>{last ? 3.0 : 1.0}) << op;
    }
  }
}

TEST(ArgTest, EmptyAxisIsAnErrorAndEmptyOuterIsEmpty) {
  SingleNodeModel bad("ArgMax", 13);
  bad.Input("x", DataType::kFloat, {2, 0}).Output("y", DataType::kInt64, {2, 1}).IntAttr("axis", 1);
  StatusOr<std::vector<Tensor>> y = bad.Run({MakeTensor(DataType::kFloat, {2, 0}, {})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("empty"), std::string::npos) << y.status().message();
  SingleNodeModel empty("ArgMin", 13);
  empty.Input("x", DataType::kFloat, {0, 3}).Output("y", DataType::kInt64, {0, 1}).IntAttr("axis", 1);
  y = empty.Run({MakeTensor(DataType::kFloat, {0, 3}, {})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{0, 1}));
}

// ---------------------------------------------------------------- GatherElements

TEST(GatherElementsTest, AxesNegativeIndicesAndSmallerIndexShape) {
  // data [3, 3] = 1..9; indices [2, 3] (fewer rows than data) along axis 0
  // and [3, 2] along axis -1, with negative indices. Hand-computed.
  const std::vector<double> data = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  struct Case {
    int64_t axis;
    std::vector<int64_t> dims;
    std::vector<double> indices, want;
  };
  for (const Case& c : {Case{0, {2, 3}, {1, 2, 0, -1, 0, -2}, {4, 8, 3, 7, 2, 6}},
                        Case{-1, {3, 2}, {0, -1, 2, 1, -3, 0}, {1, 3, 6, 5, 7, 7}}}) {
    for (DataType itype : {DataType::kInt64, DataType::kInt32}) {
      SingleNodeModel m("GatherElements", 13);
      m.Input("data", DataType::kDouble, {3, 3}).Input("i", itype, c.dims);
      m.Output("y", DataType::kDouble, c.dims).IntAttr("axis", c.axis);
      StatusOr<std::vector<Tensor>> y = m.Run(
          {MakeTensor(DataType::kDouble, {3, 3}, data), MakeTensor(itype, c.dims, c.indices)});
      ASSERT_TRUE(y.ok()) << y.status().message();
      EXPECT_EQ(ToDoubles((*y)[0]), c.want) << "axis " << c.axis;
    }
  }
}

TEST(GatherElementsTest, OutOfRangeIndexIsAnErrorAndEmptyIndicesGiveEmpty) {
  SingleNodeModel m("GatherElements", 11);
  m.Input("data", DataType::kFloat, {2, 2}).Input("i", DataType::kInt64, {-1, 2});
  m.Output("y", DataType::kFloat, {-1, 2});
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {2, 2}, {1, 2, 3, 4}),
                                           MakeTensor(DataType::kInt64, {1, 2}, {0, 2})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("out of range"), std::string::npos) << y.status().message();
  y = m.Run({MakeTensor(DataType::kFloat, {2, 2}, {1, 2, 3, 4}), MakeTensor(DataType::kInt64, {0, 2}, {})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{0, 2}));
}

// ---------------------------------------------------------------- scatters

TEST(ScatterTest, ScatterElementsReductionsByOpset) {
  // data [2, 3] = 1..6; indices [[0, 0]] on axis 1 (a duplicate), updates
  // [[10, 20]]: row 0, column 0 receives both. Hand-computed per reduction.
  const std::vector<double> data = {1, 2, 3, 4, 5, 6};
  struct Case {
    std::string reduction;
    int64_t opset;
    double cell;
  };
  for (const Case& c : {Case{"add", 16, 31}, Case{"mul", 16, 200}, Case{"max", 18, 20},
                        Case{"min", 18, 1}}) {
    for (DataType dtype : {DataType::kFloat, DataType::kInt32, DataType::kFloat16}) {
      SCOPED_TRACE(c.reduction + " " + DataTypeName(dtype));
      SingleNodeModel m("ScatterElements", c.opset);
      m.Input("data", dtype, {2, 3}).Input("i", DataType::kInt64, {1, 2}).Input("u", dtype, {1, 2});
      m.Output("y", dtype, {2, 3}).IntAttr("axis", 1).StringAttr("reduction", c.reduction);
      StatusOr<std::vector<Tensor>> y =
          m.Run({MakeTensor(dtype, {2, 3}, data), MakeTensor(DataType::kInt64, {1, 2}, {0, -3}),
                 MakeTensor(dtype, {1, 2}, {10, 20})});
      ASSERT_TRUE(y.ok()) << y.status().message();
      EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{c.cell, 2, 3, 4, 5, 6}));
    }
  }
  // max is not defined before opset 18.
  SingleNodeModel early("ScatterElements", 16);
  early.Input("data", DataType::kFloat, {2}).Input("i", DataType::kInt64, {1});
  early.Input("u", DataType::kFloat, {1}).Output("y", DataType::kFloat, {2});
  early.StringAttr("reduction", "max");
  EXPECT_FALSE(early.Run({MakeTensor(DataType::kFloat, {2}, {1, 2}),
                          MakeTensor(DataType::kInt64, {1}, {0}), MakeTensor(DataType::kFloat, {1}, {5})})
                   .ok());
}

TEST(ScatterTest, LegacyScatterAndOutOfRange) {
  SingleNodeModel m("Scatter", 9);
  m.Input("data", DataType::kFloat, {3}).Input("i", DataType::kInt64, {2}).Input("u", DataType::kFloat, {2});
  m.Output("y", DataType::kFloat, {3});
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {3}, {1, 2, 3}),
                                           MakeTensor(DataType::kInt64, {2}, {2, 0}),
                                           MakeTensor(DataType::kFloat, {2}, {7, 8})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{8, 2, 7}));
  y = m.Run({MakeTensor(DataType::kFloat, {3}, {1, 2, 3}), MakeTensor(DataType::kInt64, {2}, {3, 0}),
             MakeTensor(DataType::kFloat, {2}, {7, 8})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("out of range"), std::string::npos) << y.status().message();
}

TEST(ScatterTest, ScatterNdSlicesAndReductions) {
  // data [2, 2] = 1..4; indices [[1], [-2]] address rows; updates rows.
  const std::vector<double> data = {1, 2, 3, 4};
  const std::vector<std::pair<std::string, std::vector<double>>> cases = {
      {"none", {10, 20, 30, 40}}, {"add", {11, 22, 33, 44}}, {"mul", {10, 40, 90, 160}}};
  for (const auto& [reduction, want] : cases) {
    SCOPED_TRACE(reduction);
    SingleNodeModel m("ScatterND", 16);
    m.Input("data", DataType::kInt64, {2, 2}).Input("i", DataType::kInt64, {2, 1});
    m.Input("u", DataType::kInt64, {2, 2}).Output("y", DataType::kInt64, {2, 2});
    m.StringAttr("reduction", reduction);
    StatusOr<std::vector<Tensor>> y =
        m.Run({MakeTensor(DataType::kInt64, {2, 2}, data), MakeTensor(DataType::kInt64, {2, 1}, {1, -2}),
               MakeTensor(DataType::kInt64, {2, 2}, {30, 40, 10, 20})});
    ASSERT_TRUE(y.ok()) << y.status().message();
    EXPECT_EQ(ToDoubles((*y)[0]), want);
  }
}

TEST(GatherNdTest, BatchDimsAndFullTuples) {
  // data [2, 2, 2] = 0..7.
  const std::vector<double> data = {0, 1, 2, 3, 4, 5, 6, 7};
  // batch_dims 1, indices [2, 1]: batch 0 row 1 -> [2, 3]; batch 1 row 0 -> [4, 5].
  SingleNodeModel batched("GatherND", 12);
  batched.Input("d", DataType::kFloat, {2, 2, 2}).Input("i", DataType::kInt64, {2, 1});
  batched.Output("y", DataType::kFloat, {2, 2}).IntAttr("batch_dims", 1);
  StatusOr<std::vector<Tensor>> y = batched.Run(
      {MakeTensor(DataType::kFloat, {2, 2, 2}, data), MakeTensor(DataType::kInt64, {2, 1}, {1, 0})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{2, 3, 4, 5}));
  // Full tuples with a negative index: [1, -1, 0] -> 6, [0, 0, 1] -> 1.
  SingleNodeModel full("GatherND", 11);
  full.Input("d", DataType::kFloat, {2, 2, 2}).Input("i", DataType::kInt32, {2, 3});
  full.Output("y", DataType::kFloat, {2});
  y = full.Run({MakeTensor(DataType::kFloat, {2, 2, 2}, data),
                MakeTensor(DataType::kInt32, {2, 3}, {1, -1, 0, 0, 0, 1})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{6, 1}));
  y = full.Run({MakeTensor(DataType::kFloat, {2, 2, 2}, data),
                MakeTensor(DataType::kInt32, {2, 3}, {2, 0, 0, 0, 0, 0})});
  ASSERT_FALSE(y.ok());
}

// ---------------------------------------------------------------- TopK

TEST(TopKTest, LargestSmallestTiesAndNan) {
  // Ties keep index order; NaN ranks above every number.
  const std::vector<double> x = {3, 1, 3, NAN, 2, 1};
  struct Case {
    int64_t largest, k;
    std::vector<double> values, indices;
  };
  for (const Case& c : {Case{1, 3, {NAN, 3, 3}, {3, 0, 2}}, Case{0, 4, {1, 1, 2, 3}, {1, 5, 4, 0}},
                        Case{1, 0, {}, {}}}) {
    SCOPED_TRACE("largest " + std::to_string(c.largest) + " k " + std::to_string(c.k));
    SingleNodeModel m("TopK", 11);
    m.Input("x", DataType::kFloat, {6});
    m.Initializer("k", MakeTensor(DataType::kInt64, {1}, {double(c.k)}));
    m.Output("v", DataType::kFloat, {c.k}).Output("i", DataType::kInt64, {c.k});
    m.IntAttr("largest", c.largest);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kFloat, {6}, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    ExpectValuesNear(ToDoubles((*y)[0]), c.values, 0);
    EXPECT_EQ(ToDoubles((*y)[1]), c.indices);
  }
}

TEST(TopKTest, AttributeKBeforeOpset10AndKTooLarge) {
  SingleNodeModel m("TopK", 1);
  m.Input("x", DataType::kInt32, {2, 3}).Output("v", DataType::kInt32, {2, 2});
  m.Output("i", DataType::kInt64, {2, 2}).IntAttr("k", 2).IntAttr("axis", -1);
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kInt32, {2, 3}, {5, 9, 7, -1, -3, -2})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{9, 7, -1, -2}));
  EXPECT_EQ(ToDoubles((*y)[1]), (std::vector<double>{1, 2, 0, 2}));
  SingleNodeModel big("TopK", 10);
  big.Input("x", DataType::kFloat, {3}).Initializer("k", MakeTensor(DataType::kInt64, {1}, {4}));
  big.Output("v", DataType::kFloat, {-1}).Output("i", DataType::kInt64, {-1});
  y = big.Run({MakeTensor(DataType::kFloat, {3}, {1, 2, 3})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("out of range"), std::string::npos) << y.status().message();
}

// ---------------------------------------------------------------- data-dependent shapes

TEST(CompressTest, AxisFlattenedAndShortCondition) {
  // x [2, 3] = 1..6.
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};
  SingleNodeModel axis("Compress", 11);
  axis.Input("x", DataType::kFloat, {2, 3}).Initializer("c", MakeTensor(DataType::kBool, {2}, {0, 1}));
  axis.Output("y", DataType::kFloat, {2, 1}).IntAttr("axis", -1);
  StatusOr<std::vector<Tensor>> y = axis.Run({MakeTensor(DataType::kFloat, {2, 3}, x)});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{2, 5}));
  // No axis: the flattened input; the condition fed at run time.
  SingleNodeModel flat("Compress", 11);
  flat.Input("x", DataType::kFloat, {2, 3}).Input("c", DataType::kBool, {6});
  flat.Output("y", DataType::kFloat, {-1});
  y = flat.Run({MakeTensor(DataType::kFloat, {2, 3}, x), MakeTensor(DataType::kBool, {6}, {1, 0, 0, 1, 1, 0})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{1, 4, 5}));
  // A condition longer than the axis must be false past it.
  SingleNodeModel longer("Compress", 11);
  longer.Input("x", DataType::kFloat, {2}).Input("c", DataType::kBool, {3}).Output("y", DataType::kFloat, {-1});
  longer.IntAttr("axis", 0);
  y = longer.Run({MakeTensor(DataType::kFloat, {2}, {1, 2}), MakeTensor(DataType::kBool, {3}, {1, 0, 1})});
  ASSERT_FALSE(y.ok());
}

TEST(NonZeroTest, FedConstantAndDeclaredShapes) {
  // [2, 3] with nonzeros at (0, 1), (1, 0), (1, 2); NaN is nonzero.
  const std::vector<double> x = {0, NAN, 0, -1, 0, 2};
  const std::vector<double> want = {0, 1, 1, 1, 0, 2};
  SingleNodeModel fed("NonZero", 13);
  fed.Input("x", DataType::kFloat, {2, 3}).Output("y", DataType::kInt64, {2, -1});
  StatusOr<std::vector<Tensor>> y = fed.Run({MakeTensor(DataType::kFloat, {2, 3}, x)});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ToDoubles((*y)[0]), want);
  // A declared [2, 3] output: planned once, checked every run.
  SingleNodeModel declared("NonZero", 13);
  declared.Input("x", DataType::kInt32, {2, 3}).Output("y", DataType::kInt64, {2, 3});
  y = declared.Run({MakeTensor(DataType::kInt32, {2, 3}, {0, 7, 0, -1, 0, 2})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), want);
  SingleNodeModel empty("NonZero", 9);
  empty.Input("x", DataType::kBool, {0, 4}).Output("y", DataType::kInt64, {2, -1});
  y = empty.Run({MakeTensor(DataType::kBool, {0, 4}, {})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{2, 0}));
}

TEST(UniqueTest, SortedUnsortedAndAxis) {
  // numpy.unique([2, 1, 2, 3, 1], return_index, return_inverse, return_counts).
  const std::vector<double> x = {2, 1, 2, 3, 1};
  for (int64_t sorted : {1, 0}) {
    SCOPED_TRACE(sorted ? "sorted" : "first occurrence");
    SingleNodeModel m("Unique", 11);
    m.Input("x", DataType::kInt64, {5}).Output("y", DataType::kInt64, {-1});
    m.Output("idx", DataType::kInt64, {-1}).Output("inv", DataType::kInt64, {5});
    m.Output("cnt", DataType::kInt64, {-1}).IntAttr("sorted", sorted);
    StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kInt64, {5}, x)});
    ASSERT_TRUE(y.ok()) << y.status().message();
    if (sorted) {
      EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{1, 2, 3}));
      EXPECT_EQ(ToDoubles((*y)[1]), (std::vector<double>{1, 0, 3}));
      EXPECT_EQ(ToDoubles((*y)[2]), (std::vector<double>{1, 0, 1, 2, 0}));
      EXPECT_EQ(ToDoubles((*y)[3]), (std::vector<double>{2, 2, 1}));
    } else {
      EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{2, 1, 3}));
      EXPECT_EQ(ToDoubles((*y)[1]), (std::vector<double>{0, 1, 3}));
      EXPECT_EQ(ToDoubles((*y)[2]), (std::vector<double>{0, 1, 0, 2, 1}));
      EXPECT_EQ(ToDoubles((*y)[3]), (std::vector<double>{2, 2, 1}));
    }
  }
  // Columns of [[1, 0, 1], [2, 5, 2]] along axis -1: unique columns [0 5], [1 2].
  SingleNodeModel axis("Unique", 11);
  axis.Input("x", DataType::kFloat, {2, 3}).Output("y", DataType::kFloat, {2, -1}).IntAttr("axis", -1);
  StatusOr<std::vector<Tensor>> y = axis.Run({MakeTensor(DataType::kFloat, {2, 3}, {1, 0, 1, 2, 5, 2})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{0, 1, 5, 2}));
}

// ---------------------------------------------------------------- ReverseSequence

TEST(ReverseSequenceTest, BatchMajorAndBadLengths) {
  // x [batch 2, time 3] (batch_axis 0, time_axis 1), lens [2, 3].
  SingleNodeModel m("ReverseSequence", 10);
  m.Input("x", DataType::kInt32, {2, 3}).Input("lens", DataType::kInt64, {2});
  m.Output("y", DataType::kInt32, {2, 3}).IntAttr("batch_axis", 0).IntAttr("time_axis", 1);
  StatusOr<std::vector<Tensor>> y = m.Run({MakeTensor(DataType::kInt32, {2, 3}, {1, 2, 3, 4, 5, 6}),
                                           MakeTensor(DataType::kInt64, {2}, {2, 3})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{2, 1, 3, 6, 5, 4}));
  y = m.Run({MakeTensor(DataType::kInt32, {2, 3}, {1, 2, 3, 4, 5, 6}),
             MakeTensor(DataType::kInt64, {2}, {4, 0})});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("out of range"), std::string::npos) << y.status().message();
}

}  // namespace
}  // namespace bnfold::testing
