// Kernels of the logic family (runtime/backend/onednn/kernels/logic.cc)
// through the public Session API, models in ONNX text, against references
// computed here element by element in double (numpy's semantics: Python's
// % for Mod, C's fmod for fmod=1) or written out by hand: the edge cases the
// ONNX backend suite misses (empty tensors, broadcasting, the opset-1
// broadcast attribute, integer overflow and division by zero, NaN).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "tests/runtime/backend/kernels/elementwise_test_util.h"

namespace bnfold::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Dims(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// Y = op(A, B) as a one-node model; `attrs` like "<fmod = 1>".
onnx::ModelProto BinaryModel(const std::string& op, const std::string& type,
                             const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                             const std::string& out_type, const std::vector<int64_t>& out,
                             int opset = 18, const std::string& attrs = "") {
  return ParseModel("<ir_version: 8, opset_import: [\"\" : " + std::to_string(opset) +
                    "]>\ng (" + type + Dims(a) + " A, " + type + Dims(b) + " B) => (" +
                    out_type + Dims(out) + " Y) {\n  Y = " + op + " " + attrs + " (A, B)\n}\n");
}

std::vector<double> Run2(const onnx::ModelProto& model, DataType type,
                         const std::vector<int64_t>& a_dims, const std::vector<double>& a,
                         const std::vector<int64_t>& b_dims, const std::vector<double>& b,
                         bool optimize = true) {
  return ToDoubles(RunSingleOutput(
      model, {{"A", MakeTensor(type, a_dims, a)}, {"B", MakeTensor(type, b_dims, b)}},
      optimize));
}

// The status of opening the model and running it once on `feeds` (kernels
// compile on the first run, so a refused node shows there).
Status OpenAndRun(const onnx::ModelProto& model, const std::vector<NamedTensor>& feeds) {
  StatusOr<std::unique_ptr<Session>> session = OpenModel(model);
  if (!session.ok()) return session.status();
  std::vector<NamedTensor> outputs;
  return (*session)->Run(feeds, &outputs);
}

Tensor Ones(DataType type, const std::vector<int64_t>& dims) {
  return MakeTensor(type, dims, std::vector<double>(ElementCount(dims), 1.0));
}

void ExpectSame(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    } else {
      EXPECT_EQ(got[i], want[i]) << "at " << i;
    }
  }
}

struct Comparison {
  const char* op;
  bool (*fn)(double, double);
};
const Comparison kComparisons[] = {
    {"Equal", [](double a, double b) { return a == b; }},
    {"Less", [](double a, double b) { return a < b; }},
    {"LessOrEqual", [](double a, double b) { return a <= b; }},
    {"Greater", [](double a, double b) { return a > b; }},
    {"GreaterOrEqual", [](double a, double b) { return a >= b; }},
};

// Every comparison, on float (oneDNN's binary primitive) and on the loop's
// types, with both operands broadcasting, ties, NaN and infinities.
TEST(LogicTest, ComparisonsBroadcastAndTreatNaNAsUnordered) {
  const std::vector<int64_t> a_dims = {2, 1, 4}, b_dims = {3, 1}, out_dims = {2, 3, 4};
  std::vector<double> a = {0, 1, 2, 3, -1, kNaN, kInf, -kInf};
  std::vector<double> b = {1, kNaN, -kInf};
  for (const char* type : {"float", "double", "float16"}) {
    for (const Comparison& c : kComparisons) {
      SCOPED_TRACE(std::string(c.op) + " " + type);
      const DataType dtype = std::string(type) == "float"    ? DataType::kFloat
                             : std::string(type) == "double" ? DataType::kDouble
                                                             : DataType::kFloat16;
      const std::vector<double> want = BroadcastReference(
          a, a_dims, b, b_dims, out_dims, [&](double x, double y) { return c.fn(x, y) ? 1.0 : 0.0; });
      const onnx::ModelProto model = BinaryModel(c.op, type, a_dims, b_dims, "bool", out_dims);
      ExpectSame(Run2(model, dtype, a_dims, a, b_dims, b), want);
      // The swapped operands (src0 broadcast) take the mirrored comparison.
      const std::vector<double> want_swapped = BroadcastReference(
          b, b_dims, a, a_dims, out_dims, [&](double x, double y) { return c.fn(x, y) ? 1.0 : 0.0; });
      const onnx::ModelProto swapped = BinaryModel(c.op, type, b_dims, a_dims, "bool", out_dims);
      ExpectSame(Run2(swapped, dtype, b_dims, b, a_dims, a), want_swapped);
    }
  }
}

TEST(LogicTest, IntegerComparisonsAreExactBeyondDoublePrecision) {
  // 2^53 + 1 and 2^53 are equal as doubles; int64 must tell them apart.
  const int64_t big = (int64_t{1} << 53) + 1;
  StatusOr<Tensor> a = Tensor::Allocate(DataType::kInt64, {2});
  StatusOr<Tensor> b = Tensor::Allocate(DataType::kInt64, {2});
  ASSERT_TRUE(a.ok() && b.ok());
  a->data_as<int64_t>()[0] = big, a->data_as<int64_t>()[1] = std::numeric_limits<int64_t>::min();
  b->data_as<int64_t>()[0] = big - 1, b->data_as<int64_t>()[1] = std::numeric_limits<int64_t>::max();
  const Tensor y = RunSingleOutput(BinaryModel("Greater", "int64", {2}, {2}, "bool", {2}),
                                   {{"A", *a}, {"B", *b}});
  ASSERT_EQ(y.dtype(), DataType::kBool);
  EXPECT_EQ(y.data_as<uint8_t>()[0], 1);
  EXPECT_EQ(y.data_as<uint8_t>()[1], 0);
}

TEST(LogicTest, EmptyTensorsGiveEmptyResults) {
  const Tensor y = RunSingleOutput(BinaryModel("Less", "float", {0, 3}, {3}, "bool", {0, 3}),
                                   {{"A", MakeTensor(DataType::kFloat, {0, 3}, {})},
                                    {"B", MakeTensor(DataType::kFloat, {3}, {1, 2, 3})}});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{0, 3}));
}

TEST(LogicTest, LogicalOpsOnBoolBroadcast) {
  const std::vector<int64_t> a_dims = {2, 2}, b_dims = {2};
  const std::vector<double> a = {0, 0, 1, 1}, b = {0, 1};
  ExpectSame(Run2(BinaryModel("And", "bool", a_dims, b_dims, "bool", {2, 2}), DataType::kBool,
                  a_dims, a, b_dims, b),
             {0, 0, 0, 1});
  ExpectSame(Run2(BinaryModel("Or", "bool", a_dims, b_dims, "bool", {2, 2}), DataType::kBool,
                  a_dims, a, b_dims, b),
             {0, 1, 1, 1});
  ExpectSame(Run2(BinaryModel("Xor", "bool", a_dims, b_dims, "bool", {2, 2}), DataType::kBool,
                  a_dims, a, b_dims, b),
             {0, 1, 1, 0});
  ExpectSame(Run2(BinaryModel("Equal", "bool", a_dims, b_dims, "bool", {2, 2}), DataType::kBool,
                  a_dims, a, b_dims, b),
             {1, 0, 0, 1});
}

// Opset 1: B of [3] lines up with A of [3, 2] at axis 0 (not numpy's
// trailing alignment, where [3] would not fit [3, 2]).
TEST(LogicTest, Opset1BroadcastAttributeAlignsAtAxis) {
  const onnx::ModelProto model =
      BinaryModel("Equal", "int32", {3, 2}, {3}, "bool", {3, 2}, 1, "<broadcast = 1, axis = 0>");
  ExpectSame(Run2(model, DataType::kInt32, {3, 2}, {0, 1, 1, 2, 2, 2}, {3}, {0, 1, 2}),
             {1, 0, 1, 0, 1, 1});
  // Without broadcast=1 the shapes must match: refused when opened.
  const onnx::ModelProto strict = BinaryModel("Less", "float", {3, 2}, {2}, "bool", {3, 2}, 1);
  EXPECT_FALSE(
      OpenAndRun(strict, {{"A", Ones(DataType::kFloat, {3, 2})}, {"B", Ones(DataType::kFloat, {2})}})
          .ok());
}

double PythonMod(double a, double b) {
  if (b == 0) return 0;  // numpy gives 0 for integers
  double r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

TEST(LogicTest, IntegerModTakesTheDivisorsSignAndSurvivesZeroAndMinusOne) {
  const std::vector<double> a = {-4, 7, -7, 7, -7, 5, -128, 0};
  const std::vector<double> b = {3, 3, 3, -3, -3, 0, -1, -5};
  std::vector<double> want(a.size());
  for (size_t i = 0; i < a.size(); ++i) want[i] = PythonMod(a[i], b[i]);
  EXPECT_EQ(want[6], 0);
  for (const auto& [type, dtype] : {std::pair{"int8", DataType::kInt8},
                                     std::pair{"int32", DataType::kInt32},
                                     std::pair{"int64", DataType::kInt64}}) {
    SCOPED_TRACE(type);
    ExpectSame(Run2(BinaryModel("Mod", type, {8}, {8}, type, {8}), dtype, {8}, a, {8}, b), want);
  }
  // fmod=1 on integers: C's truncated remainder.
  ExpectSame(Run2(BinaryModel("Mod", "int32", {8}, {8}, "int32", {8}, 18, "<fmod = 1>"),
                  DataType::kInt32, {8}, a, {8}, b),
             {-1, 1, -1, 1, -1, 0, 0, 0});
  // uint: plain remainder.
  ExpectSame(Run2(BinaryModel("Mod", "uint16", {3}, {1}, "uint16", {3}), DataType::kUint16, {3},
                  {65535, 7, 3}, {1}, {10}),
             {5, 7, 3});
}

TEST(LogicTest, FloatModIsFmodAndNeedsTheAttribute) {
  const std::vector<double> a = {5.5, -5.5, 5.5, 1.0, kInf, 3.0};
  const std::vector<double> b = {2.0, 2.0, -2.0, 0.0, 2.0, kInf};
  std::vector<double> want(a.size());
  for (size_t i = 0; i < a.size(); ++i) want[i] = std::fmod(a[i], b[i]);
  ExpectSame(Run2(BinaryModel("Mod", "float", {6}, {6}, "float", {6}, 18, "<fmod = 1>"),
                  DataType::kFloat, {6}, a, {6}, b),
             want);
  ExpectSame(Run2(BinaryModel("Mod", "double", {6}, {6}, "double", {6}, 18, "<fmod = 1>"),
                  DataType::kDouble, {6}, a, {6}, b),
             want);
  const Status refused = OpenAndRun(BinaryModel("Mod", "float", {6}, {6}, "float", {6}),
                                    {{"A", Ones(DataType::kFloat, {6})},
                                     {"B", Ones(DataType::kFloat, {6})}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("fmod"), std::string::npos) << refused.message();
}

TEST(LogicTest, BitShiftDropsBitsAndShiftsByTheWidthGiveZero) {
  ExpectSame(Run2(BinaryModel("BitShift", "uint8", {5}, {5}, "uint8", {5}, 18,
                              "<direction = \"LEFT\">"),
                  DataType::kUint8, {5}, {1, 0x81, 255, 1, 3}, {5}, {7, 1, 4, 8, 200}),
             {128, 2, 240, 0, 0});
  ExpectSame(Run2(BinaryModel("BitShift", "uint64", {3}, {1}, "uint64", {3}, 18,
                              "<direction = \"RIGHT\">"),
                  DataType::kUint64, {3}, {1024, 7, 1}, {1}, {3}),
             {128, 0, 0});
  const Status refused = OpenAndRun(
      BinaryModel("BitShift", "uint8", {1}, {1}, "uint8", {1}, 18, "<direction = \"UP\">"),
      {{"A", Ones(DataType::kUint8, {1})}, {"B", Ones(DataType::kUint8, {1})}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("direction"), std::string::npos) << refused.message();
}

TEST(LogicTest, BitwiseOpsOnSignedIntegers) {
  const std::vector<double> a = {-1, 12, -128, 5}, b = {0x0f, 10, 127, -6};
  std::vector<double> and_ref, or_ref, xor_ref;
  for (size_t i = 0; i < a.size(); ++i) {
    const int8_t x = static_cast<int8_t>(a[i]), y = static_cast<int8_t>(b[i]);
    and_ref.push_back(static_cast<int8_t>(x & y));
    or_ref.push_back(static_cast<int8_t>(x | y));
    xor_ref.push_back(static_cast<int8_t>(x ^ y));
  }
  ExpectSame(Run2(BinaryModel("BitwiseAnd", "int8", {4}, {4}, "int8", {4}), DataType::kInt8, {4},
                  a, {4}, b),
             and_ref);
  ExpectSame(Run2(BinaryModel("BitwiseOr", "int8", {4}, {4}, "int8", {4}), DataType::kInt8, {4},
                  a, {4}, b),
             or_ref);
  ExpectSame(Run2(BinaryModel("BitwiseXor", "int8", {4}, {4}, "int8", {4}), DataType::kInt8, {4},
                  a, {4}, b),
             xor_ref);
  const onnx::ModelProto not_model = ParseModel(
      "<ir_version: 8, opset_import: [\"\" : 18]>\ng (uint16[3] X) => (uint16[3] Y) {\n"
      "  Y = BitwiseNot (X)\n}\n");
  ExpectSame(ToDoubles(RunSingleOutput(not_model,
                                       {{"X", MakeTensor(DataType::kUint16, {3}, {0, 1, 65535})}})),
             {65535, 65534, 0});
  // Bitwise ops refuse floats.
  EXPECT_FALSE(OpenAndRun(BinaryModel("BitwiseAnd", "float", {1}, {1}, "float", {1}),
                          {{"A", Ones(DataType::kFloat, {1})}, {"B", Ones(DataType::kFloat, {1})}})
                   .ok());
}

TEST(LogicTest, WhereBroadcastsAllThreeInputsForAnyType) {
  const onnx::ModelProto model = ParseModel(
      "<ir_version: 8, opset_import: [\"\" : 16]>\n"
      "g (bool[2,1] C, int64[3] X, int64[] Y) => (int64[2,3] Z) {\n  Z = Where (C, X, Y)\n}\n");
  ExpectSame(ToDoubles(RunSingleOutput(model, {{"C", MakeTensor(DataType::kBool, {2, 1}, {1, 0})},
                                               {"X", MakeTensor(DataType::kInt64, {3}, {1, 2, 3})},
                                               {"Y", MakeTensor(DataType::kInt64, {}, {-7})}})),
             {1, 2, 3, -7, -7, -7});
  const onnx::ModelProto scalars = ParseModel(
      "<ir_version: 8, opset_import: [\"\" : 16]>\n"
      "g (bool[] C, float16[] X, float16[] Y) => (float16[] Z) {\n  Z = Where (C, X, Y)\n}\n");
  ExpectSame(ToDoubles(RunSingleOutput(scalars, {{"C", MakeTensor(DataType::kBool, {}, {0})},
                                                 {"X", MakeTensor(DataType::kFloat16, {}, {1.5})},
                                                 {"Y", MakeTensor(DataType::kFloat16, {}, {-2.5})}})),
             {-2.5});
  const onnx::ModelProto bools = ParseModel(
      "<ir_version: 8, opset_import: [\"\" : 16]>\n"
      "g (bool[2,2] C, bool[2] X, bool[2,2] Y) => (bool[2,2] Z) {\n  Z = Where (C, X, Y)\n}\n");
  ExpectSame(ToDoubles(RunSingleOutput(bools, {{"C", MakeTensor(DataType::kBool, {2, 2}, {1, 0, 0, 1})},
                                               {"X", MakeTensor(DataType::kBool, {2}, {1, 0})},
                                               {"Y", MakeTensor(DataType::kBool, {2, 2}, {0, 1, 1, 1})}})),
             {1, 1, 1, 0});
}

onnx::ModelProto UnaryModel(const std::string& op, const std::string& type,
                            const std::string& out_type, int64_t n, const std::string& attrs = "",
                            int opset = 20) {
  const std::string d = "[" + std::to_string(n) + "]";
  return ParseModel("<ir_version: 9, opset_import: [\"\" : " + std::to_string(opset) +
                    "]>\ng (" + type + d + " X) => (" + out_type + d + " Y) {\n  Y = " + op + " " +
                    attrs + " (X)\n}\n");
}

std::vector<double> Run1(const onnx::ModelProto& model, DataType type,
                         const std::vector<double>& x) {
  return ToDoubles(RunSingleOutput(
      model, {{"X", MakeTensor(type, {static_cast<int64_t>(x.size())}, x)}}));
}

TEST(LogicTest, IsNaNIsInfAndSign) {
  const std::vector<double> x = {0.0, -0.0, 2.5, -3.0, kNaN, kInf, -kInf};
  for (const auto& [type, dtype] : {std::pair{"float", DataType::kFloat},
                                     std::pair{"double", DataType::kDouble},
                                     std::pair{"float16", DataType::kFloat16},
                                     std::pair{"bfloat16", DataType::kBfloat16}}) {
    SCOPED_TRACE(type);
    ExpectSame(Run1(UnaryModel("IsNaN", type, "bool", 7), dtype, x), {0, 0, 0, 0, 1, 0, 0});
    ExpectSame(Run1(UnaryModel("IsInf", type, "bool", 7), dtype, x), {0, 0, 0, 0, 0, 1, 1});
    ExpectSame(Run1(UnaryModel("IsInf", type, "bool", 7, "<detect_positive = 0>"), dtype, x),
               {0, 0, 0, 0, 0, 0, 1});
    ExpectSame(Run1(UnaryModel("IsInf", type, "bool", 7, "<detect_negative = 0>"), dtype, x),
               {0, 0, 0, 0, 0, 1, 0});
    ExpectSame(Run1(UnaryModel("Sign", type, type, 7), dtype, x), {0, 0, 1, -1, kNaN, 1, -1});
  }
  ExpectSame(Run1(UnaryModel("Sign", "int8", "int8", 3), DataType::kInt8, {-128, 0, 127}),
             {-1, 0, 1});
  ExpectSame(Run1(UnaryModel("Sign", "uint32", "uint32", 2), DataType::kUint32, {0, 4000000000}),
             {0, 1});
}

TEST(LogicTest, NotNegatesBool) {
  ExpectSame(Run1(UnaryModel("Not", "bool", "bool", 3), DataType::kBool, {1, 0, 1}), {0, 1, 0});
  EXPECT_FALSE(
      OpenAndRun(UnaryModel("Not", "float", "float", 3), {{"X", Ones(DataType::kFloat, {3})}})
          .ok());
}

}  // namespace
}  // namespace bnfold::testing
