// Views in the planner (planner.cc): Reshape-like ops and Transpose alias
// their input instead of copying it. Each test counts the plan's steps and
// compares the outputs with references computed here: bit-exact where only
// data moves, within float tolerance where a Conv computes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "runtime/backend/onednn/executor.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/onnx/loader.h"
#include "tests/test_util/onnx_text.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold {
namespace {

using onednn::PlanValue;
using Dims = std::vector<int64_t>;

// A model's graph and a plan compiled for float inputs of the given dims.
struct Compiled {
  onnx_io::LoadedModel model;
  std::shared_ptr<const onednn::Plan> plan;
};

Compiled Compile(const std::string& text, const std::vector<std::pair<std::string, Dims>>& inputs,
                 DataType dtype = DataType::kFloat) {
  Compiled c;
  auto loaded = onnx_io::LoadModelBytes(testing::ModelBytesFromText(text), "", "test");
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return c;
  c.model = std::move(*loaded);
  std::vector<onednn::FeedSpec> feeds;
  for (const auto& [name, dims] : inputs) feeds.push_back({name, dtype, dims, nullptr});
  auto plan = onednn::CompilePlan(*c.model.model.graph, feeds, onednn::CompileOptions{});
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (plan.ok()) c.plan = *plan;
  return c;
}

// Runs `plan` once; each output's elements (plain layout) as T.
template <typename T = float>
std::vector<std::vector<T>> RunPlan(const onednn::Plan& plan,
                                const std::vector<const std::vector<T>*>& inputs) {
  onednn::ExecState state(std::shared_ptr<const onednn::Plan>(&plan, [](const onednn::Plan*) {}));
  std::vector<const void*> pointers;
  for (const auto* in : inputs) pointers.push_back(in->data());
  Status status = state.Run(pointers);
  EXPECT_TRUE(status.ok()) << status.ToString();
  std::vector<std::vector<T>> outputs;
  for (size_t i = 0; i < plan.outputs.size(); ++i) {
    const onednn::TensorDesc& desc = plan.values[plan.outputs[i]].desc;
    const T* data = static_cast<const T*>(state.output(i));
    outputs.emplace_back(data, data + desc.num_elements());
  }
  return outputs;
}

// Steps whose label starts with `what` ("Transpose", "Reorder").
int StepsLabelled(const onednn::Plan& plan, const std::string& what) {
  int n = 0;
  for (const auto& step : plan.steps) n += step.label.rfind(what, 0) == 0;
  return n;
}

using ::bnfold::testing::SeededValues;

int64_t Count(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// numpy.transpose(x, perm) for row-major data of `dims`.
template <typename T>
std::vector<T> TransposeRef(const std::vector<T>& x, const Dims& dims, const Dims& perm) {
  const size_t rank = dims.size();
  Dims in_strides(rank, 1), out_dims(rank);
  for (size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * dims[i];
  for (size_t i = 0; i < rank; ++i) out_dims[i] = dims[perm[i]];
  std::vector<T> out(x.size());
  Dims index(rank, 0);
  for (size_t flat = 0; flat < out.size(); ++flat) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i) offset += index[i] * in_strides[perm[i]];
    out[flat] = x[offset];
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < out_dims[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

// Conv2D, NCHW, stride 1, symmetric padding, in double.
std::vector<double> ConvRef(const std::vector<float>& x, const Dims& x_dims,
                            const std::vector<float>& w, const Dims& w_dims,
                            const std::vector<float>& bias, int64_t pad) {
  const int64_t n = x_dims[0], ic = x_dims[1], h = x_dims[2], wd = x_dims[3];
  const int64_t oc = w_dims[0], kh = w_dims[2], kw = w_dims[3];
  const int64_t oh = h + 2 * pad - kh + 1, ow = wd + 2 * pad - kw + 1;
  std::vector<double> y(n * oc * oh * ow);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double sum = bias.empty() ? 0.0 : bias[o];
          for (int64_t c = 0; c < ic; ++c)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                const int64_t r = i + p - pad, s = j + q - pad;
                if (r < 0 || r >= h || s < 0 || s >= wd) continue;
                sum += double{x[((b * ic + c) * h + r) * wd + s]} *
                       w[((o * ic + c) * kh + p) * kw + q];
              }
          y[((b * oc + o) * oh + i) * ow + j] = sum;
        }
  return y;
}

std::string FloatList(const std::vector<float>& values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += ", ";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.9g", values[i]);
    s += buffer;
  }
  return s;
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tolerance) << "element " << i;
  }
}

TEST(ViewsTest, ReshapeFlattenSqueezeUnsqueezeIdentityDropoutRunNoStep) {
  const Compiled c = Compile(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3,4] x) => (float[24] y, float[6,4] z) {
      r = Relu(x)
      s64 = Constant <value = int64[2] {6, 4}> ()
      z = Reshape(r, s64)
      f = Flatten <axis = 0> (z)
      axes0 = Constant <value = int64[1] {0}> ()
      sq = Squeeze(f, axes0)
      axes01 = Constant <value = int64[2] {0, 1}> ()
      u = Unsqueeze(sq, axes01)
      i = Identity(u)
      d = Dropout(i)
      s24 = Constant <value = int64[1] {24}> ()
      y = Reshape(d, s24)
    })",
                             {{"x", {2, 3, 4}}});
  ASSERT_TRUE(c.plan);
  // Only the Relu computes; the six shape ops are views of its output.
  EXPECT_EQ(c.plan->steps.size(), 1u);
  EXPECT_EQ(c.plan->values[c.plan->outputs[0]].storage, PlanValue::Storage::kAlias);
  const std::vector<float> x = SeededValues(24, 1);
  std::vector<float> relu(24);
  for (int i = 0; i < 24; ++i) relu[i] = x[i] > 0 ? x[i] : 0.0f;
  const auto out = RunPlan(*c.plan, {&x});
  EXPECT_EQ(out[0], relu);
  EXPECT_EQ(out[1], relu);
}

TEST(ViewsTest, TransposePairComposingToIdentityRunsNoStep) {
  const Compiled c = Compile(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3,4,5] x) => (float[2,3,4,5] y) {
      t = Transpose <perm = [0, 2, 3, 1]> (x)
      y = Transpose <perm = [0, 3, 1, 2]> (t)
    })",
                             {{"x", {2, 3, 4, 5}}});
  ASSERT_TRUE(c.plan);
  EXPECT_EQ(c.plan->steps.size(), 0u);
  const std::vector<float> x = SeededValues(120, 2);
  EXPECT_EQ(RunPlan(*c.plan, {&x})[0], x);
}

// A Transpose read by an op that needs plain data costs exactly one
// reorder, whatever the permutation.
TEST(ViewsTest, TransposeIntoAPlainConsumerIsOneReorder) {
  const std::vector<std::pair<Dims, Dims>> cases = {
      {{3, 5}, {1, 0}},
      {{2, 3, 4}, {2, 0, 1}},
      {{2, 3, 4, 5}, {0, 2, 3, 1}},
      {{2, 3, 4, 5}, {3, 1, 0, 2}},
      {{2, 1, 3, 4, 2}, {4, 0, 3, 1, 2}},
  };
  for (const auto& [dims, perm] : cases) {
    SCOPED_TRACE(::testing::PrintToString(perm));
    std::string perm_text, dims_text;
    for (size_t i = 0; i < perm.size(); ++i) {
      perm_text += (i ? ", " : "") + std::to_string(perm[i]);
      dims_text += (i ? "," : "") + std::to_string(dims[i]);
    }
    const Compiled c = Compile(
        "<ir_version: 8, opset_import: [\"\" : 13]>\n"
        "g (float[" + dims_text + "] x) => (float[N] y) {\n"
        "  t = Transpose <perm = [" + perm_text + "]> (x)\n"
        "  shape = Constant <value = int64[1] {-1}> ()\n"
        "  y = Reshape(t, shape)\n"
        "}",
        {{"x", dims}});
    ASSERT_TRUE(c.plan);
    EXPECT_EQ(c.plan->steps.size(), 1u);
    EXPECT_EQ(StepsLabelled(*c.plan, "Reorder"), 1);
    const std::vector<float> x = SeededValues(Count(dims), 3);
    EXPECT_EQ(RunPlan(*c.plan, {&x})[0], TransposeRef(x, dims, perm));
  }
}

// oneDNN has no int64: such a Transpose still copies, and stays exact.
TEST(ViewsTest, Int64TransposeCopies) {
  const Compiled c = Compile(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (int64[2,3,4] x) => (int64[4,2,3] y) {
      y = Transpose <perm = [2, 0, 1]> (x)
    })",
                             {{"x", {2, 3, 4}}}, DataType::kInt64);
  ASSERT_TRUE(c.plan);
  EXPECT_EQ(c.plan->steps.size(), 1u);
  std::vector<int64_t> x(24);
  for (int i = 0; i < 24; ++i) x[i] = 1000 + i;
  EXPECT_EQ(RunPlan<int64_t>(*c.plan, {&x})[0], TransposeRef(x, {2, 3, 4}, {2, 0, 1}));
}

// Keras/tf2onnx: NHWC data is transposed to NCHW around each Conv. The
// Transposes become descs; data moves only where a kernel's layout differs.
TEST(ViewsTest, NhwcConvBlockHasNoTransposeStep) {
  const Dims x_dims = {2, 6, 7, 3}, w_dims = {16, 3, 3, 3};
  const std::vector<float> w = SeededValues(Count(w_dims), 4), bias = SeededValues(16, 5);
  const std::string text =
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[2,6,7,3] x) => (float[2,6,7,16] y, float[2,672] flat) {\n"
      "  nchw = Transpose <perm = [0, 3, 1, 2]> (x)\n"
      "  w = Constant <value = float[16,3,3,3] {" + FloatList(w) + "}> ()\n"
      "  b = Constant <value = float[16] {" + FloatList(bias) + "}> ()\n"
      "  conv = Conv <pads = [1, 1, 1, 1]> (nchw, w, b)\n"
      "  relu = Relu(conv)\n"
      "  y = Transpose <perm = [0, 2, 3, 1]> (relu)\n"
      "  shape = Constant <value = int64[2] {2, -1}> ()\n"
      "  flat = Reshape(y, shape)\n"
      "}";
  const Compiled c = Compile(text, {{"x", x_dims}});
  ASSERT_TRUE(c.plan);
  EXPECT_EQ(StepsLabelled(*c.plan, "Transpose"), 0);
  EXPECT_EQ(StepsLabelled(*c.plan, "Reshape"), 0);
  // Conv and Relu, plus at most a reorder into the Conv's layout and one
  // out of it (shared by both outputs).
  EXPECT_LE(c.plan->steps.size(), 4u);
  EXPECT_GE(c.plan->steps.size(), 2u);

  const std::vector<float> x = SeededValues(Count(x_dims), 6);
  std::vector<double> ref = ConvRef(TransposeRef(x, x_dims, {0, 3, 1, 2}), {2, 3, 6, 7}, w,
                                    w_dims, bias, 1);
  for (double& v : ref) v = std::max(v, 0.0);
  ref = TransposeRef(ref, {2, 16, 6, 7}, {0, 2, 3, 1});
  const auto out = RunPlan(*c.plan, {&x});
  ExpectNear(out[0], ref, 1e-4);
  EXPECT_EQ(out[1], out[0]);
}

// Pooling takes any layout; oneDNN has fast code for plain and
// channels-last only. An NHWC -> NCHW Transpose stays a view (channels-last),
// an unusual permutation is copied to plain first.
TEST(ViewsTest, TransposeReadByPoolingIsAViewOnlyWhenChannelsLast) {
  for (const Dims& perm : {Dims{0, 3, 1, 2}, Dims{0, 2, 1, 3}}) {
    SCOPED_TRACE(::testing::PrintToString(perm));
    const Dims x_dims = {2, 5, 6, 4};
    Dims t_dims(4);
    for (int i = 0; i < 4; ++i) t_dims[i] = x_dims[perm[i]];
    std::string perm_text;
    for (int i = 0; i < 4; ++i) perm_text += (i ? ", " : "") + std::to_string(perm[i]);
    const Compiled c = Compile(
        "<ir_version: 8, opset_import: [\"\" : 13]>\n"
        "g (float[2,5,6,4] x) => (float[A,B,C,D] y) {\n"
        "  t = Transpose <perm = [" + perm_text + "]> (x)\n"
        "  y = MaxPool <kernel_shape = [2, 2]> (t)\n"
        "}",
        {{"x", x_dims}});
    ASSERT_TRUE(c.plan);
    EXPECT_EQ(StepsLabelled(*c.plan, "Transpose"), perm[1] == 3 ? 0 : 1);
    const std::vector<float> x = SeededValues(Count(x_dims), 14);
    const std::vector<float> t = TransposeRef(x, x_dims, perm);
    const int64_t n = t_dims[0], ch = t_dims[1], h = t_dims[2], w = t_dims[3];
    std::vector<double> y;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t k = 0; k < ch; ++k)
        for (int64_t i = 0; i + 1 < h; ++i)
          for (int64_t j = 0; j + 1 < w; ++j) {
            const float* p = &t[((b * ch + k) * h + i) * w + j];
            y.push_back(std::max(std::max(p[0], p[1]), std::max(p[w], p[w + 1])));
          }
    ExpectNear(RunPlan(*c.plan, {&x})[0], y, 0.0);
  }
}

// The buffer a view reads must not be reused while the view is alive, even
// though no step reads the viewed value itself after it is written.
TEST(ViewsTest, ViewedBufferOutlivesItsViews) {
  const Compiled c = Compile(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[4096] x) => (float[64,64] y, float[4096] z) {
      a = Relu(x)
      s64 = Constant <value = int64[2] {64, 64}> ()
      v = Reshape(a, s64)
      b = Sigmoid(x)
      t = Tanh(b)
      n = Neg(t)
      d = Reshape(n, s64)
      y = Add(v, d)
      s4096 = Constant <value = int64[1] {4096}> ()
      z = Reshape(a, s4096)
    })",
                             {{"x", {4096}}});
  ASSERT_TRUE(c.plan);
  EXPECT_EQ(c.plan->steps.size(), 5u);  // Relu, Sigmoid, Tanh, Neg, Add
  const std::vector<float> x = SeededValues(4096, 7);
  std::vector<double> y(4096), z(4096);
  for (int i = 0; i < 4096; ++i) {
    z[i] = std::max(x[i], 0.0f);
    y[i] = z[i] - std::tanh(1.0 / (1.0 + std::exp(-double{x[i]})));
  }
  const auto out = RunPlan(*c.plan, {&x});
  ExpectNear(out[0], y, 1e-5);
  ExpectNear(out[1], z, 0.0);
}

// A view of a constant is a constant: consumers still read it at compile
// time (a transposed weight reaches MatMul plain).
TEST(ViewsTest, ViewsOfConstantsStayConstants) {
  const std::vector<float> w = SeededValues(12, 8), k = SeededValues(6, 9);
  const std::string text =
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[2,4] x) => (float[2,3] y) {\n"
      "  w = Constant <value = float[3,4] {" + FloatList(w) + "}> ()\n"
      "  wt = Transpose <perm = [1, 0]> (w)\n"
      "  m = MatMul(x, wt)\n"
      "  k = Constant <value = float[6] {" + FloatList(k) + "}> ()\n"
      "  shape = Constant <value = int64[2] {2, 3}> ()\n"
      "  k23 = Reshape(k, shape)\n"
      "  y = Add(m, k23)\n"
      "}";
  const Compiled c = Compile(text, {{"x", {2, 4}}});
  ASSERT_TRUE(c.plan);
  EXPECT_EQ(c.plan->steps.size(), 2u);  // MatMul, Add
  const std::vector<float> x = SeededValues(8, 10);
  std::vector<double> y(6);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double sum = k[i * 3 + j];
      for (int p = 0; p < 4; ++p) sum += double{x[i * 4 + p]} * w[j * 4 + p];
      y[i * 3 + j] = sum;
    }
  ExpectNear(RunPlan(*c.plan, {&x})[0], y, 1e-5);
}

StatusOr<std::unique_ptr<Session>> OpenSession(const std::string& text, bool optimize = true) {
  SessionOptions options;
  options.threads = 1;
  options.optimize = optimize;
  return Session::OpenFromBytes(testing::ModelBytesFromText(text), options);
}

Tensor MakeFloats(Dims dims, const std::vector<float>& values) {
  StatusOr<Tensor> t = Tensor::Allocate(DataType::kFloat, std::move(dims));
  EXPECT_TRUE(t.ok());
  std::memcpy(t->data(), values.data(), values.size() * sizeof(float));
  return std::move(*t);
}

std::vector<float> Elements(const Tensor& t) {
  return std::vector<float>(t.data_as<float>(), t.data_as<float>() + t.num_elements());
}

// Graph outputs that view a graph input are copied out: the caller's
// results do not change when it later reuses its input buffer.
TEST(ViewsTest, GraphOutputViewingAGraphInputIsCopiedOut) {
  auto session = OpenSession(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,6] x) => (float[3,4] y, float[2,6] z) {
      shape = Constant <value = int64[2] {3, 4}> ()
      y = Reshape(x, shape)
      z = Identity(x)
    })",
                             /*optimize=*/false);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const std::vector<float> values = SeededValues(12, 11);
  std::vector<NamedTensor> feeds = {{"x", MakeFloats({2, 6}, values)}};
  std::vector<NamedTensor> out;
  ASSERT_TRUE((*session)->Run(feeds, &out).ok());
  std::memset(feeds[0].tensor.data(), 0, 12 * sizeof(float));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].tensor.shape(), (Dims{3, 4}));
  EXPECT_EQ(Elements(out[0].tensor), values);
  EXPECT_EQ(Elements(out[1].tensor), values);
}

// One session, several batch sizes: each compiles its own plan with its
// own views, and a batch seen again reuses its plan.
TEST(ViewsTest, BatchChangesThroughOneSession) {
  const Dims w_dims = {8, 2, 3, 3};
  const std::vector<float> w = SeededValues(Count(w_dims), 12), m = SeededValues(8 * 16 * 4, 13);
  const std::string text =
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[N,4,4,2] x) => (float[N,4] y) {\n"
      "  nchw = Transpose <perm = [0, 3, 1, 2]> (x)\n"
      "  w = Constant <value = float[8,2,3,3] {" + FloatList(w) + "}> ()\n"
      "  conv = Conv <pads = [1, 1, 1, 1]> (nchw, w)\n"
      "  relu = Relu(conv)\n"
      "  nhwc = Transpose <perm = [0, 2, 3, 1]> (relu)\n"
      "  shape = Constant <value = int64[2] {-1, 128}> ()\n"
      "  flat = Reshape(nhwc, shape)\n"
      "  m = Constant <value = float[128,4] {" + FloatList(m) + "}> ()\n"
      "  y = MatMul(flat, m)\n"
      "}";
  for (bool optimize : {false, true}) {
    auto session = OpenSession(text, optimize);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    for (int64_t batch : {1, 3, 1, 2}) {
      SCOPED_TRACE("batch " + std::to_string(batch));
      const Dims x_dims = {batch, 4, 4, 2};
      const std::vector<float> x = SeededValues(Count(x_dims), 20 + batch);
      std::vector<NamedTensor> out;
      ASSERT_TRUE((*session)->Run({{"x", MakeFloats(x_dims, x)}}, &out).ok());
      std::vector<double> conv = ConvRef(TransposeRef(x, x_dims, {0, 3, 1, 2}),
                                         {batch, 2, 4, 4}, w, w_dims, {}, 1);
      for (double& v : conv) v = std::max(v, 0.0);
      conv = TransposeRef(conv, {batch, 8, 4, 4}, {0, 2, 3, 1});
      std::vector<double> y(batch * 4, 0.0);
      for (int64_t b = 0; b < batch; ++b)
        for (int j = 0; j < 4; ++j)
          for (int p = 0; p < 128; ++p) y[b * 4 + j] += conv[b * 128 + p] * m[p * 4 + j];
      ASSERT_EQ(out[0].tensor.shape(), (Dims{batch, 4}));
      ExpectNear(Elements(out[0].tensor), y, 1e-4);
    }
  }
}

}  // namespace
}  // namespace bnfold
