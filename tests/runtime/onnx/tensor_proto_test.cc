#include "runtime/onnx/tensor_proto.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "runtime/common/npy.h"
#include "tests/runtime/onnx/test_models.h"

namespace bnfold::onnx_io {
namespace {

// One dtype's test values: how ONNX stores them and what they mean.
struct Case {
  DataType dtype;
  std::string raw;              // little-endian bytes of the values
  std::vector<double> meaning;  // the values, independently written down
};

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::vector<Case> AllCases() {
  return {
      {DataType::kFloat, Bytes<float>({1.5f, -2.0f, 0.25f, 1e30f}), {1.5, -2.0, 0.25, 1e30f}},
      {DataType::kDouble, Bytes<double>({1.5, -2.0, 1e-300, 7.0}), {1.5, -2.0, 1e-300, 7.0}},
      {DataType::kInt64, Bytes<int64_t>({-1, int64_t{1} << 40, 0, 7}), {-1, 1099511627776.0, 0, 7}},
      {DataType::kInt32, Bytes<int32_t>({-1, 1 << 30, 0, 7}), {-1, 1073741824.0, 0, 7}},
      {DataType::kInt16, Bytes<int16_t>({-1, 32767, -32768, 7}), {-1, 32767, -32768, 7}},
      {DataType::kInt8, Bytes<int8_t>({-1, 127, -128, 7}), {-1, 127, -128, 7}},
      {DataType::kUint64, Bytes<uint64_t>({1, uint64_t{1} << 40, 0, 7}), {1, 1099511627776.0, 0, 7}},
      {DataType::kUint32, Bytes<uint32_t>({1, 4000000000u, 0, 7}), {1, 4000000000.0, 0, 7}},
      {DataType::kUint16, Bytes<uint16_t>({1, 65535, 0, 7}), {1, 65535, 0, 7}},
      {DataType::kUint8, Bytes<uint8_t>({1, 255, 0, 7}), {1, 255, 0, 7}},
      {DataType::kBool, Bytes<uint8_t>({1, 0, 0, 1}), {1, 0, 0, 1}},
      // IEEE half: 0x3C00 = 1, 0xC000 = -2, 0x3800 = 0.5, 0x7BFF = 65504.
      {DataType::kFloat16, Bytes<uint16_t>({0x3C00, 0xC000, 0x3800, 0x7BFF}), {1, -2, 0.5, 65504}},
      // bfloat16 = the top half of a float: 0x3F80 = 1, 0xC000 = -2, 0x3F00 = 0.5.
      {DataType::kBfloat16, Bytes<uint16_t>({0x3F80, 0xC000, 0x3F00, 0x4120}), {1, -2, 0.5, 10}},
  };
}

// Fills the typed field ONNX uses for `c.dtype` (float_data, int32_data ...).
void SetTypedField(const Case& c, onnx::TensorProto* proto) {
  const size_t n = c.meaning.size();
  const char* raw = c.raw.data();
  auto read = [&](auto type_tag, size_t i) {
    decltype(type_tag) v;
    std::memcpy(&v, raw + i * sizeof(v), sizeof(v));
    return v;
  };
  for (size_t i = 0; i < n; ++i) {
    switch (c.dtype) {
      case DataType::kFloat: proto->add_float_data(read(float{}, i)); break;
      case DataType::kDouble: proto->add_double_data(read(double{}, i)); break;
      case DataType::kInt64: proto->add_int64_data(read(int64_t{}, i)); break;
      case DataType::kUint64: proto->add_uint64_data(read(uint64_t{}, i)); break;
      case DataType::kUint32: proto->add_uint64_data(read(uint32_t{}, i)); break;
      case DataType::kInt32: proto->add_int32_data(read(int32_t{}, i)); break;
      case DataType::kInt16: proto->add_int32_data(read(int16_t{}, i)); break;
      case DataType::kInt8: proto->add_int32_data(read(int8_t{}, i)); break;
      case DataType::kUint16:
      case DataType::kFloat16:
      case DataType::kBfloat16: proto->add_int32_data(read(uint16_t{}, i)); break;
      case DataType::kUint8:
      case DataType::kBool: proto->add_int32_data(read(uint8_t{}, i)); break;
      default: FAIL() << "no typed field for " << DataTypeName(c.dtype);
    }
  }
}

onnx::TensorProto BaseProto(DataType dtype, const std::vector<int64_t>& dims) {
  onnx::TensorProto proto;
  proto.set_name("t");
  proto.set_data_type(static_cast<int32_t>(dtype));
  for (int64_t d : dims) proto.add_dims(d);
  return proto;
}

void ExpectHolds(const Tensor& t, const Case& c) {
  EXPECT_EQ(t.dtype(), c.dtype);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 2}));
  ASSERT_EQ(t.byte_size(), c.raw.size());
  EXPECT_EQ(std::memcmp(t.data(), c.raw.data(), c.raw.size()), 0);
  for (size_t i = 0; i < c.meaning.size(); ++i) {
    EXPECT_EQ(t.GetAsDouble(static_cast<int64_t>(i)), c.meaning[i])
        << DataTypeName(c.dtype) << " element " << i;
  }
}

TEST(TensorProtoTest, EveryDtypeFromRawData) {
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(DataTypeName(c.dtype));
    onnx::TensorProto proto = BaseProto(c.dtype, {2, 2});
    proto.set_raw_data(c.raw);
    StatusOr<Tensor> t = TensorFromProto(proto, "tensor 't'");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ExpectHolds(*t, c);
  }
}

TEST(TensorProtoTest, EveryDtypeFromTypedFields) {
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(DataTypeName(c.dtype));
    onnx::TensorProto proto = BaseProto(c.dtype, {2, 2});
    SetTypedField(c, &proto);
    StatusOr<Tensor> t = TensorFromProto(proto, "tensor 't'");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ExpectHolds(*t, c);
  }
}

TEST(TensorProtoTest, EveryDtypeRoundTrips) {
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(DataTypeName(c.dtype));
    onnx::TensorProto typed = BaseProto(c.dtype, {2, 2});
    SetTypedField(c, &typed);
    const Tensor original = *TensorFromProto(typed, "t");
    onnx::TensorProto written;
    TensorToProto(original, "name", &written);
    EXPECT_EQ(written.name(), "name");
    EXPECT_EQ(written.data_type(), static_cast<int32_t>(c.dtype));
    EXPECT_EQ(written.raw_data(), c.raw);  // always written as raw data
    StatusOr<Tensor> back = TensorFromProto(written, "t");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ExpectHolds(*back, c);
  }
}

TEST(TensorProtoTest, ScalarAndEmptyTensors) {
  onnx::TensorProto scalar = BaseProto(DataType::kFloat, {});
  scalar.add_float_data(3.5f);
  StatusOr<Tensor> s = TensorFromProto(scalar, "t");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->shape().empty());
  EXPECT_EQ(s->GetAsDouble(0), 3.5);

  onnx::TensorProto empty = BaseProto(DataType::kFloat, {0, 3});
  StatusOr<Tensor> e = TensorFromProto(empty, "t");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->num_elements(), 0);
  EXPECT_EQ(e->shape(), (std::vector<int64_t>{0, 3}));
}

void ExpectRefused(const onnx::TensorProto& proto, StatusCode code, const std::string& message) {
  StatusOr<Tensor> t = TensorFromProto(proto, "initializer 'w'");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), code) << t.status().ToString();
  EXPECT_EQ(t.status().message(), message);
}

TEST(TensorProtoTest, RefusesBadElementTypes) {
  ExpectRefused(BaseProto(static_cast<DataType>(100), {1}), StatusCode::kInvalidModel,
                "initializer 'w' has invalid element type 100");
  ExpectRefused(BaseProto(DataType::kUndefined, {1}), StatusCode::kInvalidModel,
                "initializer 'w' has invalid element type 0");
  ExpectRefused(BaseProto(DataType::kString, {1}), StatusCode::kUnsupported,
                "initializer 'w' has element type string, which bnfold does not support");
  ExpectRefused(BaseProto(DataType::kComplex64, {1}), StatusCode::kUnsupported,
                "initializer 'w' has element type complex64, which bnfold does not support");
  ExpectRefused(BaseProto(static_cast<DataType>(17), {1}), StatusCode::kUnsupported,
                "initializer 'w' has element type float8e4m3fn, which bnfold does not support");
  ExpectRefused(BaseProto(static_cast<DataType>(22), {1}), StatusCode::kUnsupported,
                "initializer 'w' has element type int4, which bnfold does not support");
}

TEST(TensorProtoTest, RefusesDataThatDisagreesWithTheShape) {
  onnx::TensorProto raw = BaseProto(DataType::kFloat, {2, 3});
  raw.set_raw_data(std::string(20, '\0'));
  ExpectRefused(raw, StatusCode::kInvalidModel,
                "initializer 'w': raw_data has 20 bytes but shape [2,3] of float needs 24");
  raw.set_raw_data(std::string(28, '\0'));
  ExpectRefused(raw, StatusCode::kInvalidModel,
                "initializer 'w': raw_data has 28 bytes but shape [2,3] of float needs 24");

  onnx::TensorProto typed = BaseProto(DataType::kInt64, {2, 3});
  for (int i = 0; i < 7; ++i) typed.add_int64_data(i);
  ExpectRefused(typed, StatusCode::kInvalidModel,
                "initializer 'w' holds 7 elements but shape [2,3] needs 6");
  // The wrong typed field counts as no data.
  onnx::TensorProto wrong_field = BaseProto(DataType::kInt64, {2});
  wrong_field.add_int32_data(1);
  wrong_field.add_int32_data(2);
  ExpectRefused(wrong_field, StatusCode::kInvalidModel,
                "initializer 'w' holds 0 elements but shape [2] needs 2");
}

TEST(TensorProtoTest, RefusesBadDimsBeforeAllocating) {
  ExpectRefused(BaseProto(DataType::kFloat, {2, -1}), StatusCode::kInvalidModel,
                "initializer 'w': shape [2,-1] has a negative dimension");
  ExpectRefused(BaseProto(DataType::kFloat, {int64_t{1} << 32, int64_t{1} << 32}),
                StatusCode::kInvalidModel,
                "initializer 'w': shape [4294967296,4294967296] has more elements than fit in "
                "64 bits");
  // Fits in int64 elements but not in bytes.
  ExpectRefused(BaseProto(DataType::kDouble, {int64_t{1} << 61}), StatusCode::kInvalidModel,
                "initializer 'w': shape [2305843009213693952] is too large to allocate");
  onnx::TensorProto huge = BaseProto(DataType::kFloat, {int64_t{1} << 40});
  huge.add_float_data(1);
  ExpectRefused(huge, StatusCode::kInvalidModel,
                "initializer 'w' holds 1 elements but shape [1099511627776] needs 1099511627776");
}

TEST(TensorProtoTest, RefusesSegmentsAndUnresolvedExternalData) {
  onnx::TensorProto segmented = BaseProto(DataType::kFloat, {1});
  segmented.add_float_data(1);
  segmented.mutable_segment()->set_begin(0);
  ExpectRefused(segmented, StatusCode::kUnsupported,
                "initializer 'w' is segmented, which bnfold does not support");
  onnx::TensorProto external = BaseProto(DataType::kFloat, {1});
  external.set_data_location(onnx::TensorProto::EXTERNAL);
  ExpectRefused(external, StatusCode::kInternal, "initializer 'w' still refers to external data");
}

TEST(TensorProtoTest, TensorFilesRoundTrip) {
  testing::TempDir dir;
  const Case c = AllCases()[0];
  onnx::TensorProto proto = BaseProto(c.dtype, {2, 2});
  proto.set_raw_data(c.raw);
  const Tensor tensor = *TensorFromProto(proto, "t");

  ASSERT_TRUE(WriteTensorProtoFile(dir.File("t.pb"), "input_0", tensor).ok());
  StatusOr<NamedTensor> pb = ReadTensorFile(dir.File("t.pb"));
  ASSERT_TRUE(pb.ok()) << pb.status().ToString();
  EXPECT_EQ(pb->name, "input_0");
  ExpectHolds(pb->tensor, c);

  testing::WriteBytes(dir.File("t.npy"), *SerializeNpy(tensor));
  StatusOr<NamedTensor> npy = ReadTensorFile(dir.File("t.npy"));
  ASSERT_TRUE(npy.ok()) << npy.status().ToString();
  ExpectHolds(npy->tensor, c);

  testing::WriteBytes(dir.File("bad.pb"), "\xff\xff\xff");
  EXPECT_EQ(ReadTensorFile(dir.File("bad.pb")).status().message(),
            dir.File("bad.pb") + ": not a serialized ONNX TensorProto");
  EXPECT_EQ(ReadTensorFile(dir.File("missing.pb")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadTensorFile(dir.path()).status().message(),
            dir.path() + ": is a directory, not a file");
}

TEST(TensorProtoTest, ElementTypeNames) {
  EXPECT_EQ(ElementTypeName(1), "float");
  EXPECT_EQ(ElementTypeName(16), "bfloat16");
  EXPECT_EQ(ElementTypeName(19), "float8e5m2");
  EXPECT_EQ(ElementTypeName(23), "float4e2m1");
  EXPECT_EQ(ElementTypeName(99), "unknown (data_type 99)");
}

}  // namespace
}  // namespace bnfold::onnx_io
