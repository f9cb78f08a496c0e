// Cast through the public Session API. References: the compiler's own
// _Float16 conversions (IEEE round-to-nearest-even, straight from double),
// hand-computed bfloat16 bit patterns, and C++ conversions for the rest.
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

DataType DataTypeFromName(const std::string& name) {
  for (int t = 1; t <= 16; ++t) {
    if (name == DataTypeName(static_cast<DataType>(t))) return static_cast<DataType>(t);
  }
  ADD_FAILURE() << "unknown type " << name;
  return DataType::kUndefined;
}

onnx::ModelProto CastModel(const std::string& from, const std::string& to, int64_t count) {
  const std::string n = std::to_string(count);
  return ParseModel("<ir_version: 7, opset_import: [\"\" : 13]>\ng (" + from + "[" + n +
                    "] X) => (" + to + "[" + n + "] Y) {\n  Y = Cast <to = " +
                    std::to_string(static_cast<int>(DataTypeFromName(to))) + "> (X)\n}\n");
}

template <typename T>
Tensor RawTensor(DataType dtype, const std::vector<T>& values) {
  StatusOr<Tensor> t = Tensor::Allocate(dtype, {static_cast<int64_t>(values.size())});
  EXPECT_TRUE(t.ok());
  EXPECT_EQ(t->byte_size(), values.size() * sizeof(T));
  std::memcpy(t->data(), values.data(), values.size() * sizeof(T));
  return *std::move(t);
}

template <typename T>
std::vector<T> RawValues(const Tensor& t) {
  std::vector<T> out(t.num_elements());
  if (!out.empty()) std::memcpy(out.data(), t.data(), out.size() * sizeof(T));
  return out;
}

Tensor Cast(const std::string& from, const std::string& to, Tensor x) {
  const onnx::ModelProto model = CastModel(from, to, x.num_elements());
  return RunSingleOutput(model, {{"X", std::move(x)}});
}

uint16_t HalfBits(_Float16 h) {
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}

TEST(CastTest, FloatToIntegerTruncatesTowardZero) {
  const std::vector<float> x = {-2.7f, -0.5f, 0.5f, 2.7f, 1000.9f, -1000.9f};
  EXPECT_EQ(RawValues<int32_t>(Cast("float", "int32", RawTensor(DataType::kFloat, x))),
            (std::vector<int32_t>{-2, 0, 0, 2, 1000, -1000}));
  EXPECT_EQ(RawValues<int64_t>(Cast("float", "int64", RawTensor(DataType::kFloat, x))),
            (std::vector<int64_t>{-2, 0, 0, 2, 1000, -1000}));
  EXPECT_EQ(RawValues<uint8_t>(Cast("double", "uint8",
                                    RawTensor<double>(DataType::kDouble, {0.9, 255.9, 17.5}))),
            (std::vector<uint8_t>{0, 255, 17}));
}

TEST(CastTest, IntegerToNarrowerIntegerWraps) {
  EXPECT_EQ(RawValues<int8_t>(Cast("int32", "int8",
                                   RawTensor<int32_t>(DataType::kInt32, {300, -129, 127, -128}))),
            (std::vector<int8_t>{44, 127, 127, -128}));
  EXPECT_EQ(RawValues<uint16_t>(Cast("int64", "uint16",
                                     RawTensor<int64_t>(DataType::kInt64, {-1, 65536, 65535}))),
            (std::vector<uint16_t>{65535, 0, 65535}));
}

TEST(CastTest, BoolIsNonZeroAndBack) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(RawValues<uint8_t>(Cast("float", "bool",
                                    RawTensor<float>(DataType::kFloat, {0, -0.0f, 2.5f, nan, -1}))),
            (std::vector<uint8_t>{0, 0, 1, 1, 1}));
  EXPECT_EQ(RawValues<uint8_t>(Cast("int64", "bool", RawTensor<int64_t>(DataType::kInt64, {0, 5}))),
            (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(RawValues<float>(Cast("bool", "float", RawTensor<uint8_t>(DataType::kBool, {1, 0}))),
            (std::vector<float>{1, 0}));
  EXPECT_EQ(RawValues<int32_t>(Cast("bool", "int32", RawTensor<uint8_t>(DataType::kBool, {0, 1}))),
            (std::vector<int32_t>{0, 1}));
}

TEST(CastTest, FloatAndDoubleToFloat16RoundOnceToNearestEven) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> f = {1.0f + 0x1p-11f,      // tie: to even (1.0)
                          1.0f + 3 * 0x1p-11f,  // tie: to even (up)
                          65504.0f, 65520.0f,   // max half; rounds to inf
                          1e-8f,  -3e-5f,       // subnormal halves
                          inf,    -inf,  -0.0f};
  const std::vector<double> spread = SpreadValues(500, -70000, 70000, 3);
  for (double v : spread) f.push_back(static_cast<float>(v));
  std::vector<uint16_t> expected;
  for (float v : f) expected.push_back(HalfBits(static_cast<_Float16>(v)));
  EXPECT_EQ(RawValues<uint16_t>(Cast("float", "float16", RawTensor(DataType::kFloat, f))),
            expected);

  // Just above a half-way point by less than float's precision: rounding to
  // float first would land on the tie and round down.
  std::vector<double> d = {1.0 + 0x1p-11 + 0x1p-30, 1.0 + 0x1p-11 - 0x1p-30,
                           2049.0 + 0x1p-20, 1e-7, std::nan("")};
  for (double v : spread) d.push_back(v * 1.0000001);
  expected.clear();
  for (double v : d) expected.push_back(HalfBits(static_cast<_Float16>(v)));
  const std::vector<uint16_t> got =
      RawValues<uint16_t>(Cast("double", "float16", RawTensor(DataType::kDouble, d)));
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(d[i])) {
      EXPECT_EQ(got[i] & 0x7c00, 0x7c00);  // NaN stays NaN
      EXPECT_NE(got[i] & 0x03ff, 0);
    } else {
      EXPECT_EQ(got[i], expected[i]) << "double " << d[i];
    }
  }
  EXPECT_EQ(got[0], HalfBits(static_cast<_Float16>(1.0 + 0x1p-10)));
}

TEST(CastTest, ToBfloat16RoundsToNearestEven) {
  // bfloat16 keeps 7 mantissa bits: its ulp at 1 is 2^-7.
  const std::vector<float> f = {1.0f + 0x1p-8f,                // tie: to even, 1.0
                                1.0f + 3 * 0x1p-8f,            // tie: to even, 1 + 2^-6
                                1.0f + 0x1p-8f + 0x1p-20f,     // above the tie: up
                                -0.0f, std::numeric_limits<float>::infinity(),
                                0x1p127f * 1.9999f};           // overflows to inf
  EXPECT_EQ(RawValues<uint16_t>(Cast("float", "bfloat16", RawTensor(DataType::kFloat, f))),
            (std::vector<uint16_t>{0x3f80, 0x3f82, 0x3f81, 0x8000, 0x7f80, 0x7f80}));
  // From double, rounded once: via float this would be the tie 1 + 2^-8.
  EXPECT_EQ(RawValues<uint16_t>(Cast("double", "bfloat16",
                                     RawTensor<double>(DataType::kDouble, {1.0 + 0x1p-8 + 0x1p-40}))),
            (std::vector<uint16_t>{0x3f81}));
  const std::vector<uint16_t> nan =
      RawValues<uint16_t>(Cast("float", "bfloat16", RawTensor<float>(DataType::kFloat, {NAN})));
  EXPECT_EQ(nan[0] & 0x7f80, 0x7f80);
  EXPECT_NE(nan[0] & 0x007f, 0);
}

TEST(CastTest, FromSixteenBitFloatsIsExact) {
  std::vector<uint16_t> bits;
  for (uint32_t b = 0; b < 65536; b += 97) bits.push_back(static_cast<uint16_t>(b));
  const std::vector<double> halves =
      RawValues<double>(Cast("float16", "double", RawTensor(DataType::kFloat16, bits)));
  const std::vector<float> bfloats =
      RawValues<float>(Cast("bfloat16", "float", RawTensor(DataType::kBfloat16, bits)));
  for (size_t i = 0; i < bits.size(); ++i) {
    _Float16 h;
    std::memcpy(&h, &bits[i], sizeof h);
    const uint32_t widened = static_cast<uint32_t>(bits[i]) << 16;
    float b;
    std::memcpy(&b, &widened, sizeof b);
    if (std::isnan(static_cast<double>(h))) {
      EXPECT_TRUE(std::isnan(halves[i]));
    } else {
      EXPECT_EQ(halves[i], static_cast<double>(h)) << "half bits " << bits[i];
    }
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(bfloats[i]));
    } else {
      EXPECT_EQ(bfloats[i], b) << "bfloat16 bits " << bits[i];
    }
  }
}

TEST(CastTest, WideIntegersToFloatingTypes) {
  const std::vector<int64_t> x = {0, -1, (int64_t{1} << 53) + 1, -(int64_t{1} << 60) - 3, 70000};
  std::vector<double> as_double;
  std::vector<float> as_float;
  std::vector<uint16_t> as_half;
  for (int64_t v : x) {
    as_double.push_back(static_cast<double>(v));
    as_float.push_back(static_cast<float>(v));
    as_half.push_back(HalfBits(static_cast<_Float16>(v)));
  }
  EXPECT_EQ(RawValues<double>(Cast("int64", "double", RawTensor(DataType::kInt64, x))), as_double);
  EXPECT_EQ(RawValues<float>(Cast("int64", "float", RawTensor(DataType::kInt64, x))), as_float);
  EXPECT_EQ(RawValues<uint16_t>(Cast("int64", "float16", RawTensor(DataType::kInt64, x))),
            as_half);
}

TEST(CastTest, StringsAreRefusedAsUnsupported) {
  StatusOr<std::unique_ptr<Session>> session = OpenModel(CastModel("float", "string", 2));
  Status status = session.status();
  if (session.ok()) {
    std::vector<NamedTensor> outputs;
    status = (*session)->Run({{"X", MakeTensor(DataType::kFloat, {2}, {1, 2})}}, &outputs);
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnsupported) << status.message();
  EXPECT_NE(status.message().find("Cast"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace bnfold::testing
