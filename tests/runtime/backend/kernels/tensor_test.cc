// Data-movement kernels (kernels/transpose.cc, slice.cc, pad.cc, tile.cc,
// concat.cc, gather.cc) through the public Session API, against
// hand-computed results (and the ONNX spec's worked examples).
#include <gtest/gtest.h>

#include <limits>
#include <thread>

#include "tests/runtime/backend/kernels/kernel_test_util.h"

namespace bnfold {
namespace {

using test_util::Floats;
using test_util::Iota;
using test_util::MakeTensor;
using test_util::Open;
using test_util::RunModel;
using test_util::Values;

std::vector<NamedTensor> RunOk(const std::string& model, const std::vector<NamedTensor>& feeds) {
  auto session = Open(model);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  auto out = RunModel(**session, feeds);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : std::vector<NamedTensor>{};
}

TEST(SliceTest, NegativeStepsWalkBackwards) {
  // x = 0..19 as [4,5]. Rows from the last to the first (end = INT64_MIN
  // clamps to "before 0"), columns 4 and 2 (end 0 excluded).
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[4,5] x) => (float[4,2] y) {
      starts = Constant <value = int64[2] {-1, 4}> ()
      ends = Constant <value = int64[2] {-9223372036854775808, 0}> ()
      axes = Constant <value = int64[2] {0, 1}> ()
      steps = Constant <value = int64[2] {-1, -2}> ()
      y = Slice(x, starts, ends, axes, steps)
    })",
                   {{"x", Iota({4, 5})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{19, 17, 14, 12, 9, 7, 4, 2}));
}

TEST(SliceTest, StartsAndEndsClampToTheAxis) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,5] x) => (float[2,2] y) {
      starts = Constant <value = int64[1] {-100}> ()
      ends = Constant <value = int64[1] {100}> ()
      axes = Constant <value = int64[1] {-1}> ()
      steps = Constant <value = int64[1] {3}> ()
      y = Slice(x, starts, ends, axes, steps)
    })",
                   {{"x", Iota({2, 5})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{0, 3, 5, 8}));
}

TEST(SliceTest, OpsetOneTakesAttributes) {
  auto out = RunOk(R"(
    <ir_version: 3, opset_import: ["" : 9]>
    g (float[3,2] x) => (float[2,1] y) {
      y = Slice <starts = [1, 1], ends = [1000, 2], axes = [0, 1]> (x)
    })",
                   {{"x", Iota({3, 2})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{3, 5}));
}

TEST(SliceTest, StartsFedAtRunTime) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[6] x, int64[1] starts, int64[1] ends) => (float[2] y) {
      y = Slice(x, starts, ends)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto one = [](int64_t v) { return MakeTensor<int64_t>(DataType::kInt64, {1}, {v}); };
  auto out = RunModel(**session, {{"x", Iota({6})}, {"starts", one(3)}, {"ends", one(5)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{3, 4}));
  // Same session, other starts: the offsets follow the values.
  out = RunModel(**session, {{"x", Iota({6})}, {"starts", one(-2)}, {"ends", one(6)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{4, 5}));
  // A length the model does not declare is refused, not written past.
  out = RunModel(**session, {{"x", Iota({6})}, {"starts", one(0)}, {"ends", one(5)}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(SliceTest, RunTimeStartsAreKeptPerConcurrentRun) {
  // The offset tables built from fed starts live in each run's own state:
  // concurrent runs with different starts must not see each other's.
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[64] x, int64[1] starts, int64[1] ends) => (float[32] y) {
      y = Slice(x, starts, ends)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<int> failures(2, 0);
  auto worker = [&](int id) {
    const int64_t start = id * 32;
    for (int i = 0; i < 200; ++i) {
      auto out = RunModel(**session,
                          {{"x", Iota({64})},
                           {"starts", MakeTensor<int64_t>(DataType::kInt64, {1}, {start})},
                           {"ends", MakeTensor<int64_t>(DataType::kInt64, {1}, {start + 32})}});
      if (!out.ok() || Values<float>((*out)[0].tensor)[0] != static_cast<float>(start)) {
        ++failures[id];
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures, (std::vector<int>{0, 0}));
}

constexpr char kGather[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[3,2] data, int64[2] indices) => (float[2,2] y) {
    y = Gather <axis = 0> (data, indices)
  })";

TEST(GatherTest, NegativeIndicesCountFromTheEnd) {
  auto out = RunOk(kGather, {{"data", Floats({3, 2}, {1, 2, 3, 4, 5, 6})},
                             {"indices", MakeTensor<int64_t>(DataType::kInt64, {2}, {-1, 0})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{5, 6, 1, 2}));
}

TEST(GatherTest, InnerAxisWithTwoDimensionalInt32Indices) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] data, int32[2,2] indices) => (float[2,2,2] y) {
      y = Gather <axis = -1> (data, indices)
    })",
                   {{"data", Iota({2, 3})},
                    {"indices", MakeTensor<int32_t>(DataType::kInt32, {2, 2}, {2, -3, 1, 1})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{2, 0, 1, 1, 5, 3, 4, 4}));
}

TEST(GatherTest, OutOfRangeIndexAtRunTimeIsAnErrorNamingTheNode) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[3,2] data, int64[2] indices) => (float[2,2] y) {
      y = Gather <axis = 0> (data, indices)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  for (int64_t bad : std::vector<int64_t>{3, -4, std::numeric_limits<int64_t>::max()}) {
    auto out = RunModel(**session, {{"data", Iota({3, 2})},
                               {"indices", MakeTensor<int64_t>(DataType::kInt64, {2}, {0, bad})}});
    ASSERT_FALSE(out.ok()) << bad;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(out.status().message().find("Gather"), std::string::npos) << out.status().message();
    EXPECT_NE(out.status().message().find("out of range"), std::string::npos);
  }
}

TEST(GatherTest, OutOfRangeConstantIndexFailsAtCompileTime) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[3,2] data) => (float[2] y) {
      indices = Constant <value = int64 {5}> ()
      y = Gather <axis = 0> (data, indices)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto out = RunModel(**session, {{"data", Iota({3, 2})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Gather"), std::string::npos) << out.status().message();
}

// The ONNX spec's Pad example input.
const std::vector<float> kPadInput = {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f};

std::string PadModel(const std::string& mode) {
  return R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[3,2] x) => (float[3,4] y) {
      pads = Constant <value = int64[4] {0, 2, 0, 0}> ()
      y = Pad <mode = ")" +
         mode + R"("> (x, pads)
    })";
}

TEST(PadTest, ReflectMirrorsWithoutTheEdge) {
  auto out = RunOk(PadModel("reflect"), {{"x", Floats({3, 2}, kPadInput)}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor),
            (std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f,
                                4.5f, 5.7f}));
}

TEST(PadTest, EdgeRepeatsTheBorder) {
  auto out = RunOk(PadModel("edge"), {{"x", Floats({3, 2}, kPadInput)}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor),
            (std::vector<float>{1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f,
                                4.5f, 5.7f}));
}

TEST(PadTest, ReflectFurtherThanTheAxisBouncesBack) {
  // [1,2,3] reflected by 4 on the left: ... 2 3 2 1 2 3: index -4 -> 2 -> 3.
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[3] x) => (float[8] y) {
      pads = Constant <value = int64[2] {4, 1}> ()
      y = Pad <mode = "reflect"> (x, pads)
    })",
                   {{"x", Floats({3}, {1, 2, 3})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{1, 2, 3, 2, 1, 2, 3, 2}));
}

TEST(PadTest, ConstantValueAndNegativePadsCrop) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[3,2] y) {
      pads = Constant <value = int64[4] {1, -1, 0, 0}> ()
      value = Constant <value = float {9}> ()
      y = Pad(x, pads, value)
    })",
                   {{"x", Iota({2, 3})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{9, 9, 1, 2, 4, 5}));
}

TEST(PadTest, WrapModeInOpset19) {
  auto out = RunOk(R"(
    <ir_version: 9, opset_import: ["" : 19]>
    g (float[3] x) => (float[7] y) {
      pads = Constant <value = int64[2] {2, 2}> ()
      y = Pad <mode = "wrap"> (x, pads)
    })",
                   {{"x", Floats({3}, {1, 2, 3})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{2, 3, 1, 2, 3, 1, 2}));
}

TEST(PadTest, PadsFedAtRunTimeUseTheDeclaredShape) {
  auto session = Open(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[3] x, int64[2] pads) => (float[5] y) {
      y = Pad <mode = "edge"> (x, pads)
    })");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto pads = [](int64_t b, int64_t e) {
    return MakeTensor<int64_t>(DataType::kInt64, {2}, {b, e});
  };
  auto out = RunModel(**session, {{"x", Floats({3}, {1, 2, 3})}, {"pads", pads(2, 0)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{1, 1, 1, 2, 3}));
  out = RunModel(**session, {{"x", Floats({3}, {1, 2, 3})}, {"pads", pads(0, 2)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{1, 2, 3, 3, 3}));
  out = RunModel(**session, {{"x", Floats({3}, {1, 2, 3})}, {"pads", pads(1, 0)}});
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(TransposeTest, DefaultReversesTheAxes) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[3,2] y, float[3,2] z) {
      y = Transpose(x)
      z = Transpose <perm = [1, 0]> (x)
    })",
                   {{"x", Iota({2, 3})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(Values<float>(out[1].tensor), Values<float>(out[0].tensor));
}

TEST(TransposeTest, ThreeDimensionalPermutation) {
  // y[i][j][k] = x[k][i][j] for perm [2, 0, 1]... output axis 0 is input
  // axis 2: y[a][b][c] = x[b][c][a].
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3,4] x) => (float[4,2,3] y) {
      y = Transpose <perm = [2, 0, 1]> (x)
    })",
                   {{"x", Iota({2, 3, 4})}});
  ASSERT_EQ(out.size(), 1u);
  std::vector<float> expected;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c) expected.push_back(static_cast<float>(b * 12 + c * 4 + a));
  EXPECT_EQ(Values<float>(out[0].tensor), expected);
}

TEST(TransposeTest, LargeTransposesMatchIndexArithmetic) {
  // Big enough for the tiled path (partial tiles included): NCHW -> NHWC
  // and a batched 2-D transpose, against index arithmetic.
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,20,9,11] x, float[2,40,50] m) => (float[2,9,11,20] y, float[2,50,40] z) {
      y = Transpose <perm = [0, 2, 3, 1]> (x)
      z = Transpose <perm = [0, 2, 1]> (m)
    })",
                   {{"x", Iota({2, 20, 9, 11})}, {"m", Iota({2, 40, 50})}});
  ASSERT_EQ(out.size(), 2u);
  std::vector<float> y, z;
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 9; ++h)
      for (int w = 0; w < 11; ++w)
        for (int c = 0; c < 20; ++c) y.push_back(static_cast<float>(((n * 20 + c) * 9 + h) * 11 + w));
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 50; ++j)
      for (int i = 0; i < 40; ++i) z.push_back(static_cast<float>((n * 40 + i) * 50 + j));
  EXPECT_EQ(Values<float>(out[0].tensor), y);
  EXPECT_EQ(Values<float>(out[1].tensor), z);
}

TEST(ConcatTest, MiddleAxisInt64) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (int64[2,1] a, int64[2,2] b) => (int64[2,3] y) {
      y = Concat <axis = -1> (a, b)
    })",
                   {{"a", MakeTensor<int64_t>(DataType::kInt64, {2, 1}, {1, 2})},
                    {"b", MakeTensor<int64_t>(DataType::kInt64, {2, 2}, {3, 4, 5, 6})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<int64_t>(out[0].tensor), (std::vector<int64_t>{1, 3, 4, 2, 5, 6}));
}

TEST(SplitTest, NumOutputsSplitsUnevenlyInOpset18) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 18]>
    g (float[5] x) => (float[2] a, float[2] b, float[1] c) {
      a, b, c = Split <num_outputs = 3> (x)
    })",
                   {{"x", Iota({5})}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{0, 1}));
  EXPECT_EQ(Values<float>(out[1].tensor), (std::vector<float>{2, 3}));
  EXPECT_EQ(Values<float>(out[2].tensor), (std::vector<float>{4}));
}

TEST(SplitTest, SplitInputOnAxisOne) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,1] a, float[2,2] b) {
      split = Constant <value = int64[2] {1, 2}> ()
      a, b = Split <axis = 1> (x, split)
    })",
                   {{"x", Iota({2, 3})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Values<float>(out[0].tensor), (std::vector<float>{0, 3}));
  EXPECT_EQ(Values<float>(out[1].tensor), (std::vector<float>{1, 2, 4, 5}));
}

TEST(TileTest, RepeatsEachAxis) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,2] x) => (float[4,4] y) {
      repeats = Constant <value = int64[2] {2, 2}> ()
      y = Tile(x, repeats)
    })",
                   {{"x", Floats({2, 2}, {1, 2, 3, 4})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor),
            (std::vector<float>{1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}));
}

TEST(DepthToSpaceTest, DcrAndCrdMatchTheSpecExamples) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,8,2,3] x) => (float[1,2,4,6] dcr, float[1,2,4,6] crd) {
      dcr = DepthToSpace <blocksize = 2> (x)
      crd = DepthToSpace <blocksize = 2, mode = "CRD"> (x)
    })",
                   {{"x", Iota({1, 8, 2, 3})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Values<float>(out[0].tensor),
            (std::vector<float>{0,  12, 1,  13, 2,  14, 24, 36, 25, 37, 26, 38, 3,  15, 4,  16,
                                5,  17, 27, 39, 28, 40, 29, 41, 6,  18, 7,  19, 8,  20, 30, 42,
                                31, 43, 32, 44, 9,  21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47}));
  EXPECT_EQ(Values<float>(out[1].tensor),
            (std::vector<float>{0,  6,  1,  7,  2,  8,  12, 18, 13, 19, 14, 20, 3,  9,  4,  10,
                                5,  11, 15, 21, 16, 22, 17, 23, 24, 30, 25, 31, 26, 32, 36, 42,
                                37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47}));
}

TEST(SpaceToDepthTest, UndoesDepthToSpaceDcr) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,8,2,3] x) => (float[1,8,2,3] y) {
      s = DepthToSpace <blocksize = 2> (x)
      y = SpaceToDepth <blocksize = 2> (s)
    })",
                   {{"x", Iota({1, 8, 2, 3})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values<float>(out[0].tensor), Values<float>(Iota({1, 8, 2, 3})));
}

TEST(DataMovementTest, BoolAndFloat16MoveAsRawBytes) {
  auto out = RunOk(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (bool[2,2] b, float16[2,2] h) => (bool[2,2] bt, float16[2,2] ht) {
      bt = Transpose(b)
      ht = Transpose(h)
    })",
                   {{"b", MakeTensor<uint8_t>(DataType::kBool, {2, 2}, {1, 0, 0, 0})},
                    {"h", MakeTensor<uint16_t>(DataType::kFloat16, {2, 2},
                                               {0x3c00, 0x4000, 0x4200, 0x4400})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Values<uint8_t>(out[0].tensor), (std::vector<uint8_t>{1, 0, 0, 0}));
  EXPECT_EQ(Values<uint16_t>(out[1].tensor),
            (std::vector<uint16_t>{0x3c00, 0x4200, 0x4000, 0x4400}));
}

}  // namespace
}  // namespace bnfold
