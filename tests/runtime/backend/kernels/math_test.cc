// Kernels of the math family (kernels/math.cc, the element-wise ones in
// activation.cc, CastLike in cast.cc) through the public Session API,
// models in ONNX text, against double-precision references computed here
// or hand-computed values: the edge cases the ONNX backend suite misses
// (empty tensors, negative and run-time axes, integer wrap-around, NaN,
// the opset differences of Hardmax, run-time operands that do not match
// the plan).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tests/runtime/backend/kernels/elementwise_test_util.h"

namespace bnfold::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Model(int opset, const std::string& signature, const std::string& body) {
  return "<ir_version: 8, opset_import: [\"\" : " + std::to_string(opset) + "]>\ng " +
         signature + " {\n" + body + "\n}\n";
}

Status OpenAndRun(const onnx::ModelProto& model, const std::vector<NamedTensor>& feeds) {
  StatusOr<std::unique_ptr<Session>> session = OpenModel(model);
  if (!session.ok()) return session.status();
  std::vector<NamedTensor> outputs;
  return (*session)->Run(feeds, &outputs);
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want,
                double tolerance = 0.0) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i << ": " << got[i];
    } else if (std::isinf(want[i]) || tolerance == 0.0) {
      EXPECT_EQ(got[i], want[i]) << "at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tolerance * std::max(1.0, std::fabs(want[i]))) << "at " << i;
    }
  }
}

// ---------------------------------------------------------------- Size

TEST(MathTest, SizeCountsElementsOfAnyShape) {
  for (const auto& [dims, count] :
       {std::pair{std::vector<int64_t>{2, 3, 4}, 24.0}, std::pair{std::vector<int64_t>{}, 1.0},
        std::pair{std::vector<int64_t>{5, 0}, 0.0}}) {
    std::string d = "[";
    for (size_t i = 0; i < dims.size(); ++i) d += (i ? "," : "") + std::to_string(dims[i]);
    d += "]";
    const onnx::ModelProto model =
        ParseModel(Model(13, "(bool" + d + " X) => (int64[] Y)", "  Y = Size (X)"));
    const Tensor y = RunSingleOutput(
        model, {{"X", MakeTensor(DataType::kBool, dims,
                                 std::vector<double>(ElementCount(dims), 1.0))}});
    EXPECT_EQ(y.dtype(), DataType::kInt64);
    EXPECT_TRUE(y.shape().empty());
    ExpectNear(ToDoubles(y), {count});
  }
}

// ---------------------------------------------------------------- Trilu

// numpy's triu/tril on each innermost matrix.
std::vector<double> TriluReference(const std::vector<double>& x, int64_t rows, int64_t cols,
                                   int64_t k, bool upper) {
  std::vector<double> y(x.size());
  for (size_t m = 0; m < x.size() / (rows * cols); ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const size_t at = m * rows * cols + i * cols + j;
        y[at] = (upper ? j - i >= k : j - i <= k) ? x[at] : 0.0;
      }
    }
  }
  return y;
}

TEST(MathTest, TriluWithRunTimeKOnBatchesAndBool) {
  const std::vector<double> x = SpreadValues(2 * 3 * 5, -4, 4);
  for (int upper : {0, 1}) {
    const onnx::ModelProto model = ParseModel(
        Model(14, "(float[2,3,5] X, int64[] K) => (float[2,3,5] Y)",
              "  Y = Trilu <upper = " + std::to_string(upper) + "> (X, K)"));
    for (int64_t k : {-7, -1, 0, 2, 9}) {
      SCOPED_TRACE("upper " + std::to_string(upper) + " k " + std::to_string(k));
      ExpectNear(ToDoubles(RunSingleOutput(model,
                                           {{"X", MakeTensor(DataType::kFloat, {2, 3, 5}, x)},
                                            {"K", MakeTensor(DataType::kInt64, {}, {double(k)})}})),
                 TriluReference(x, 3, 5, k, upper == 1));
    }
  }
  const onnx::ModelProto bools =
      ParseModel(Model(14, "(bool[3,3] X) => (bool[3,3] Y)", "  Y = Trilu <upper = 0> (X)"));
  ExpectNear(ToDoubles(RunSingleOutput(
                 bools, {{"X", MakeTensor(DataType::kBool, {3, 3}, std::vector<double>(9, 1.0))}})),
             {1, 0, 0, 1, 1, 0, 1, 1, 1});
  // An empty matrix.
  const onnx::ModelProto empty =
      ParseModel(Model(14, "(int32[0,4] X) => (int32[0,4] Y)", "  Y = Trilu (X)"));
  EXPECT_EQ(RunSingleOutput(empty, {{"X", MakeTensor(DataType::kInt32, {0, 4}, {})}}).shape(),
            (std::vector<int64_t>{0, 4}));
}

// ---------------------------------------------------------------- CumSum

TEST(MathTest, CumSumAlongARunTimeNegativeAxisExclusiveReverse) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};  // [2, 3]
  const onnx::ModelProto model = ParseModel(
      Model(14, "(double[2,3] X, int32[] A) => (double[2,3] Y)",
            "  Y = CumSum <exclusive = 1, reverse = 1> (X, A)"));
  // axis -1: rows {1,2,3} -> exclusive reverse sums {5,3,0}.
  ExpectNear(ToDoubles(RunSingleOutput(model, {{"X", MakeTensor(DataType::kDouble, {2, 3}, x)},
                                               {"A", MakeTensor(DataType::kInt32, {}, {-1})}})),
             {5, 3, 0, 11, 6, 0});
  // axis 0 in the same plan.
  ExpectNear(ToDoubles(RunSingleOutput(model, {{"X", MakeTensor(DataType::kDouble, {2, 3}, x)},
                                               {"A", MakeTensor(DataType::kInt32, {}, {0})}})),
             {4, 5, 6, 0, 0, 0});
  // An axis out of range fed at run time is an input error.
  EXPECT_FALSE(OpenAndRun(model, {{"X", MakeTensor(DataType::kDouble, {2, 3}, x)},
                                  {"A", MakeTensor(DataType::kInt32, {}, {2})}})
                   .ok());
}

TEST(MathTest, CumSumOfIntegersWrapsAround) {
  const onnx::ModelProto model = ParseModel(
      Model(14, "(int32[3] X, int64[] A) => (int32[3] Y)", "  Y = CumSum (X, A)"));
  const Tensor y = RunSingleOutput(
      model, {{"X", MakeTensor(DataType::kInt32, {3}, {2147483647.0, 1, -5})},
              {"A", MakeTensor(DataType::kInt64, {}, {0})}});
  ExpectNear(ToDoubles(y), {2147483647.0, -2147483648.0, 2147483643.0});
}

// ---------------------------------------------------------------- Hardmax

TEST(MathTest, HardmaxOpset11FlattensButOpset13UsesTheAxis) {
  // [2, 2, 2]; axis 1.
  const std::vector<double> x = {1, 5, 3, 2, 0, 0, 7, 7};
  const onnx::ModelProto v11 = ParseModel(
      Model(11, "(float[2,2,2] X) => (float[2,2,2] Y)", "  Y = Hardmax <axis = 1> (X)"));
  // Rows of 4 after flattening at axis 1: max of {1,5,3,2} at 1; {0,0,7,7} at 2.
  ExpectNear(ToDoubles(RunSingleOutput(v11, {{"X", MakeTensor(DataType::kFloat, {2, 2, 2}, x)}})),
             {0, 1, 0, 0, 0, 0, 1, 0});
  const onnx::ModelProto v13 = ParseModel(
      Model(13, "(float[2,2,2] X) => (float[2,2,2] Y)", "  Y = Hardmax <axis = 1> (X)"));
  // Along axis 1: pairs (1,3) (5,2) (0,7) (0,7).
  ExpectNear(ToDoubles(RunSingleOutput(v13, {{"X", MakeTensor(DataType::kFloat, {2, 2, 2}, x)}})),
             {0, 1, 1, 0, 0, 0, 1, 1});
  // NaN is the maximum (numpy's argmax); ties go to the first.
  const onnx::ModelProto nan = ParseModel(
      Model(13, "(float16[4] X) => (float16[4] Y)", "  Y = Hardmax (X)"));
  ExpectNear(ToDoubles(RunSingleOutput(
                 nan, {{"X", MakeTensor(DataType::kFloat16, {4}, {1, kNaN, 9, kNaN})}})),
             {0, 1, 0, 0});
}

// ---------------------------------------------------------------- EyeLike

TEST(MathTest, EyeLikeOffDiagonalsAndTypes) {
  const onnx::ModelProto model = ParseModel(
      Model(9, "(float[3,4] X) => (int32[3,4] Y)", "  Y = EyeLike <k = -1, dtype = 6> (X)"));
  ExpectNear(ToDoubles(RunSingleOutput(
                 model, {{"X", MakeTensor(DataType::kFloat, {3, 4}, std::vector<double>(12))}})),
             {0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0});
  const onnx::ModelProto beyond = ParseModel(
      Model(9, "(bool[2,2] X) => (bool[2,2] Y)", "  Y = EyeLike <k = 5> (X)"));
  ExpectNear(ToDoubles(RunSingleOutput(
                 beyond, {{"X", MakeTensor(DataType::kBool, {2, 2}, std::vector<double>(4))}})),
             {0, 0, 0, 0});
}

// ---------------------------------------------------------------- Range

TEST(MathTest, RangeFromConstantsAndCheckedAtRunTime) {
  onnx::ModelProto constant = ParseModel(
      Model(11, "() => (int64[4] Y)", "  Y = Range (S, L, D)"));
  AddInitializer(&constant, "S", DataType::kInt64, {}, {10});
  AddInitializer(&constant, "L", DataType::kInt64, {}, {-1});
  AddInitializer(&constant, "D", DataType::kInt64, {}, {-3});
  ExpectNear(ToDoubles(RunSingleOutput(constant, {})), {10, 7, 4, 1});

  const onnx::ModelProto fed = ParseModel(
      Model(11, "(float[] S, float[] L, float[] D) => (float[3] Y)", "  Y = Range (S, L, D)"));
  ExpectNear(ToDoubles(RunSingleOutput(fed, {{"S", MakeTensor(DataType::kFloat, {}, {0.5})},
                                             {"L", MakeTensor(DataType::kFloat, {}, {2})},
                                             {"D", MakeTensor(DataType::kFloat, {}, {0.5})}})),
             {0.5, 1.0, 1.5});
  // Fed values that give another length than the declared [3]; delta 0.
  EXPECT_FALSE(OpenAndRun(fed, {{"S", MakeTensor(DataType::kFloat, {}, {0})},
                                {"L", MakeTensor(DataType::kFloat, {}, {10})},
                                {"D", MakeTensor(DataType::kFloat, {}, {1})}})
                   .ok());
  EXPECT_FALSE(OpenAndRun(fed, {{"S", MakeTensor(DataType::kFloat, {}, {0})},
                                {"L", MakeTensor(DataType::kFloat, {}, {10})},
                                {"D", MakeTensor(DataType::kFloat, {}, {0})}})
                   .ok());
}

// ---------------------------------------------------------------- OneHot

TEST(MathTest, OneHotNegativeAndOutOfRangeIndicesOnAxis0) {
  onnx::ModelProto model = ParseModel(
      Model(11, "(int64[3] I, float[2] V) => (float[4,3] Y)", "  Y = OneHot <axis = 0> (I, D, V)"));
  AddInitializer(&model, "D", DataType::kFloat, {}, {4.7});  // depth truncates to 4
  const Tensor y = RunSingleOutput(model, {{"I", MakeTensor(DataType::kInt64, {3}, {1, -1, 4})},
                                           {"V", MakeTensor(DataType::kFloat, {2}, {-2, 3})}});
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{4, 3}));
  // Column c is index c: 1 -> row 1; -1 -> row 3; 4 is out of range -> all off.
  ExpectNear(ToDoubles(y), {-2, -2, -2, 3, -2, -2, -2, -2, -2, -2, 3, -2});
}

// ---------------------------------------------------------------- element-wise

struct UnaryCase {
  const char* op;
  std::function<double(double)> reference;
  std::vector<double> inputs;
  const char* attrs = "";
};

// Each function on float (oneDNN where it has it, else the loop) and
// double against the C library in double precision; float16 within its
// precision.
TEST(MathTest, ElementwiseFunctionsMatchDoublePrecision) {
  const std::vector<double> wide = {-3.5, -1.0, -0.25, 0.0, 0.3, 1.0, 2.5, kNaN};
  const std::vector<double> unit = {-1.0, -0.9, -0.5, 0.0, 0.2, 0.7, 1.0, kNaN};
  const std::vector<double> halves = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6, -kInf};
  const double sqrt2 = std::sqrt(2.0);
  const UnaryCase cases[] = {
      {"Sin", [](double x) { return std::sin(x); }, wide},
      {"Cos", [](double x) { return std::cos(x); }, wide},
      {"Tan", [](double x) { return std::tan(x); }, wide},
      {"Asin", [](double x) { return std::asin(x); }, unit},
      {"Acos", [](double x) { return std::acos(x); }, unit},
      {"Atan", [](double x) { return std::atan(x); }, wide},
      {"Sinh", [](double x) { return std::sinh(x); }, wide},
      {"Cosh", [](double x) { return std::cosh(x); }, wide},
      {"Asinh", [](double x) { return std::asinh(x); }, wide},
      {"Acosh", [](double x) { return std::acosh(x); }, {1.0, 1.5, 3.0, 10.0, 0.5, kNaN}},
      {"Atanh", [](double x) { return std::atanh(x); }, {-0.9, -0.5, 0.0, 0.5, 0.9, kNaN}},
      {"Round", [](double x) { return std::nearbyint(x); }, halves},
      {"ThresholdedRelu", [](double x) { return x > double{0.3f} ? x : 0.0; }, wide,
       "<alpha = 0.3>"},  // alpha is a float attribute
      {"Shrink", [](double x) { return x < -1.0 ? x + 0.5 : (x > 1.0 ? x - 0.5 : 0.0); }, wide,
       "<lambd = 1.0, bias = 0.5>"},
      {"Celu",
       [](double x) { return std::max(0.0, x) + std::min(0.0, 2.0 * std::expm1(x / 2.0)); }, wide,
       "<alpha = 2.0>"},
      {"Mish", [](double x) { return x * std::tanh(std::log1p(std::exp(x))); }, wide},
      {"Gelu", [&](double x) { return 0.5 * x * (1 + std::erf(x / sqrt2)); }, wide},
      {"Gelu",
       [](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       },
       wide, "<approximate = \"tanh\">"},
  };
  for (const UnaryCase& c : cases) {
    std::vector<double> want;
    for (double x : c.inputs) want.push_back(c.reference(x));
    const std::string n = "[" + std::to_string(c.inputs.size()) + "]";
    for (const auto& [type, dtype, tolerance] :
         {std::tuple{"float", DataType::kFloat, 2e-6}, std::tuple{"double", DataType::kDouble, 1e-14},
          std::tuple{"float16", DataType::kFloat16, 2e-3}}) {
      SCOPED_TRACE(std::string(c.op) + " " + c.attrs + " " + type);
      // float16 inputs are rounded first: compare with the reference of the
      // rounded values.
      std::vector<double> expected = want;
      const std::vector<double> rounded = ToDoubles(MakeTensor(dtype, {static_cast<int64_t>(c.inputs.size())}, c.inputs));
      for (size_t i = 0; i < rounded.size(); ++i) expected[i] = c.reference(rounded[i]);
      const onnx::ModelProto model = ParseModel(
          Model(20, std::string("(") + type + n + " X) => (" + type + n + " Y)",
                std::string("  Y = ") + c.op + " " + c.attrs + " (X)"));
      ExpectNear(ToDoubles(RunSingleOutput(
                     model, {{"X", MakeTensor(dtype, {static_cast<int64_t>(c.inputs.size())},
                                              c.inputs)}})),
                 expected, tolerance);
    }
  }
}

TEST(MathTest, ShrinkOnIntegersTruncatesLikeNumpy) {
  const onnx::ModelProto model = ParseModel(
      Model(13, "(int32[5] X) => (int32[5] Y)", "  Y = Shrink <lambd = 1.5, bias = 0.5> (X)"));
  // -3 -> -2.5 -> -2; -1, 0, 1 -> 0; 4 -> 3.5 -> 3.
  ExpectNear(ToDoubles(RunSingleOutput(
                 model, {{"X", MakeTensor(DataType::kInt32, {5}, {-3, -1, 0, 1, 4})}})),
             {-2, 0, 0, 0, 3});
}

// ---------------------------------------------------------------- CastLike

TEST(MathTest, CastLikeTakesTheTargetsType) {
  const onnx::ModelProto model = ParseModel(
      Model(15, "(float[4] X, int8[1] T) => (int8[4] Y)", "  Y = CastLike (X, T)"));
  const Tensor y = RunSingleOutput(
      model, {{"X", MakeTensor(DataType::kFloat, {4}, {-1.7, 2.9, 300.0, kNaN})},
              {"T", MakeTensor(DataType::kInt8, {1}, {0})}});
  EXPECT_EQ(y.dtype(), DataType::kInt8);
  // Truncation toward zero, wrap-around beyond int8 (300 -> 44), NaN -> 0.
  ExpectNear(ToDoubles(y), {-1, 2, 44, 0});
}

// ---------------------------------------------------------------- Det

TEST(MathTest, DetPivotsAndGivesZeroForSingularMatrices) {
  const onnx::ModelProto model =
      ParseModel(Model(11, "(double[3,3,3] X) => (double[3] Y)", "  Y = Det (X)"));
  const std::vector<double> x = {
      0, 2, 1, 3, 1, 4, 5, 6, 0,  // zero pivot first: det = 0*(0-24) - 2*(0-20) + 1*(18-5) = 53
      1, 2, 3, 2, 4, 6, 7, 8, 9,  // row 2 = 2 * row 1: singular
      2, 0, 0, 0, 3, 0, 0, 0, -4,  // diagonal: -24
  };
  ExpectNear(ToDoubles(RunSingleOutput(model, {{"X", MakeTensor(DataType::kDouble, {3, 3, 3}, x)}})),
             {53, 0, -24}, 1e-12);
  const onnx::ModelProto empty =
      ParseModel(Model(11, "(float[0,2,2] X) => (float[0] Y)", "  Y = Det (X)"));
  EXPECT_EQ(RunSingleOutput(empty, {{"X", MakeTensor(DataType::kFloat, {0, 2, 2}, {})}}).shape(),
            (std::vector<int64_t>{0}));
}

// ---------------------------------------------------------------- Einsum

TEST(MathTest, EinsumEllipsisBroadcastsAndImplicitOutputIsAlphabetical) {
  // "...ij,...jk": batch [2] against batch [1] (broadcast).
  const onnx::ModelProto matmul = ParseModel(
      Model(12, "(float[2,2,3] A, float[1,3,2] B) => (float[2,2,2] Y)",
            "  Y = Einsum <equation = \"...ij,...jk->...ik\"> (A, B)"));
  const std::vector<double> a = SpreadValues(12, -2, 2), b = SpreadValues(6, -2, 2, 7);
  std::vector<double> want(8, 0.0);
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < 2; ++i) {
      for (int k = 0; k < 2; ++k) {
        for (int j = 0; j < 3; ++j) want[n * 4 + i * 2 + k] += a[n * 6 + i * 3 + j] * b[j * 2 + k];
      }
    }
  }
  ExpectNear(ToDoubles(RunSingleOutput(matmul, {{"A", MakeTensor(DataType::kFloat, {2, 2, 3}, a)},
                                                {"B", MakeTensor(DataType::kFloat, {1, 3, 2}, b)}})),
             want, 1e-6);
  // Implicit output "ba" -> labels used once, sorted: "ab", i.e. a transpose.
  const onnx::ModelProto transpose = ParseModel(
      Model(12, "(int64[2,3] X) => (int64[3,2] Y)", "  Y = Einsum <equation = \"ba\"> (X)"));
  ExpectNear(ToDoubles(RunSingleOutput(
                 transpose, {{"X", MakeTensor(DataType::kInt64, {2, 3}, {1, 2, 3, 4, 5, 6})}})),
             {1, 4, 2, 5, 3, 6});
  // A trace: "ii" sums the diagonal; the implicit output is a scalar.
  const onnx::ModelProto trace = ParseModel(
      Model(12, "(int32[3,3] X) => (int32[] Y)", "  Y = Einsum <equation = \"ii\"> (X)"));
  ExpectNear(ToDoubles(RunSingleOutput(
                 trace, {{"X", MakeTensor(DataType::kInt32, {3, 3}, {1, 9, 9, 9, 5, 9, 9, 9, -2})}})),
             {4});
  // A term that does not match its input's rank is refused.
  const onnx::ModelProto bad = ParseModel(
      Model(12, "(float[2,3] X) => (float[2] Y)", "  Y = Einsum <equation = \"ijk->i\"> (X)"));
  EXPECT_FALSE(OpenAndRun(bad, {{"X", MakeTensor(DataType::kFloat, {2, 3}, std::vector<double>(6))}}).ok());
}

}  // namespace
}  // namespace bnfold::testing
