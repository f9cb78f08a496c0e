// Binary and variadic element-wise ops through the public Session API,
// against references computed here in double precision (or exact int64 for
// the integer types).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tests/runtime/backend/kernels/elementwise_test_util.h"

namespace bnfold::testing {
namespace {

std::string Dims(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s;
}

// Numpy's broadcast of two shapes (the legacy opset < 7 form keeps A's).
std::vector<int64_t> BroadcastDims(std::vector<int64_t> a, std::vector<int64_t> b) {
  while (a.size() < b.size()) a.insert(a.begin(), 1);
  while (b.size() < a.size()) b.insert(b.begin(), 1);
  for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] == 1 ? b[i] : a[i];
  return a;
}

// One node `op` over graph inputs A and B (plus `attrs`, ONNX text syntax).
std::string BinaryModelText(const std::string& op, int opset, const std::string& type_a,
                            const std::vector<int64_t>& dims_a, const std::string& type_b,
                            const std::vector<int64_t>& dims_b, const std::string& attrs = "") {
  const std::vector<int64_t> out = opset < 7 ? dims_a : BroadcastDims(dims_a, dims_b);
  return "<ir_version: 7, opset_import: [\"\" : " + std::to_string(opset) + "]>\n" +
         "g (" + type_a + "[" + Dims(dims_a) + "] A, " + type_b + "[" + Dims(dims_b) +
         "] B) => (" + type_a + "[" + Dims(out) + "] Y) {\n  Y = " + op +
         (attrs.empty() ? "" : " <" + attrs + ">") + " (A, B)\n}\n";
}

const char* TypeName(DataType dtype) { return DataTypeName(dtype); }

bool IsUnsigned(DataType dtype) {
  return dtype == DataType::kUint8 || dtype == DataType::kUint16 ||
         dtype == DataType::kUint32 || dtype == DataType::kUint64;
}

// An exact integer result wrapped into `dtype` as two's complement (numpy).
double WrapToType(DataType dtype, int64_t v) {
  switch (dtype) {
    case DataType::kInt8: return static_cast<int8_t>(v);
    case DataType::kUint8: return static_cast<uint8_t>(v);
    case DataType::kInt16: return static_cast<int16_t>(v);
    case DataType::kUint16: return static_cast<uint16_t>(v);
    case DataType::kInt32: return static_cast<int32_t>(v);
    case DataType::kUint32: return static_cast<uint32_t>(v);
    default: return static_cast<double>(v);
  }
}

// Relative tolerance of a computed value of `dtype` vs the double reference.
double Tolerance(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat: return 1e-6;
    case DataType::kDouble: return 1e-12;
    case DataType::kFloat16: return 1e-3;
    case DataType::kBfloat16: return 8e-3;
    default: return 0.0;
  }
}

void ExpectClose(const std::vector<double>& actual, const std::vector<double>& expected,
                 double rtol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << " element " << i;
      continue;
    }
    EXPECT_NEAR(actual[i], expected[i], rtol * std::fabs(expected[i]) + 1e-30)
        << what << " element " << i;
  }
}

// Input values of `dtype` rounded as the tensor will store them.
std::vector<double> Stored(DataType dtype, const std::vector<int64_t>& dims,
                           const std::vector<double>& values) {
  return ToDoubles(MakeTensor(dtype, dims, values));
}

struct OpCase {
  std::string op;
  std::function<double(double, double)> floating;
  std::function<int64_t(int64_t, int64_t)> integer;
};

std::vector<OpCase> ArithmeticOps() {
  return {
      {"Add", [](double a, double b) { return a + b; },
       [](int64_t a, int64_t b) { return a + b; }},
      {"Sub", [](double a, double b) { return a - b; },
       [](int64_t a, int64_t b) { return a - b; }},
      {"Mul", [](double a, double b) { return a * b; },
       [](int64_t a, int64_t b) { return a * b; }},
      {"Div", [](double a, double b) { return a / b; },
       [](int64_t a, int64_t b) { return a / b; }},  // C++ truncates toward zero
      {"Max", [](double a, double b) { return std::max(a, b); },
       [](int64_t a, int64_t b) { return std::max(a, b); }},
      {"Min", [](double a, double b) { return std::min(a, b); },
       [](int64_t a, int64_t b) { return std::min(a, b); }},
  };
}

TEST(BinaryTest, EveryOpAndTypeMatchesTheReferenceWithBroadcasting) {
  const std::vector<DataType> types = {
      DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kBfloat16,
      DataType::kInt8,  DataType::kUint8,  DataType::kInt16,   DataType::kUint16,
      DataType::kInt32, DataType::kUint32, DataType::kInt64,   DataType::kUint64};
  // A needs no broadcast (oneDNN's case for float), then B needs none (the
  // commuting ops swap), then both do.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{2, 3, 4}, {3, 1}}, {{3, 1}, {2, 3, 4}}, {{2, 1, 4}, {3, 1}}};
  for (const OpCase& op : ArithmeticOps()) {
    for (DataType dtype : types) {
      for (const auto& [dims_a, dims_b] : shapes) {
        const std::string what = op.op + " " + TypeName(dtype) + " " + ShapeToString(dims_a) +
                                 " " + ShapeToString(dims_b);
        SCOPED_TRACE(what);
        const bool is_int = !IsFloatingPoint(dtype);
        // Unsigned types get a >= b for Sub; divisors never 0.
        const double lo_a = IsUnsigned(dtype) ? 20 : -20, hi_a = IsUnsigned(dtype) ? 40 : 20;
        const double lo_b = op.op == "Div" ? 1 : (IsUnsigned(dtype) ? 0 : -20);
        const double hi_b = op.op == "Div" ? 9 : 20;
        std::vector<double> a = SpreadValues(ElementCount(dims_a), lo_a, hi_a, 7);
        std::vector<double> b = SpreadValues(ElementCount(dims_b), lo_b, hi_b, 11);
        if (is_int) {
          for (double& v : a) v = std::round(v);
          for (double& v : b) v = std::round(v);
        }
        if (op.op == "Div" && !IsUnsigned(dtype)) {
          for (size_t i = 0; i < b.size(); i += 2) b[i] = -b[i];  // negative divisors too
        }
        a = Stored(dtype, dims_a, a);
        b = Stored(dtype, dims_b, b);
        ASSERT_TRUE(std::none_of(b.begin(), b.end(), [](double v) { return v == 0; }) ||
                    op.op != "Div");
        onnx::ModelProto model = ParseModel(BinaryModelText(op.op, 14, TypeName(dtype), dims_a,
                                                            TypeName(dtype), dims_b));
        const std::vector<int64_t> out_dims = {2, 3, 4};  // every pair above
        std::vector<double> expected;
        if (is_int) {
          expected = BroadcastReference(a, dims_a, b, dims_b, out_dims, [&](double x, double y) {
            return WrapToType(dtype, op.integer(static_cast<int64_t>(x), static_cast<int64_t>(y)));
          });
        } else {
          expected = BroadcastReference(a, dims_a, b, dims_b, out_dims, op.floating);
        }
        const Tensor y = RunSingleOutput(
            model, {{"A", MakeTensor(dtype, dims_a, a)}, {"B", MakeTensor(dtype, dims_b, b)}});
        ASSERT_EQ(y.dtype(), dtype);
        ASSERT_EQ(y.shape(), out_dims);
        ExpectClose(ToDoubles(y), expected, Tolerance(dtype), what);
      }
    }
  }
}

TEST(BinaryTest, Float32BroadcastShapes) {
  struct Case {
    std::string op;
    std::vector<int64_t> a, b, out;
  };
  const std::vector<Case> cases = {
      {"Add", {}, {}, {}},                       // scalars
      {"Add", {5}, {}, {5}},                     // scalar B
      {"Sub", {}, {2, 3}, {2, 3}},               // scalar A, not commuting
      {"Div", {1, 3}, {2, 1}, {2, 3}},           // both broadcast
      {"Mul", {1}, {2, 3, 4, 5}, {2, 3, 4, 5}},  // commuting swap
      {"Sub", {2, 3, 4, 5}, {3, 1, 1}, {2, 3, 4, 5}},
      {"Add", {0, 3}, {3}, {0, 3}},              // empty
      {"Add", {300, 301}, {301}, {300, 301}},    // large enough to run in parallel
      {"Div", {301}, {300, 1}, {300, 301}},      // large, C++ path
  };
  const std::map<std::string, std::function<double(double, double)>> fns = {
      {"Add", std::plus<double>()}, {"Sub", std::minus<double>()},
      {"Mul", std::multiplies<double>()}, {"Div", std::divides<double>()}};
  for (const Case& c : cases) {
    const std::string what = c.op + " " + ShapeToString(c.a) + " " + ShapeToString(c.b);
    SCOPED_TRACE(what);
    const std::vector<double> a =
        Stored(DataType::kFloat, c.a, SpreadValues(ElementCount(c.a), -3, 3, 3));
    const std::vector<double> b =
        Stored(DataType::kFloat, c.b, SpreadValues(ElementCount(c.b), 0.5, 4, 5));
    for (bool optimize : {true, false}) {
      const Tensor y = RunSingleOutput(
          ParseModel(BinaryModelText(c.op, 14, "float", c.a, "float", c.b)),
          {{"A", MakeTensor(DataType::kFloat, c.a, a)}, {"B", MakeTensor(DataType::kFloat, c.b, b)}},
          optimize);
      ASSERT_EQ(y.shape(), c.out);
      ExpectClose(ToDoubles(y), BroadcastReference(a, c.a, b, c.b, c.out, fns.at(c.op)), 1e-6,
                  what);
    }
  }
}

TEST(BinaryTest, ConstantOperandsAreFoldedAtCompileTime) {
  // Both operands of Sub are initializers: the planner runs the kernel while
  // compiling, and Mul then uses the result.
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 14]>
    g (float[2,3] X) => (float[2,3] Y) {
      D = Sub(C1, C2)
      Y = Mul(X, D)
    })");
  AddInitializer(&model, "C1", DataType::kFloat, {3}, {1, 2, 3});
  AddInitializer(&model, "C2", DataType::kFloat, {2, 1}, {10, 20});
  const Tensor y = RunSingleOutput(
      model, {{"X", MakeTensor(DataType::kFloat, {2, 3}, {1, 2, 3, 4, 5, 6})}});
  // D = [[-9,-8,-7],[-19,-18,-17]]
  EXPECT_EQ(ToDoubles(y), (std::vector<double>{-9, -16, -21, -76, -90, -102}));
}

TEST(BinaryTest, IntegerDivisionTruncatesTowardZeroAndNeverTraps) {
  const double int_min = std::numeric_limits<int32_t>::min();
  onnx::ModelProto model = ParseModel(BinaryModelText("Div", 14, "int32", {6}, "int32", {6}));
  const Tensor y = RunSingleOutput(
      model, {{"A", MakeTensor(DataType::kInt32, {6}, {-7, 7, -7, 7, int_min, 5})},
              {"B", MakeTensor(DataType::kInt32, {6}, {2, 2, -2, -2, -1, 0})}});
  // INT_MIN / -1 wraps to INT_MIN and x / 0 gives 0, as numpy does, instead
  // of the SIGFPE the hardware division raises.
  EXPECT_EQ(ToDoubles(y), (std::vector<double>{-3, 3, 3, -3, int_min, 0}));
}

TEST(BinaryTest, IntegerArithmeticWrapsAround) {
  const Tensor add8 = RunSingleOutput(
      ParseModel(BinaryModelText("Add", 14, "int8", {2}, "int8", {2})),
      {{"A", MakeTensor(DataType::kInt8, {2}, {100, -100})},
       {"B", MakeTensor(DataType::kInt8, {2}, {100, -100})}});
  EXPECT_EQ(ToDoubles(add8), (std::vector<double>{-56, 56}));
  const Tensor mul16 = RunSingleOutput(
      ParseModel(BinaryModelText("Mul", 14, "uint16", {1}, "uint16", {1})),
      {{"A", MakeTensor(DataType::kUint16, {1}, {65535})},
       {"B", MakeTensor(DataType::kUint16, {1}, {65535})}});
  EXPECT_EQ(ToDoubles(mul16), (std::vector<double>{1}));  // (2^16 - 1)^2 mod 2^16
}

TEST(BinaryTest, PowTakesAnExponentOfAnotherType) {
  // float base, int64 exponent.
  const Tensor f = RunSingleOutput(
      ParseModel(BinaryModelText("Pow", 15, "float", {4}, "int64", {4})),
      {{"A", MakeTensor(DataType::kFloat, {4}, {2, -1.5, 10, 0.5})},
       {"B", MakeTensor(DataType::kInt64, {4}, {10, 3, -2, 0})}});
  ExpectClose(ToDoubles(f), {1024, -3.375, 0.01, 1}, 1e-7, "float^int64");
  // int32 base, float exponent: the floating power truncated.
  const Tensor i = RunSingleOutput(
      ParseModel(BinaryModelText("Pow", 15, "int32", {4}, "float", {4})),
      {{"A", MakeTensor(DataType::kInt32, {4}, {2, 9, -3, 10})},
       {"B", MakeTensor(DataType::kFloat, {4}, {0.5, 0.5, 3, -1})}});
  EXPECT_EQ(ToDoubles(i), (std::vector<double>{1, 3, -27, 0}));
  // int64 ^ int64 is exact beyond double's 53 bits: 3^39 = 4052555153018976267.
  StatusOr<std::unique_ptr<Session>> session =
      OpenModel(ParseModel(BinaryModelText("Pow", 15, "int64", {4}, "int64", {4})));
  ASSERT_TRUE(session.ok()) << session.status().message();
  StatusOr<Tensor> base = Tensor::Allocate(DataType::kInt64, {4});
  StatusOr<Tensor> exponent = Tensor::Allocate(DataType::kInt64, {4});
  ASSERT_TRUE(base.ok() && exponent.ok());
  const int64_t bases[4] = {3, -1, 2, 1};
  const int64_t exponents[4] = {39, -3, -1, -5};
  std::memcpy(base->data(), bases, sizeof bases);
  std::memcpy(exponent->data(), exponents, sizeof exponents);
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE((*session)->Run({{"A", *base}, {"B", *exponent}}, &outputs).ok());
  const int64_t* y = outputs[0].tensor.data_as<int64_t>();
  EXPECT_EQ(y[0], 4052555153018976267LL);
  EXPECT_EQ(y[1], -1);
  EXPECT_EQ(y[2], 0);  // 1/2 truncated
  EXPECT_EQ(y[3], 1);
}

TEST(BinaryTest, LegacyBroadcastAttributeAlignsBAtAxis) {
  const std::vector<int64_t> dims_a = {2, 3, 4, 5};
  const std::vector<double> a = Stored(DataType::kFloat, dims_a, SpreadValues(120, -5, 5, 1));
  // axis=1: B [3,4] lines up with A's dims 1 and 2, i.e. numpy [3,4,1].
  const std::vector<double> b = Stored(DataType::kFloat, {3, 4}, SpreadValues(12, -5, 5, 2));
  const Tensor y = RunSingleOutput(
      ParseModel(BinaryModelText("Add", 6, "float", dims_a, "float", {3, 4},
                                 "broadcast = 1, axis = 1")),
      {{"A", MakeTensor(DataType::kFloat, dims_a, a)},
       {"B", MakeTensor(DataType::kFloat, {3, 4}, b)}});
  ExpectClose(ToDoubles(y),
              BroadcastReference(a, dims_a, b, {3, 4, 1}, dims_a, std::plus<double>()), 1e-6,
              "Add-6 axis=1");
  // No axis: B aligns with A's trailing dims. Sub does not commute.
  const std::vector<double> c = Stored(DataType::kFloat, {5}, SpreadValues(5, 1, 2, 3));
  const Tensor z = RunSingleOutput(
      ParseModel(BinaryModelText("Sub", 6, "float", dims_a, "float", {5}, "broadcast = 1")),
      {{"A", MakeTensor(DataType::kFloat, dims_a, a)},
       {"B", MakeTensor(DataType::kFloat, {5}, c)}});
  ExpectClose(ToDoubles(z), BroadcastReference(a, dims_a, c, {5}, dims_a, std::minus<double>()),
              1e-6, "Sub-6 trailing");
}

TEST(BinaryTest, UnbroadcastableShapesAreAnErrorNamingTheNode) {
  // Symbolic dims keep ONNX shape inference from catching it at load time.
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 14]>
    g (float[N] A, float[M] B) => (float[K] Y) {
      Y = Add(A, B)
    })");
  model.mutable_graph()->mutable_node(0)->set_name("add_node");
  StatusOr<std::unique_ptr<Session>> session = OpenModel(model);
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<NamedTensor> outputs;
  const Status status = (*session)->Run({{"A", MakeTensor(DataType::kFloat, {3}, {1, 2, 3})},
                                         {"B", MakeTensor(DataType::kFloat, {4}, {1, 2, 3, 4})}},
                                        &outputs);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("add_node"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("broadcast"), std::string::npos) << status.message();
}

TEST(PReluTest, Opset6SlopeIsPerChannel) {
  const std::vector<int64_t> dims = {2, 3, 4};
  const std::vector<double> x = Stored(DataType::kFloat, dims, SpreadValues(24, -4, 4, 9));
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 4, opset_import: ["" : 6]>
    g (float[2,3,4] X) => (float[2,3,4] Y) {
      Y = PRelu(X, S)
    })");
  AddInitializer(&model, "S", DataType::kFloat, {3}, {0.1, 0.2, 0.3});
  const Tensor y = RunSingleOutput(model, {{"X", MakeTensor(DataType::kFloat, dims, x)}});
  const std::vector<double> s = Stored(DataType::kFloat, {3}, {0.1, 0.2, 0.3});
  ExpectClose(ToDoubles(y),
              BroadcastReference(x, dims, s, {3, 1}, dims,
                                 [](double v, double k) { return v < 0 ? k * v : v; }),
              1e-6, "PRelu-6");
}

TEST(PReluTest, Opset16SlopeBroadcastsLikeNumpyForFloatAndInt) {
  const std::vector<int64_t> dims = {2, 3, 4};
  const auto prelu = [](double v, double k) { return v < 0 ? k * v : v; };
  const std::vector<double> x = Stored(DataType::kFloat, dims, SpreadValues(24, -4, 4, 9));
  const std::vector<double> s = Stored(DataType::kFloat, {4}, {0.1, 0.2, 0.3, 0.4});
  const Tensor y = RunSingleOutput(
      ParseModel(BinaryModelText("PRelu", 16, "float", dims, "float", {4})),
      {{"A", MakeTensor(DataType::kFloat, dims, x)}, {"B", MakeTensor(DataType::kFloat, {4}, s)}});
  ExpectClose(ToDoubles(y), BroadcastReference(x, dims, s, {4}, dims, prelu), 1e-6, "PRelu-16");

  std::vector<double> xi = x;
  for (double& v : xi) v = std::round(v);
  const Tensor yi = RunSingleOutput(
      ParseModel(BinaryModelText("PRelu", 16, "int32", dims, "int32", {3, 1})),
      {{"A", MakeTensor(DataType::kInt32, dims, xi)},
       {"B", MakeTensor(DataType::kInt32, {3, 1}, {2, 3, 4})}});
  EXPECT_EQ(ToDoubles(yi), BroadcastReference(xi, dims, {2, 3, 4}, {3, 1}, dims, prelu));
}

TEST(VariadicTest, SumMeanMaxMinOfThreeBroadcastInputs) {
  const std::vector<int64_t> d0 = {2, 3, 1}, d1 = {3, 4}, d2 = {1}, out = {2, 3, 4};
  const std::map<std::string, std::function<double(double, double, double)>> ops = {
      {"Sum", [](double a, double b, double c) { return a + b + c; }},
      {"Mean", [](double a, double b, double c) { return (a + b + c) / 3; }},
      {"Max", [](double a, double b, double c) { return std::max({a, b, c}); }},
      {"Min", [](double a, double b, double c) { return std::min({a, b, c}); }}};
  for (DataType dtype : {DataType::kFloat, DataType::kDouble, DataType::kFloat16}) {
    for (const auto& [op, fn] : ops) {
      const std::string what = op + " " + TypeName(dtype);
      SCOPED_TRACE(what);
      const std::vector<double> a = Stored(dtype, d0, SpreadValues(6, -3, 3, 1));
      const std::vector<double> b = Stored(dtype, d1, SpreadValues(12, -3, 3, 2));
      const std::vector<double> c = Stored(dtype, d2, {0.25});
      const std::string t = TypeName(dtype);
      onnx::ModelProto model = ParseModel(
          "<ir_version: 7, opset_import: [\"\" : 13]>\ng (" + t + "[2,3,1] A, " + t + "[3,4] B, " +
          t + "[1] C) => (" + t + "[2,3,4] Y) {\n  Y = " + op + "(A, B, C)\n}\n");
      const Tensor y = RunSingleOutput(model, {{"A", MakeTensor(dtype, d0, a)},
                                               {"B", MakeTensor(dtype, d1, b)},
                                               {"C", MakeTensor(dtype, d2, c)}});
      // (a op b) then op c, both broadcast to the output.
      const std::vector<double> ab =
          BroadcastReference(a, d0, b, d1, out, [](double p, double) { return p; });
      const std::vector<double> bb =
          BroadcastReference(a, d0, b, d1, out, [](double, double q) { return q; });
      std::vector<double> expected(ab.size());
      for (size_t i = 0; i < ab.size(); ++i) expected[i] = fn(ab[i], bb[i], c[0]);
      ASSERT_EQ(y.shape(), out);
      ExpectClose(ToDoubles(y), expected, dtype == DataType::kFloat16 ? 2e-3 : 1e-6, what);
    }
  }
}

TEST(VariadicTest, OneInputIsACopyAndIntegerMaxMinAreExact) {
  const Tensor sum = RunSingleOutput(ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 13]>
    g (float[3] A) => (float[3] Y) { Y = Sum(A) })"),
                                     {{"A", MakeTensor(DataType::kFloat, {3}, {1, -2, 3})}});
  EXPECT_EQ(ToDoubles(sum), (std::vector<double>{1, -2, 3}));
  // uint64 values above 2^63 (exact in double as multiples of 2^11).
  const double big = 9223372036854777856.0, bigger = 18446744073709549568.0;
  const Tensor max = RunSingleOutput(ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 13]>
    g (uint64[2] A, uint64[2] B) => (uint64[2] Y) { Y = Max(A, B) })"),
                                     {{"A", MakeTensor(DataType::kUint64, {2}, {big, 5})},
                                      {"B", MakeTensor(DataType::kUint64, {2}, {bigger, 4})}});
  EXPECT_EQ(ToDoubles(max), (std::vector<double>{bigger, 5}));
}

TEST(VariadicTest, MaxAndMinPropagateNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const char* op : {"Max", "Min"}) {
    const Tensor y = RunSingleOutput(
        ParseModel(BinaryModelText(op, 13, "float", {3}, "float", {3})),
        {{"A", MakeTensor(DataType::kFloat, {3}, {nan, 1, 2})},
         {"B", MakeTensor(DataType::kFloat, {3}, {1, nan, 3})}});
    const std::vector<double> v = ToDoubles(y);
    EXPECT_TRUE(std::isnan(v[0])) << op;
    EXPECT_TRUE(std::isnan(v[1])) << op;
    EXPECT_EQ(v[2], std::string(op) == "Max" ? 3 : 2);
  }
}

}  // namespace
}  // namespace bnfold::testing
