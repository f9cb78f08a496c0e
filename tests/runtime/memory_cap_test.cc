// SessionOptions::max_memory_bytes: a plan whose constants, arena and
// scratchpad pass the cap is refused before it is allocated, naming its
// biggest consumers; under the cap it runs as before.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "bnfold/session.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold {
namespace {

Tensor Floats(std::vector<int64_t> dims, uint32_t seed) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, std::move(dims));
  const std::vector<float> v = testing::SeededValues(t.num_elements(), seed);
  std::copy(v.begin(), v.end(), t.data_as<float>());
  return t;
}

TEST(MemoryCapTest, DefaultRefusesTerabytesAsASumOfAllowedTensors) {
  const std::string bytes = testing::ModelBytesFromText(testing::ManyLargeTensorsText(200));
  EXPECT_LT(bytes.size(), 20000u);
  auto session = Session::OpenFromBytes(bytes, {.threads = 1});
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<NamedTensor> out;
  const Status s = (*session)->Run({{"x", Floats({1}, 1)}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  const std::string& m = s.message();
  EXPECT_NE(m.find("over the memory cap of 64.0 GiB"), std::string::npos) << m;
  EXPECT_NE(m.find("TiB"), std::string::npos) << m;  // the plan's total
  // The biggest consumers: Expand outputs of 8 GiB each, by name.
  EXPECT_NE(m.find("Expand"), std::string::npos) << m;
  EXPECT_NE(m.find("output 'e0': 8.0 GiB (arena)"), std::string::npos) << m;
}

// x [N, 256] -> Relu -> Relu: two activations of N * 1 KiB alive at once.
constexpr char kRelus[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[N, 256] x) => (float[N, 256] y) {
    r = Relu(x)
    y = Relu(r)
  })";

TEST(MemoryCapTest, ArenaOverTheCapNamesTheNodesAndUnderItRuns) {
  const std::string bytes = testing::ModelBytesFromText(kRelus);
  SessionOptions options{.threads = 1};
  options.max_memory_bytes = 64 << 10;  // 64 KiB
  auto session = Session::OpenFromBytes(bytes, options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  // Batch 16: 16 KiB per activation, under the cap; the outputs are right.
  const Tensor small = Floats({16, 256}, 2);
  std::vector<NamedTensor> out;
  ASSERT_TRUE((*session)->Run({{"x", small}}, &out).ok());
  for (int64_t i = 0; i < small.num_elements(); ++i) {
    ASSERT_EQ(out[0].tensor.data_as<float>()[i], std::max(0.0f, small.data_as<float>()[i]));
  }
  // Batch 64: 64 KiB each, 128 KiB together: refused, naming the Relus.
  out.clear();
  const Status s = (*session)->Run({{"x", Floats({64, 256}, 3)}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the plan needs 128.0 KiB (arena 128.0 KiB"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("over the memory cap of 64.0 KiB"), std::string::npos);
  EXPECT_NE(s.message().find("Relu #1 output 'y': 64.0 KiB (arena)"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("Relu #0 output 'r': 64.0 KiB (arena)"), std::string::npos);
  // The refused shape did not break the session: batch 16 still runs.
  out.clear();
  EXPECT_TRUE((*session)->Run({{"x", small}}, &out).ok());
  // No cap: batch 64 runs.
  options.max_memory_bytes = 0;
  auto uncapped = Session::OpenFromBytes(bytes, options);
  ASSERT_TRUE(uncapped.ok());
  out.clear();
  EXPECT_TRUE((*uncapped)->Run({{"x", Floats({64, 256}, 3)}}, &out).ok());
}

TEST(MemoryCapTest, ConstantsCountAgainstTheCap) {
  // w: 64 x 64 floats, 16 KiB.
  const std::string text =
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[1, 64] x) => (float[1, 64] y) <" +
      testing::SeededInitializerText("w", {64, 64}, 4) + "> { y = MatMul(x, w) }";
  const std::string bytes = testing::ModelBytesFromText(text);
  SessionOptions options{.threads = 1};
  options.max_memory_bytes = 8 << 10;
  auto session = Session::OpenFromBytes(bytes, options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<NamedTensor> out;
  const Status s = (*session)->Run({{"x", Floats({1, 64}, 5)}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("over the memory cap of 8.0 KiB"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("'w': 16.0 KiB (constant)"), std::string::npos) << s.message();

  // With room for the weight (and its reordered copy), the product is right.
  options.max_memory_bytes = 1 << 20;
  auto roomy = Session::OpenFromBytes(bytes, options);
  ASSERT_TRUE(roomy.ok());
  const Tensor x = Floats({1, 64}, 5);
  out.clear();
  ASSERT_TRUE((*roomy)->Run({{"x", x}}, &out).ok()) ;
  const std::vector<float> w = testing::SeededValues(64 * 64, 4, -0.3f, 0.3f);
  for (int j = 0; j < 64; ++j) {
    double want = 0;
    for (int k = 0; k < 64; ++k) want += double{x.data_as<float>()[k]} * w[k * 64 + j];
    EXPECT_NEAR(out[0].tensor.data_as<float>()[j], want, 1e-4) << j;
  }
}

// Constants the planner folds at compile time are refused before they are
// allocated: 8 ConstantOfShape of 1 MiB with a cap of 3 MiB.
TEST(MemoryCapTest, FoldedConstantsAreRefusedBeforeAllocation) {
  std::string body;
  std::string sum = "x";
  for (int i = 0; i < 8; ++i) {
    body += "  k" + std::to_string(i) +
            " = ConstantOfShape <value = float[1] {1.0}> (s)\n";
    const std::string next = i == 7 ? "y" : "t" + std::to_string(i);
    body += "  " + next + " = Add(" + sum + ", k" + std::to_string(i) + ")\n";
    sum = next;
  }
  const std::string text =
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[262144] x) => (float[262144] y) <int64[1] s = {262144}> {\n" + body + "}";
  SessionOptions options{.threads = 1, .optimize = false};
  options.max_memory_bytes = 3 << 20;
  auto session = Session::OpenFromBytes(testing::ModelBytesFromText(text), options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<NamedTensor> out;
  const Status s = (*session)->Run({{"x", Floats({262144}, 6)}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("over the memory cap of 3.0 MiB"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("ConstantOfShape"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("1.0 MiB (constant)"), std::string::npos) << s.message();
  // Uncapped, y = x + 8.
  options.max_memory_bytes = 0;
  auto uncapped = Session::OpenFromBytes(testing::ModelBytesFromText(text), options);
  ASSERT_TRUE(uncapped.ok());
  const Tensor x = Floats({262144}, 6);
  out.clear();
  ASSERT_TRUE((*uncapped)->Run({{"x", x}}, &out).ok());
  for (int64_t i = 0; i < x.num_elements(); i += 4099) {
    EXPECT_FLOAT_EQ(out[0].tensor.data_as<float>()[i], x.data_as<float>()[i] + 8.0f);
  }
}

}  // namespace
}  // namespace bnfold
