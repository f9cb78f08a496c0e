// Unary element-wise ops (activations and math functions) through the
// public Session API, against double-precision references written here.
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

std::string UnaryModelText(const std::string& op, int opset, const std::string& type,
                           int64_t count, const std::string& attrs = "") {
  return "<ir_version: 7, opset_import: [\"\" : " + std::to_string(opset) + "]>\n" +
         "g (" + type + "[" + std::to_string(count) + "] X) => (" + type + "[" +
         std::to_string(count) + "] Y) {\n  Y = " + op +
         (attrs.empty() ? "" : " <" + attrs + ">") + " (X)\n}\n";
}

struct UnaryCase {
  bool bfloat16;  // whether ONNX 1.12's schemas (opset <= 17) allow it
  std::string op;
  std::string attrs;
  double lo, hi;  // input range
  std::function<double(double)> reference;
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::vector<UnaryCase> FloatingCases() {
  // Attribute values are exact in float, so the reference uses them as is.
  const double selu_alpha = 1.67326319217681884765625, selu_gamma = 1.05070102214813232421875;
  return {
      {true, "Relu", "", -5, 5, [](double x) { return std::max(0.0, x); }},
      {true, "LeakyRelu", "alpha = 0.125", -5, 5, [](double x) { return x < 0 ? 0.125 * x : x; }},
      {false, "Elu", "alpha = 0.5", -5, 5, [](double x) { return x < 0 ? 0.5 * std::expm1(x) : x; }},
      {false, "Selu", "", -5, 5,
       [=](double x) { return selu_gamma * (x <= 0 ? selu_alpha * std::expm1(x) : x); }},
      {true, "Sigmoid", "", -20, 20, Sigmoid},
      {false, "HardSigmoid", "alpha = 0.25, beta = 0.375", -5, 5,
       [](double x) { return std::clamp(0.25 * x + 0.375, 0.0, 1.0); }},
      {false, "HardSwish", "", -5, 5,
       [](double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); }},
      {true, "Tanh", "", -5, 5, [](double x) { return std::tanh(x); }},
      {false, "Softplus", "", -20, 20, [](double x) { return std::log1p(std::exp(x)); }},
      {false, "Softsign", "", -5, 5, [](double x) { return x / (1 + std::fabs(x)); }},
      {true, "Exp", "", -10, 10, [](double x) { return std::exp(x); }},
      {true, "Log", "", 0.5, 2, [](double x) { return std::log(x); }},  // around log(1) = 0
      {true, "Sqrt", "", 0, 100, [](double x) { return std::sqrt(x); }},
      {true, "Neg", "", -5, 5, [](double x) { return -x; }},
      {true, "Abs", "", -5, 5, [](double x) { return std::fabs(x); }},
      {true, "Reciprocal", "", 0.1, 10, [](double x) { return 1 / x; }},
      {true, "Floor", "", -5, 5, [](double x) { return std::floor(x); }},
      {true, "Ceil", "", -5, 5, [](double x) { return std::ceil(x); }},
      {true, "Erf", "", -3, 3, [](double x) { return std::erf(x); }},
  };
}

// |actual - expected| <= atol + rtol * |expected|, per type: float is held
// to a few ulps (tighter than the conformance suite's 1e-3), the 16-bit
// floats to their rounding.
struct Tolerance {
  double rtol, atol;
};
Tolerance ToleranceFor(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat: return {2e-6, 1e-7};
    case DataType::kDouble: return {1e-12, 1e-15};
    case DataType::kFloat16: return {1e-3, 1e-4};
    default: return {8e-3, 1e-3};  // bfloat16
  }
}

TEST(ActivationTest, FloatingOpsMatchTheDoubleReference) {
  constexpr int64_t kCount = 257;
  for (const UnaryCase& c : FloatingCases()) {
    for (DataType dtype :
         {DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kBfloat16}) {
      if (dtype == DataType::kBfloat16 && !c.bfloat16) continue;
      const std::string what = c.op + " " + DataTypeName(dtype);
      SCOPED_TRACE(what);
      std::vector<double> x = SpreadValues(kCount, c.lo, c.hi, 17);
      if (c.lo <= 1 && c.hi >= 1) x[0] = 1;  // Log's exact zero
      if (c.lo <= 0 && c.hi >= 0) x[1] = 0;
      x = ToDoubles(MakeTensor(dtype, {kCount}, x));
      const Tensor y = RunSingleOutput(ParseModel(UnaryModelText(c.op, 16, DataTypeName(dtype),
                                                                 kCount, c.attrs)),
                                       {{"X", MakeTensor(dtype, {kCount}, x)}});
      ASSERT_EQ(y.dtype(), dtype);
      const std::vector<double> got = ToDoubles(y);
      ASSERT_EQ(got.size(), x.size());
      const Tolerance tol = ToleranceFor(dtype);
      for (size_t i = 0; i < x.size(); ++i) {
        const double expected = c.reference(x[i]);
        EXPECT_NEAR(got[i], expected, tol.atol + tol.rtol * std::fabs(expected))
            << what << " at x = " << x[i];
      }
    }
  }
}

TEST(ActivationTest, NaNPropagates) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const UnaryCase& c : FloatingCases()) {
    // float32 Relu runs on oneDNN, whose relu maps NaN to 0 (a max with 0).
    if (c.op == "Relu") continue;
    const Tensor y = RunSingleOutput(ParseModel(UnaryModelText(c.op, 16, "float", 17, c.attrs)),
                                     {{"X", MakeTensor(DataType::kFloat, {17},
                                                       std::vector<double>(17, nan))}});
    const std::vector<double> got = ToDoubles(y);
    for (double v : got) EXPECT_TRUE(std::isnan(v)) << c.op << " gave " << v;
  }
}

TEST(ActivationTest, LargeTensorsRunInParallelWithTheSameResult) {
  constexpr int64_t kCount = 200000;
  const std::vector<double> x = ToDoubles(
      MakeTensor(DataType::kFloat, {kCount}, SpreadValues(kCount, -8, 8, 5)));
  for (const char* op : {"Softsign", "Sigmoid"}) {
    for (DataType dtype : {DataType::kFloat, DataType::kDouble}) {
      const Tensor y = RunSingleOutput(
          ParseModel(UnaryModelText(op, 13, DataTypeName(dtype), kCount)),
          {{"X", MakeTensor(dtype, {kCount}, x)}});
      const std::vector<double> got = ToDoubles(y);
      ASSERT_EQ(got.size(), static_cast<size_t>(kCount));
      int mismatches = 0;
      for (int64_t i = 0; i < kCount; ++i) {
        const double e = std::string(op) == "Sigmoid" ? Sigmoid(x[i]) : x[i] / (1 + std::fabs(x[i]));
        mismatches += std::fabs(got[i] - e) > 1e-7 + 2e-6 * std::fabs(e);
      }
      EXPECT_EQ(mismatches, 0) << op << " " << DataTypeName(dtype);
    }
  }
}

TEST(ActivationTest, IntegerAbsNegReluWrapLikeNumpy) {
  const Tensor abs8 = RunSingleOutput(ParseModel(UnaryModelText("Abs", 13, "int8", 5)),
                                      {{"X", MakeTensor(DataType::kInt8, {5}, {-128, -5, 0, 7, 127})}});
  EXPECT_EQ(ToDoubles(abs8), (std::vector<double>{-128, 5, 0, 7, 127}));  // |-128| wraps
  const Tensor abs_u = RunSingleOutput(ParseModel(UnaryModelText("Abs", 13, "uint16", 2)),
                                       {{"X", MakeTensor(DataType::kUint16, {2}, {0, 65535})}});
  EXPECT_EQ(ToDoubles(abs_u), (std::vector<double>{0, 65535}));
  const double int_min = std::numeric_limits<int32_t>::min();
  const Tensor neg = RunSingleOutput(ParseModel(UnaryModelText("Neg", 13, "int32", 3)),
                                     {{"X", MakeTensor(DataType::kInt32, {3}, {int_min, -3, 4})}});
  EXPECT_EQ(ToDoubles(neg), (std::vector<double>{int_min, 3, -4}));
  const Tensor relu = RunSingleOutput(ParseModel(UnaryModelText("Relu", 14, "int64", 3)),
                                      {{"X", MakeTensor(DataType::kInt64, {3}, {-5, 0, 9})}});
  EXPECT_EQ(ToDoubles(relu), (std::vector<double>{0, 0, 9}));
}

// ------------------------------------------------------------------- Clip

std::vector<double> ClipReference(const std::vector<double>& x, double lo, double hi) {
  std::vector<double> out;
  for (double v : x) out.push_back(std::min(std::max(v, lo), hi));  // numpy's clip
  return out;
}

TEST(ClipTest, Opset6TakesAttributes) {
  const std::vector<double> x = {-3, -1, 0, 1.5, 2, 7};
  const Tensor y = RunSingleOutput(
      ParseModel(UnaryModelText("Clip", 6, "float", 6, "min = -1.0, max = 2.0")),
      {{"X", MakeTensor(DataType::kFloat, {6}, x)}});
  EXPECT_EQ(ToDoubles(y), ClipReference(x, -1, 2));
  // Without attributes the bounds are float's lowest/max: infinities clip.
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor z = RunSingleOutput(ParseModel(UnaryModelText("Clip", 6, "double", 3)),
                                   {{"X", MakeTensor(DataType::kDouble, {3}, {-inf, 0, inf})}});
  const double fmax = std::numeric_limits<float>::max();
  EXPECT_EQ(ToDoubles(z), (std::vector<double>{-fmax, 0, fmax}));
}

TEST(ClipTest, ConstantScalarBoundsForFloatTypes) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> x = {-inf, -3, -0.5, 0, 0.5, 3, inf, 1.25, nan};
  for (DataType dtype : {DataType::kFloat, DataType::kFloat16, DataType::kDouble}) {
    const std::string t = DataTypeName(dtype);
    onnx::ModelProto model = ParseModel("<ir_version: 7, opset_import: [\"\" : 13]>\ng (" + t +
                                        "[9] X) => (" + t + "[9] Y) {\n  Y = Clip(X, lo, hi)\n}\n");
    AddInitializer(&model, "lo", dtype, {}, {-0.5});
    AddInitializer(&model, "hi", dtype, {}, {1.25});
    const Tensor y = RunSingleOutput(model, {{"X", MakeTensor(dtype, {9}, x)}});
    std::vector<double> got = ToDoubles(y);
    ASSERT_EQ(got.size(), 9u);
    EXPECT_TRUE(std::isnan(got[8])) << t << ": NaN stays NaN, as in numpy";
    got.pop_back();
    EXPECT_EQ(got, ClipReference({x.begin(), x.end() - 1}, -0.5, 1.25)) << t;
  }
}

TEST(ClipTest, RuntimeIntegerBoundsIncludingMinAboveMax) {
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 13]>
    g (int32[6] X, int32[] lo, int32[] hi) => (int32[6] Y) {
      Y = Clip(X, lo, hi)
    })");
  const std::vector<double> x = {-100, -2, -1, 0, 3, 100};
  StatusOr<std::unique_ptr<Session>> session = OpenModel(model);
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (const auto& [lo, hi] : std::vector<std::pair<double, double>>{{-2, 3}, {5, 1}}) {
    std::vector<NamedTensor> outputs;
    ASSERT_TRUE((*session)
                    ->Run({{"X", MakeTensor(DataType::kInt32, {6}, x)},
                           {"lo", MakeTensor(DataType::kInt32, {}, {lo})},
                           {"hi", MakeTensor(DataType::kInt32, {}, {hi})}},
                          &outputs)
                    .ok());
    // min > max sets everything to max, as numpy's clip does.
    EXPECT_EQ(ToDoubles(outputs[0].tensor), ClipReference(x, lo, hi)) << lo << " " << hi;
  }
}

TEST(ClipTest, OmittedMinAndNaNPassThrough) {
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 13]>
    g (double[4] X) => (double[4] Y) {
      Y = Clip(X, lo, hi)
    })");
  model.mutable_graph()->mutable_node(0)->set_input(1, "");  // no min
  AddInitializer(&model, "hi", DataType::kDouble, {}, {2});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor y =
      RunSingleOutput(model, {{"X", MakeTensor(DataType::kDouble, {4}, {-1e300, nan, 1, 5})}});
  const std::vector<double> got = ToDoubles(y);
  EXPECT_EQ(got[0], -1e300);
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_EQ(got[2], 1);
  EXPECT_EQ(got[3], 2);
}

TEST(ClipTest, NonScalarBoundIsAnErrorNamingTheNode) {
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 13]>
    g (float[4] X, float[2] lo) => (float[4] Y) {
      Y = Clip(X, lo)
    })");
  model.mutable_graph()->mutable_node(0)->set_name("clip_node");
  StatusOr<std::unique_ptr<Session>> session = OpenModel(model);
  Status status = session.status();
  if (session.ok()) {
    std::vector<NamedTensor> outputs;
    status = (*session)->Run({{"X", MakeTensor(DataType::kFloat, {4}, {1, 2, 3, 4})},
                              {"lo", MakeTensor(DataType::kFloat, {2}, {0, 0})}},
                             &outputs);
  }
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("clip_node"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("scalar"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace bnfold::testing
