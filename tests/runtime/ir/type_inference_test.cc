// bnfold's own type and shape propagation (type_inference.h, op_rules/) on
// hand-written graphs: symbolic dims, broadcasting, negative axes, unknown
// ranks and element types, shape computations followed through their values,
// opset-18 operand changes, and declarations the graph contradicts.
#include "runtime/ir/type_inference.h"

#include <gtest/gtest.h>

#include <string>

#include "runtime/onnx/loader.h"
#include "tests/test_util/onnx_text.h"

namespace bnfold {
namespace {

using ir::TypeToString;

StatusOr<onnx_io::LoadedModel> Load(const std::string& text, bool strict = false) {
  onnx_io::LoadOptions options;
  options.strict = strict;
  return onnx_io::LoadModelBytes(testing::ModelBytesFromText(text), "", "types_test", options);
}

// "float[N,3]" for the value `name` of `model`.
std::string TypeOf(const onnx_io::LoadedModel& model, const std::string& name) {
  const ir::Value* v = model.model.graph->FindValue(name);
  return v ? TypeToString(v->dtype(), v->shape()) : "(no value " + name + ")";
}

TEST(TypeInference, SymbolicBatchThroughAResNetStem) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[N,3,224,224] x, float[64,3,7,7] w, float[10,64] fc) => (float[N,10] y) {
  c = Conv <strides = [2, 2], pads = [3, 3, 3, 3]> (x, w)
  p = MaxPool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (c)
  g = GlobalAveragePool(p)
  f = Flatten(g)
  y = Gemm <transB = 1> (f, fc)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "c"), "float[N,64,112,112]");
  EXPECT_EQ(TypeOf(*m, "p"), "float[N,64,56,56]");
  EXPECT_EQ(TypeOf(*m, "g"), "float[N,64,1,1]");
  EXPECT_EQ(TypeOf(*m, "f"), "float[N,64]");
  EXPECT_EQ(TypeOf(*m, "y"), "float[N,10]");
  EXPECT_TRUE(m->warnings.empty());
}

TEST(TypeInference, Broadcasting) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[N,1,5] a, float[3,1] b, float[P,4] c, float[Q,4] d, float[N,3,5] e) =>
  (float[N,3,5] s, float[?,4] t, float[N,3,5] u, float[N,3,5] v) {
  s = Add(a, b)
  t = Mul(c, d)
  u = Max(a, b, e)
  v = Sub(e, a)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "s"), "float[N,3,5]");
  EXPECT_EQ(TypeOf(*m, "t"), "float[?,4]") << "P and Q: either may be 1";
  EXPECT_EQ(TypeOf(*m, "u"), "float[N,3,5]");
  EXPECT_EQ(TypeOf(*m, "v"), "float[N,3,5]");
}

TEST(TypeInference, ShapesThatCannotBroadcastAreANodeErrorNotALoadError) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[N,2,3] a, float[4] b) => (float[N,2,3] s) {
  s = Add(a, b)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "s"), "float (rank unknown)") << "the element type still holds";
}

TEST(TypeInference, NegativeAxes) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[N,3,4] x, int64[5] i) => (float[N,3,8] c, float[N,3,4,1] u, float[N,3] q,
                                   float[N,12] f, float[N,3,5] h, float[N,3] r)
  <int64[1] minus_one = {-1}, int64[1] zero = {0}, int64[1] one = {1}> {
  c = Concat <axis = -1> (x, x)
  u = Unsqueeze(x, minus_one)
  q1 = Slice(x, zero, one, minus_one)
  q = Squeeze(q1, minus_one)
  f = Flatten <axis = -2> (x)
  h = Gather <axis = -1> (x, i)
  r = ReduceMean <axes = [-1], keepdims = 0> (x)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "c"), "float[N,3,8]");
  EXPECT_EQ(TypeOf(*m, "u"), "float[N,3,4,1]");
  EXPECT_EQ(TypeOf(*m, "q1"), "float[N,3,1]");
  EXPECT_EQ(TypeOf(*m, "q"), "float[N,3]");
  EXPECT_EQ(TypeOf(*m, "f"), "float[N,12]");
  EXPECT_EQ(TypeOf(*m, "h"), "float[N,3,5]");
  EXPECT_EQ(TypeOf(*m, "r"), "float[N,3]");
}

// The channel shuffle PyTorch's ShuffleNetV2 exports: the Reshape's shape
// is computed from the input's own Shape, so only data propagation knows it.
TEST(TypeInference, ChannelShuffleReshapeFromComputedShape) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[N,116,28,28] x) => (float[N,116,28,28] y)
  <int64 zero = {0}, int64 one = {1}, int64 two = {2}, int64 three = {3}, int64 groups = {2},
   int64[1] groups1 = {2}, int64[1] axes0 = {0}, int64[1] minus_one = {-1}> {
  s = Shape(x)
  b = Gather(s, zero)
  ch = Gather(s, one)
  h = Gather(s, two)
  w = Gather(s, three)
  cpg = Div(ch, groups)
  b1 = Unsqueeze(b, axes0)
  cpg1 = Unsqueeze(cpg, axes0)
  h1 = Unsqueeze(h, axes0)
  w1 = Unsqueeze(w, axes0)
  shape5 = Concat <axis = 0> (b1, groups1, cpg1, h1, w1)
  r = Reshape(x, shape5)
  t = Transpose <perm = [0, 2, 1, 3, 4]> (r)
  shape4 = Concat <axis = 0> (b1, minus_one, h1, w1)
  y = Reshape(t, shape4)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "r"), "float[N,2,58,28,28]");
  EXPECT_EQ(TypeOf(*m, "t"), "float[N,58,2,28,28]");
  EXPECT_EQ(TypeOf(*m, "y"), "float[N,116,28,28]") << "-1 = 58 * 2: the symbol N cancels";
}

TEST(TypeInference, ReshapeZeroMinusOneAndShapesFedAtRunTime) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 14]>
g (float[N,3,4] x, int64[3] dynamic) => (float[N,12] a, float[?,?,?] b, float[N,3,4] c)
  <int64[2] zero_minus_one = {0, -1}> {
  a = Reshape(x, zero_minus_one)
  b = Reshape(x, dynamic)
  sx = Shape(x)
  c = ConstantOfShape(sx)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "a"), "float[N,12]");
  EXPECT_EQ(TypeOf(*m, "b"), "float[?,?,?]") << "rank from the shape input's length";
  EXPECT_EQ(TypeOf(*m, "c"), "float[N,3,4]");
}

TEST(TypeInference, UnknownOpsAndUnknownRanks) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 13, "com.example" : 1]>
g (float[N,3,8,8] x, float[4,3,3,3] w) => (float[N,4,8,8] z, float[?] s)
  <float[N,3,?,?] t> {
  u = com.example.Mystery(x)
  r = Relu(u)
  z = Conv <pads = [1, 1, 1, 1]> (u, w)
  sh = Shape(u)
  s = Identity(r)
  t = com.example.Typed(x)
  k = Relu(t)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const ir::Value* r = m->model.graph->FindValue("r");
  EXPECT_EQ(r->dtype(), DataType::kUndefined);
  EXPECT_NE(r->unknown_type_reason().find("Mystery"), std::string::npos) << r->unknown_type_reason();
  EXPECT_NE(r->unknown_type_reason().find("com.example"), std::string::npos);
  EXPECT_EQ(TypeOf(*m, "z"), "float[?,4,?,?]") << "type and rank from the weight";
  EXPECT_EQ(TypeOf(*m, "sh"), "int64 (rank unknown)");
  // An unknown op's declared output type is taken over, and flows on.
  EXPECT_EQ(TypeOf(*m, "t"), "float[N,3,?,?]");
  EXPECT_EQ(TypeOf(*m, "k"), "float[N,3,?,?]");
}

// Opset 18: Reduce* axes as an input, Split's num_outputs (uneven), Pad's
// axes input, Resize's axes and keep_aspect_ratio_policy.
TEST(TypeInference, Opset18OperandChanges) {
  auto m = Load(R"(<ir_version: 9, opset_import: ["" : 18]>
g (float[N,3,10,10] x) => (float[N,3,1,1] r, float[N,3,4,10] s0, float[N,3,4,10] s1,
                          float[N,3,2,10] s2, float[N,3,12,10] p, float[N,3,15,15] z)
  <int64[2] axes23 = {2, 3}, int64[2] pads = {1, 1}, int64[1] axes2 = {2},
   int64[2] sizes = {15, 20}> {
  r = ReduceMean(x, axes23)
  s0, s1, s2 = Split <axis = 2, num_outputs = 3> (x)
  p = Pad(x, pads, , axes2)
  z = Resize <axes = [2, 3], keep_aspect_ratio_policy = "not_larger"> (x, , , sizes)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "r"), "float[N,3,1,1]");
  EXPECT_EQ(TypeOf(*m, "s0"), "float[N,3,4,10]");
  EXPECT_EQ(TypeOf(*m, "s2"), "float[N,3,2,10]");
  EXPECT_EQ(TypeOf(*m, "p"), "float[N,3,12,10]");
  EXPECT_EQ(TypeOf(*m, "z"), "float[N,3,15,15]") << "one scale, min(15/10, 20/10)";
}

TEST(TypeInference, ContradictedDeclarationIsAWarningOrWithStrictAnError) {
  const std::string text = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[N,12] x) => (float[N,10] y) {
  y = Relu(x)
})";
  auto m = Load(text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "y"), "float[N,12]") << "the graph wins";
  ASSERT_FALSE(m->warnings.empty());
  EXPECT_NE(m->warnings[0].find("graph output 'y' (output of Relu #0): the model declares "
                                "float[N,10], the graph computes float[N,12]"),
            std::string::npos)
      << m->warnings[0];
  auto strict = Load(text, /*strict=*/true);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("graph output 'y'"), std::string::npos);
}

TEST(TypeInference, CastAndShapeArithmetic) {
  auto m = Load(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[N,6,4] x) => (float[N,3,8] y, int32[3] c)
  <int64[3] two_one_half = {1, 2, 1}, int64[3] one_one_two = {1, 1, 2}, int64[1] zero = {0},
   int64[1] one = {1}, int64[1] three = {3}> {
  s = Shape(x)
  half = Div(s, two_one_half)
  shalf = Mul(half, one_one_two)
  first = Slice(s, zero, one)
  second = Slice(shalf, one, three)
  mixed = Concat <axis = 0> (first, second)
  y = Reshape(x, mixed)
  c = Cast <to = 6> (s)
})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(TypeOf(*m, "y"), "float[N,3,8]");
  EXPECT_EQ(TypeOf(*m, "c"), "int32[3]");
}

}  // namespace
}  // namespace bnfold
