#include "runtime/common/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace bnfold {
namespace {

// A .npy file written by hand the way NumPy's format 1.0 lays it out:
// magic, version, little-endian header length, a dict padded with spaces
// and ended by '\n' so the data starts at a multiple of 64.
std::string NpyFile(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) {
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  return out + header + data;
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

TEST(NpyTest, ParsesWhatNumPyWrites) {
  // np.arange(6, dtype=np.float32).reshape(2, 3); np.save(...)
  const std::string file =
      NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
              Bytes<float>({0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(file.size(), 128u + 24u);  // NumPy pads the header to 128 bytes here
  StatusOr<Tensor> t = ParseNpy(file, "x.npy");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->dtype(), DataType::kFloat);
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t->data_as<float>()[i], i);
}

TEST(NpyTest, ParsesVersion2ScalarsAndOneDim) {
  StatusOr<Tensor> v2 = ParseNpy(
      NpyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
              Bytes<int64_t>({-1, 0, 1 << 20}), 2),
      "v2");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(v2->data_as<int64_t>()[2], 1 << 20);

  StatusOr<Tensor> scalar = ParseNpy(
      NpyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", Bytes<double>({2.5})),
      "s");
  ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
  EXPECT_TRUE(scalar->shape().empty());
  EXPECT_EQ(scalar->data_as<double>()[0], 2.5);

  StatusOr<Tensor> empty = ParseNpy(
      NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", ""), "e");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->num_elements(), 0);
}

TEST(NpyTest, RoundTripsEveryNumPyDtype) {
  struct Case {
    DataType dtype;
    const char* descr;  // what NumPy writes for it
    std::string data;   // 4 elements
  };
  const std::vector<Case> cases = {
      {DataType::kFloat, "<f4", Bytes<float>({1.5f, -2, 0, 3})},
      {DataType::kDouble, "<f8", Bytes<double>({1.5, -2, 0, 1e300})},
      {DataType::kFloat16, "<f2", Bytes<uint16_t>({0x3C00, 0xC000, 0, 0x7BFF})},
      {DataType::kInt8, "|i1", Bytes<int8_t>({-128, 127, 0, 1})},
      {DataType::kInt16, "<i2", Bytes<int16_t>({-32768, 32767, 0, 1})},
      {DataType::kInt32, "<i4", Bytes<int32_t>({-5, 1 << 30, 0, 1})},
      {DataType::kInt64, "<i8", Bytes<int64_t>({-5, int64_t{1} << 50, 0, 1})},
      {DataType::kUint8, "|u1", Bytes<uint8_t>({255, 0, 1, 2})},
      {DataType::kUint16, "<u2", Bytes<uint16_t>({65535, 0, 1, 2})},
      {DataType::kUint32, "<u4", Bytes<uint32_t>({4000000000u, 0, 1, 2})},
      {DataType::kUint64, "<u8", Bytes<uint64_t>({uint64_t{1} << 63, 0, 1, 2})},
      {DataType::kBool, "|b1", Bytes<uint8_t>({1, 0, 0, 1})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(DataTypeName(c.dtype));
    // NumPy's bytes parse...
    const std::string numpy_file =
        NpyFile(std::string("{'descr': '") + c.descr +
                    "', 'fortran_order': False, 'shape': (2, 2), }",
                c.data);
    StatusOr<Tensor> parsed = ParseNpy(numpy_file, "a.npy");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->dtype(), c.dtype);
    ASSERT_EQ(parsed->byte_size(), c.data.size());
    EXPECT_EQ(std::memcmp(parsed->data(), c.data.data(), c.data.size()), 0);
    // ...and what we write is byte for byte what NumPy writes.
    StatusOr<std::string> written = SerializeNpy(*parsed);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    EXPECT_EQ(*written, numpy_file);
  }
}

TEST(NpyTest, SerializeRefusesTypesNumPyLacks) {
  Tensor t = *Tensor::Allocate(DataType::kBfloat16, {2});
  StatusOr<std::string> bytes = SerializeNpy(t);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(bytes.status().message(), "NumPy has no element type for bfloat16");
}

void ExpectRefused(const std::string& bytes, StatusCode code, const std::string& message) {
  StatusOr<Tensor> t = ParseNpy(bytes, "x.npy");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), code) << t.status().ToString();
  EXPECT_EQ(t.status().message(), message);
}

const std::string kSixFloats = Bytes<float>({0, 1, 2, 3, 4, 5});

TEST(NpyTest, RefusesMalformedFiles) {
  ExpectRefused("", StatusCode::kInvalidArgument, "x.npy: not a NumPy .npy file");
  ExpectRefused("PK\x03\x04 not numpy", StatusCode::kInvalidArgument,
                "x.npy: not a NumPy .npy file");
  ExpectRefused(std::string("\x93NUMPY\x04\x00\x10\x00", 10), StatusCode::kInvalidArgument,
                "x.npy: unsupported .npy version 4");
  ExpectRefused(std::string("\x93NUMPY\x02\x00\x10", 9) + "x", StatusCode::kInvalidArgument,
                "x.npy: truncated .npy header");
  // Header length beyond the file.
  ExpectRefused(std::string("\x93NUMPY\x01\x00\xff\xff{'descr'", 17),
                StatusCode::kInvalidArgument, "x.npy: truncated .npy header");
  ExpectRefused(NpyFile("{'fortran_order': False, 'shape': (2, 3), }", kSixFloats),
                StatusCode::kUnsupported,
                "x.npy: .npy element type '' (need little-endian numeric)");
  ExpectRefused(NpyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
                        kSixFloats),
                StatusCode::kUnsupported,
                "x.npy: .npy element type '>f4' (need little-endian numeric)");
  ExpectRefused(NpyFile("{'descr': '<U4', 'fortran_order': False, 'shape': (2, 3), }",
                        kSixFloats),
                StatusCode::kUnsupported,
                "x.npy: .npy element type '<U4' (need little-endian numeric)");
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                        kSixFloats),
                StatusCode::kUnsupported,
                "x.npy: Fortran-ordered .npy arrays are not supported");
  ExpectRefused(NpyFile("{'descr': '<f4', 'shape': (2, 3), }", kSixFloats),
                StatusCode::kInvalidArgument, "x.npy: .npy header has no fortran_order");
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': False, }", kSixFloats),
                StatusCode::kInvalidArgument, "x.npy: .npy header has no shape");
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
                        kSixFloats),
                StatusCode::kInvalidArgument, "x.npy: bad .npy shape (2, -3)");
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3x), }",
                        kSixFloats),
                StatusCode::kInvalidArgument, "x.npy: bad .npy shape (2, 3x)");
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                        kSixFloats.substr(4)),
                StatusCode::kInvalidArgument,
                "x.npy: .npy data has 20 bytes, shape [2,3] needs 24");
}

TEST(NpyTest, RefusesHugeShapesWithoutAllocating) {
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (4294967296, 4294967296), }",
                        kSixFloats),
                StatusCode::kInvalidArgument,
                "x.npy: shape [4294967296,4294967296] has more elements than fit in 64 bits");
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }",
                        kSixFloats),
                StatusCode::kInvalidArgument,
                "x.npy: .npy data has 24 bytes, shape [1099511627776] needs 4398046511104");
  ExpectRefused(NpyFile("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1234567890123456789,), }",
                        kSixFloats),
                StatusCode::kInvalidArgument,
                "x.npy: bad .npy shape (1234567890123456789,)");
}

}  // namespace
}  // namespace bnfold
