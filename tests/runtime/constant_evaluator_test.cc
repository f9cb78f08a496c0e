// The runtime's ConstantEvaluator (runtime/constant_evaluator.h): one node
// of constants evaluated by the backend's kernels, as fold-constants uses it,
// against values computed here; and through Session, that what
// fold-constants stores is bit for bit what the unfolded graph computes.
#include "runtime/constant_evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bnfold/session.h"
#include "tests/test_util/onnx_text.h"

namespace bnfold {
namespace {

ir::ConstTensorPtr FloatTensor(const std::vector<int64_t>& shape, const std::vector<float>& v) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, shape);
  for (size_t i = 0; i < v.size(); ++i) t.data_as<float>()[i] = v[i];
  return std::make_shared<const Tensor>(std::move(t));
}

ir::ConstTensorPtr Int64Tensor(const std::vector<int64_t>& v) {
  Tensor t = *Tensor::Allocate(DataType::kInt64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int64_t>()[i] = v[i];
  return std::make_shared<const Tensor>(std::move(t));
}

// A graph holding one node of `op` over values named in0, in1, ... and
// outputs out0, out1, ...; the evaluator needs only the node.
struct OneNode {
  ir::Graph graph;
  ir::Node* node = nullptr;

  OneNode(const std::string& op, size_t inputs, size_t outputs, int64_t opset = 13) {
    std::vector<ir::Value*> in, out;
    for (size_t i = 0; i < inputs; ++i) in.push_back(*graph.AddValue("in" + std::to_string(i)));
    for (size_t i = 0; i < outputs; ++i) out.push_back(*graph.AddValue("out" + std::to_string(i)));
    node = *graph.AddNode(ir::OpKindFromName("", op), op, "", op + "_node", opset, in, out);
  }
  void SetInts(const std::string& name, std::vector<int64_t> values) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kInts;
    a.ints = std::move(values);
    node->SetAttribute(std::move(a));
  }
};

StatusOr<std::vector<ir::ConstTensorPtr>> Evaluate(const OneNode& n,
                                                   std::vector<ir::ConstTensorPtr> inputs,
                                                   int64_t max_bytes = int64_t{1} << 30) {
  return MakeKernelConstantEvaluator()->Evaluate(*n.node, inputs, max_bytes);
}

TEST(KernelConstantEvaluator, TransposesAsNumpyDoes) {
  OneNode n("Transpose", 1, 1);
  n.SetInts("perm", {1, 0});
  auto out = Evaluate(n, {FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  const Tensor& t = *(*out)[0];
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{3, 2}));
  const std::vector<float> want = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data_as<float>()[i], want[i]) << i;
}

TEST(KernelConstantEvaluator, SplitGivesEveryOutput) {
  OneNode n("Split", 2, 2);
  auto out = Evaluate(n, {FloatTensor({5}, {1, 2, 3, 4, 5}), Int64Tensor({2, 3})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0]->shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ((*out)[1]->shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ((*out)[1]->data_as<float>()[0], 3.0f);
  EXPECT_EQ((*out)[1]->data_as<float>()[2], 5.0f);
}

TEST(KernelConstantEvaluator, IdentitySharesItsInput) {
  OneNode n("Identity", 1, 1);
  const ir::ConstTensorPtr in = FloatTensor({3}, {1, 2, 3});
  auto out = Evaluate(n, {in});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0], in);
}

TEST(KernelConstantEvaluator, ShapeAndConstantOfShape) {
  OneNode shape("Shape", 1, 1);
  auto dims = Evaluate(shape, {FloatTensor({2, 3, 4}, std::vector<float>(24, 0.0f))});
  ASSERT_TRUE(dims.ok()) << dims.status().ToString();
  ASSERT_EQ((*dims)[0]->dtype(), DataType::kInt64);
  EXPECT_EQ((*dims)[0]->data_as<int64_t>()[2], 4);
  OneNode fill("ConstantOfShape", 1, 1, 13);
  auto filled = Evaluate(fill, {(*dims)[0]});
  ASSERT_TRUE(filled.ok()) << filled.status().ToString();
  EXPECT_EQ((*filled)[0]->shape(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ((*filled)[0]->data_as<float>()[23], 0.0f);
}

TEST(KernelConstantEvaluator, RefusesAnOutputOverTheLimitBeforeAllocatingIt) {
  // 4 MiB of floats against a limit of 1 MiB.
  OneNode fill("ConstantOfShape", 1, 1);
  auto out = Evaluate(fill, {Int64Tensor({1024, 1024})}, int64_t{1} << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("more than the limit of 1048576"), std::string::npos)
      << out.status().message();
}

TEST(KernelConstantEvaluator, UnknownOpSaysSo) {
  ir::Graph graph;
  ir::Value* in = *graph.AddValue("x");
  ir::Value* out = *graph.AddValue("y");
  ir::Node* node = *graph.AddNode(ir::OpKind::kUnknown, "Frobnicate", "", "f", 13, {in}, {out});
  auto result = MakeKernelConstantEvaluator()->Evaluate(*node, {FloatTensor({1}, {1})}, 1 << 20);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("not supported"), std::string::npos)
      << result.status().message();
}

// fold-constants stores what the runtime computes: the optimized session's
// constant is the unoptimized session's run-time value, bit for bit, even
// where float32 evaluation and a double evaluation rounded once differ.
TEST(KernelConstantEvaluator, FoldedConstantsAreBitwiseWhatTheRuntimeComputes) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(0.1f, 3.0f);
  std::vector<float> v(64);
  for (float& x : v) x = dist(rng);
  const std::string bytes = testing::ModelBytesFromText(
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[64] X) => (float[64] Y) <" +
      testing::InitializerText("V", {64}, v) + ", " + testing::InitializerText("E", {}, {1e-3f}) +
      ", " + testing::InitializerText("Three", {}, {3.0f}) +
      "> {\n"
      "  VE = Add (V, E)\n  SD = Sqrt (VE)\n  R = Reciprocal (SD)\n  P = Pow (R, Three)\n"
      "  Y = Mul (X, P)\n}");
  auto folded = Session::OpenFromBytes(bytes, {.threads = 1});
  auto plain = Session::OpenFromBytes(bytes, {.threads = 1, .optimize = false});
  ASSERT_TRUE(folded.ok() && plain.ok());
  std::vector<float> ones(64, 1.0f);
  std::vector<NamedTensor> feed = {{"X", Tensor::Wrap(DataType::kFloat, {64}, ones.data())}};
  std::vector<NamedTensor> a, b;
  ASSERT_TRUE((*folded)->Run(feed, &a).ok());
  ASSERT_TRUE((*plain)->Run(feed, &b).ok());
  for (int i = 0; i < 64; ++i) EXPECT_EQ(a[0].tensor.data_as<float>()[i], b[0].tensor.data_as<float>()[i]) << i;
}

}  // namespace
}  // namespace bnfold
