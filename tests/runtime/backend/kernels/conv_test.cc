// Conv and ConvTranspose through the public API against naive
// double-precision references written here. Pads in the cases are computed
// by hand from the ONNX spec, not by the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/runtime/backend/kernels/linear_op_test_util.h"

namespace bnfold::testing {
namespace {

// y[n, m, i*s + k*d - pad] += x[n, c, i] * w[c, m', k], scattered.
Reference ReferenceConvTranspose(const Tensor& x, const Tensor& w, const Tensor* b,
                                 const ConvParams& p, const std::vector<int64_t>& out_dims) {
  const int64_t n_batch = x.shape()[0], c_in = x.shape()[1], mg = w.shape()[1];
  const int64_t cg = c_in / p.group, m_out = mg * p.group;
  const auto in = Spatial3(x.shape(), 1), k = Spatial3(w.shape(), 1), out = Spatial3(out_dims, 1);
  const auto s = Axis3(p.strides, 1), d = Axis3(p.dilations, 1), pad = Axis3(p.pads_begin, 0);
  const int64_t out_size = out[0] * out[1] * out[2];
  Reference r{out_dims, std::vector<double>(n_batch * m_out * out_size, 0.0),
              std::vector<double>(n_batch * m_out * out_size, 0.0)};
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t m = 0; m < m_out; ++m)
      for (int64_t o = 0; o < out_size; ++o) {
        const double bias = b ? b->GetAsDouble(m) : 0.0;
        r.values[(n * m_out + m) * out_size + o] = bias;
        r.magnitude[(n * m_out + m) * out_size + o] = std::abs(bias);
      }
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t c = 0; c < c_in; ++c)
      for (int64_t i0 = 0; i0 < in[0]; ++i0)
        for (int64_t i1 = 0; i1 < in[1]; ++i1)
          for (int64_t i2 = 0; i2 < in[2]; ++i2) {
            const double xv = x.GetAsDouble((((n * c_in + c) * in[0] + i0) * in[1] + i1) * in[2] + i2);
            for (int64_t mo = 0; mo < mg; ++mo)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t o0 = i0 * s[0] + k0 * d[0] - pad[0];
                    const int64_t o1 = i1 * s[1] + k1 * d[1] - pad[1];
                    const int64_t o2 = i2 * s[2] + k2 * d[2] - pad[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2]) continue;
                    const int64_t m = (c / cg) * mg + mo;
                    const double wv = w.GetAsDouble((((c * mg + mo) * k[0] + k0) * k[1] + k1) * k[2] + k2);
                    const int64_t at = (n * m_out + m) * out_size + (o0 * out[1] + o1) * out[2] + o2;
                    r.values[at] += xv * wv;
                    r.magnitude[at] += std::abs(xv * wv);
                  }
          }
  return r;
}

struct ConvCase {
  std::string name;
  std::vector<int64_t> x, w;
  ConvParams params;
  std::vector<Attr> attrs;  // as written in the model
  std::vector<int64_t> y;   // expected output dims
  bool bias = true;
  bool constant_weights = true;
};

// Builds X -> Conv/ConvTranspose -> Y with W (and B) as initializers or
// inputs, and checks the result against the reference.
void RunConvCase(const ConvCase& c, bool transpose, DataType type = DataType::kFloat,
                 double rtol = 1e-5, double atol = 1e-6) {
  SCOPED_TRACE(c.name);
  const Tensor x = RandomTensor(c.x, 1, type);
  const Tensor w = RandomTensor(c.w, 2, type);
  const int64_t m = transpose ? c.w[1] * c.params.group : c.w[0];
  const Tensor b = RandomTensor({m}, 3, type);
  ModelBuilder model(13);
  model.Input("X", type, c.x);
  std::vector<NamedTensor> feeds = {{"X", x}};
  model.Operand("W", w, c.constant_weights, &feeds);
  if (c.bias) model.Operand("B", b, c.constant_weights, &feeds);
  std::vector<std::string> inputs = {"X", "W"};
  if (c.bias) inputs.push_back("B");
  model.Node(transpose ? "ConvTranspose" : "Conv", inputs, {"Y"}, c.attrs)
      .Output("Y", type, static_cast<int>(c.y.size()));
  StatusOr<Tensor> y = RunModel(model.Bytes(), feeds);
  ASSERT_TRUE(y.ok()) << y.status().message();
  const Tensor* bias = c.bias ? &b : nullptr;
  const Reference want = transpose ? ReferenceConvTranspose(x, w, bias, c.params, c.y)
                                   : ReferenceConv(c.x, Values(x), w, bias, c.params, c.y);
  ExpectMatches(*y, want, rtol, atol);
}

using V = std::vector<int64_t>;

std::vector<ConvCase> ConvCases() {
  return {
      {"grouped", {2, 4, 7, 6}, {6, 2, 3, 3}, {2, {1, 1}, {1, 1}, {1, 1}},
       {{"group", int64_t{2}}, {"pads", V{1, 1, 1, 1}}}, {2, 6, 7, 6}},
      {"grouped_runtime_weights", {2, 4, 7, 6}, {6, 2, 3, 3}, {2, {1, 1}, {1, 1}, {1, 1}},
       {{"group", int64_t{2}}, {"pads", V{1, 1, 1, 1}}}, {2, 6, 7, 6}, true, false},
      {"depthwise_multiplier", {1, 8, 9, 9}, {16, 1, 3, 3}, {8, {1, 1}, {1, 1}, {1, 1}},
       {{"group", int64_t{8}}, {"pads", V{1, 1, 1, 1}}, {"kernel_shape", V{3, 3}}}, {1, 16, 9, 9}},
      {"depthwise_wide_strided", {2, 32, 10, 10}, {32, 1, 3, 3}, {32, {2, 2}, {1, 1}, {1, 1}},
       {{"group", int64_t{32}}, {"strides", V{2, 2}}, {"pads", V{1, 1, 0, 0}}}, {2, 32, 5, 5}},
      // out = (in + pb + pe - ((k-1)*d+1)) / s + 1: (11+1+2-5)/2+1 = 5, (10+0+1-4)/1+1 = 8
      {"dilated_strided_asymmetric_pads", {2, 3, 11, 10}, {4, 3, 3, 2}, {1, {2, 1}, {2, 3}, {1, 0}},
       {{"dilations", V{2, 3}}, {"strides", V{2, 1}}, {"pads", V{1, 0, 2, 1}}}, {2, 4, 5, 8},
       false},
      // (17+2+1-7)/3+1 = 5
      {"conv1d", {2, 3, 17}, {5, 3, 4}, {1, {3}, {2}, {2}},
       {{"strides", V{3}}, {"dilations", V{2}}, {"pads", V{2, 1}}}, {2, 5, 5}},
      // (5+1+0-2)+1 = 5, (6+0+1-3)/2+1 = 3, (4+1+1-2)+1 = 5
      {"conv3d_grouped", {1, 4, 5, 6, 4}, {6, 2, 2, 3, 2}, {2, {1, 2, 1}, {1, 1, 1}, {1, 0, 1}},
       {{"group", int64_t{2}}, {"strides", V{1, 2, 1}}, {"pads", V{1, 0, 1, 0, 1, 1}}},
       {1, 6, 5, 3, 5}},
      // SAME_UPPER, s=2: H 7 -> 4, total 3*2+4-7 = 3 -> (1, 2); W 8 -> 4, total 6+3-8 = 1 -> (0, 1)
      {"same_upper", {1, 2, 7, 8}, {3, 2, 4, 3}, {1, {2, 2}, {1, 1}, {1, 0}},
       {{"auto_pad", std::string("SAME_UPPER")}, {"strides", V{2, 2}}}, {1, 3, 4, 4}},
      // SAME_LOWER: the odd element goes first: H (2, 1), W (1, 0)
      {"same_lower", {1, 2, 7, 8}, {3, 2, 4, 3}, {1, {2, 2}, {1, 1}, {2, 1}},
       {{"auto_pad", std::string("SAME_LOWER")}, {"strides", V{2, 2}}}, {1, 3, 4, 4}},
      // VALID: (7-4)/2+1 = 2, (8-3)/2+1 = 3
      {"valid", {1, 2, 7, 8}, {3, 2, 4, 3}, {1, {2, 2}, {1, 1}, {0, 0}},
       {{"auto_pad", std::string("VALID")}, {"strides", V{2, 2}}}, {1, 3, 2, 3}},
      // Blocked grouped weights oneDNN cannot describe in ONNX dims (the
      // kernel reorders them itself), ResNeXt-like.
      {"resnext_groups", {1, 128, 8, 8}, {128, 4, 3, 3}, {32, {1, 1}, {1, 1}, {1, 1}},
       {{"group", int64_t{32}}, {"pads", V{1, 1, 1, 1}}}, {1, 128, 8, 8}},
      {"two_wide_groups", {1, 64, 6, 6}, {64, 32, 3, 3}, {2, {1, 1}, {1, 1}, {0, 0}},
       {{"group", int64_t{2}}}, {1, 64, 4, 4}},
      {"two_wide_groups_runtime_weights", {1, 64, 6, 6}, {64, 32, 3, 3}, {2, {1, 1}, {1, 1}, {0, 0}},
       {{"group", int64_t{2}}}, {1, 64, 4, 4}, true, false},
      // (32+6-7)/2+1 = 16
      {"stem_7x7", {2, 3, 32, 32}, {16, 3, 7, 7}, {1, {2, 2}, {1, 1}, {3, 3}},
       {{"strides", V{2, 2}}, {"pads", V{3, 3, 3, 3}}}, {2, 16, 16, 16}},
      {"pointwise_wide", {1, 64, 5, 5}, {96, 64, 1, 1}, {1, {1, 1}, {1, 1}, {0, 0}}, {}, {1, 96, 5, 5}},
  };
}

TEST(ConvKernelTest, MatchesReference) {
  for (const ConvCase& c : ConvCases()) RunConvCase(c, /*transpose=*/false);
}

TEST(ConvKernelTest, Float64AndFloat16RunThroughFloat32) {
  const ConvCase c = ConvCases()[0];
  RunConvCase(c, false, DataType::kDouble, 1e-5, 1e-6);
  // float16 inputs are exact in float32; the output is rounded to float16.
  RunConvCase(c, false, DataType::kFloat16, 2e-3, 2e-3);
}

// The second Conv reads the first's blocked output as is.
TEST(ConvKernelTest, ChainKeepsBlockedLayoutBetweenConvs) {
  const Tensor x = RandomTensor({1, 16, 9, 9}, 1);
  const Tensor w1 = RandomTensor({32, 16, 3, 3}, 2), w2 = RandomTensor({32, 32, 3, 3}, 3);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {1, 16, 9, 9})
      .Initializer("W1", w1)
      .Initializer("W2", w2)
      .Node("Conv", {"X", "W1"}, {"H"}, {{"pads", V{1, 1, 1, 1}}})
      .Node("Conv", {"H", "W2"}, {"Y"}, {{"strides", V{2, 2}}})
      .Output("Y", DataType::kFloat, 4);
  StatusOr<Tensor> y = RunModel(model.Bytes(), {{"X", x}});
  ASSERT_TRUE(y.ok()) << y.status().message();
  const Reference h = ReferenceConv(x.shape(), Values(x), w1, nullptr, {1, {1, 1}, {1, 1}, {1, 1}},
                                    {1, 32, 9, 9});
  const Reference want =
      ReferenceConv(h.dims, h.values, w2, nullptr, {1, {2, 2}, {1, 1}, {0, 0}}, {1, 32, 4, 4});
  ExpectMatches(*y, want, 1e-4, 1e-5);
}

// One session, two batch sizes: a plan per input shape, both correct.
TEST(ConvKernelTest, TwoBatchSizesThroughOneSession) {
  const Tensor w = RandomTensor({8, 4, 3, 3}, 2), b = RandomTensor({8}, 3);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {-1, 4, 6, 6})
      .Initializer("W", w)
      .Initializer("B", b)
      .Node("Conv", {"X", "W", "B"}, {"Y"}, {{"pads", V{1, 1, 1, 1}}})
      .Output("Y", DataType::kFloat, 4);
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(model.Bytes(), ThreadsOption(1));
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (int64_t batch : {1, 3, 1}) {
    SCOPED_TRACE(batch);
    const Tensor x = RandomTensor({batch, 4, 6, 6}, static_cast<uint32_t>(10 + batch));
    std::vector<NamedTensor> outputs;
    Status s = (*session)->Run({{"X", x}}, &outputs);
    ASSERT_TRUE(s.ok()) << s.message();
    ExpectMatches(outputs[0].tensor, ReferenceConv(x.shape(), Values(x), w, &b,
                                                   {1, {1, 1}, {1, 1}, {1, 1}}, {batch, 8, 6, 6}));
  }
}

// Winograd-shaped convolutions (3x3, stride 1, >= 16 input channels) at
// batch 3 run image by image (the first with its ReLU, the second in
// reverse order) and the batched convolution after them reads their output
// (oneDNN 2.6 has no Winograd with the residual Add): every image lands at
// its own offset.
TEST(ConvKernelTest, WinogradBatchRunsImageByImage) {
  const int64_t n = 3;
  const Tensor x = RandomTensor({n, 16, 10, 10}, 1);
  const Tensor w1 = RandomTensor({32, 16, 3, 3}, 2), w2 = RandomTensor({32, 32, 3, 3}, 3);
  const Tensor w3 = RandomTensor({32, 32, 3, 3}, 4), b3 = RandomTensor({32}, 5);
  ModelBuilder model(13);
  model.Input("X", DataType::kFloat, {n, 16, 10, 10})
      .Initializer("W1", w1)
      .Initializer("W2", w2)
      .Initializer("W3", w3)
      .Initializer("B3", b3)
      .Node("Conv", {"X", "W1"}, {"H1"}, {{"pads", V{1, 1, 1, 1}}})
      .Node("Relu", {"H1"}, {"R1"})
      .Node("Conv", {"R1", "W2"}, {"H2"}, {{"pads", V{1, 1, 1, 1}}})
      .Node("Conv", {"H2", "W3", "B3"}, {"H3"}, {{"pads", V{1, 1, 1, 1}}})
      .Node("Add", {"H3", "H2"}, {"Y"})
      .Output("Y", DataType::kFloat, 4);
  StatusOr<Tensor> y = RunModel(model.Bytes(), {{"X", x}});
  ASSERT_TRUE(y.ok()) << y.status().message();
  const ConvParams same = {1, {1, 1}, {1, 1}, {1, 1}};
  Reference r1 = ReferenceConv(x.shape(), Values(x), w1, nullptr, same, {n, 32, 10, 10});
  for (double& v : r1.values) v = std::max(v, 0.0);
  const Reference h2 = ReferenceConv(r1.dims, r1.values, w2, nullptr, same, {n, 32, 10, 10});
  Reference want = ReferenceConv(h2.dims, h2.values, w3, &b3, same, {n, 32, 10, 10});
  for (size_t i = 0; i < want.values.size(); ++i) {
    want.values[i] += h2.values[i];
    want.magnitude[i] += h2.magnitude[i];
  }
  ExpectMatches(*y, want, 1e-4, 1e-5);
}

// Errors name the node and the reason.
TEST(ConvKernelTest, BadModelsAreErrorsNamingTheNode) {
  struct Bad {
    std::vector<int64_t> x, w;
    std::vector<Attr> attrs;
    std::string reason;
  };
  const std::vector<Bad> bad = {
      {{1, 3, 5, 5}, {4, 2, 3, 3}, {}, "does not fit"},
      {{1, 4, 5, 5}, {4, 2, 3, 3}, {{"group", int64_t{2}}, {"kernel_shape", V{2, 2}}}, "kernel_shape"},
      {{1, 2, 5, 5}, {4, 2, 3, 3}, {{"auto_pad", std::string("SAME")}}, "auto_pad"},
      {{1, 2, 2, 2}, {4, 2, 3, 3}, {}, "smaller than the dilated kernel"},
  };
  for (const Bad& c : bad) {
    SCOPED_TRACE(c.reason);
    ModelBuilder model(13);
    model.Input("X", DataType::kFloat, c.x)
        .Initializer("W", RandomTensor(c.w, 1))
        .Node("Conv", {"X", "W"}, {"Y"}, c.attrs)
        .Output("Y", DataType::kFloat, 4);
    StatusOr<Tensor> y = RunModel(model.Bytes(), {{"X", RandomTensor(c.x, 2)}});
    ASSERT_FALSE(y.ok());
    EXPECT_NE(y.status().message().find("Conv"), std::string::npos) << y.status().message();
  }
}

std::vector<ConvCase> ConvTransposeCases() {
  return {
      // out = s*(in-1) + output_padding + k - pb - pe:
      // H 2*2+1+3-1-0 = 7, W 3*3+2+3-0-1 = 13
      {"groups_output_padding", {1, 4, 3, 4}, {4, 3, 3, 3}, {2, {2, 3}, {1, 1}, {1, 0}},
       {{"group", int64_t{2}}, {"strides", V{2, 3}}, {"output_padding", V{1, 2}},
        {"pads", V{1, 0, 0, 1}}},
       {1, 6, 7, 13}},
      {"groups_output_padding_runtime_weights", {1, 4, 3, 4}, {4, 3, 3, 3}, {2, {2, 3}, {1, 1}, {1, 0}},
       {{"group", int64_t{2}}, {"strides", V{2, 3}}, {"output_padding", V{1, 2}},
        {"pads", V{1, 0, 0, 1}}},
       {1, 6, 7, 13}, true, false},
      // 2*4+3 = 11
      {"wide_groups", {2, 32, 5, 5}, {32, 16, 3, 3}, {2, {2, 2}, {1, 1}, {0, 0}},
       {{"group", int64_t{2}}, {"strides", V{2, 2}}}, {2, 32, 11, 11}},
      // 2*4 + (2*2+1) - 1 - 2 = 10
      {"dilated_1d", {2, 3, 5}, {3, 2, 3}, {1, {2}, {2}, {1}},
       {{"strides", V{2}}, {"dilations", V{2}}, {"pads", V{1, 2}}}, {2, 2, 10}, false},
      // 2*2+2 = 6, 6, 2*1+2 = 4
      {"conv_transpose_3d", {1, 2, 3, 3, 2}, {2, 2, 2, 2, 2}, {1, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}},
       {{"strides", V{2, 2, 2}}}, {1, 2, 6, 6, 4}},
      // output_shape [7, 6] with SAME_UPPER: full 2*2+3 = 7; H total 0; W
      // total 1 -> (0, 1)
      {"output_shape_same_upper", {1, 1, 3, 3}, {1, 2, 3, 3}, {1, {2, 2}, {1, 1}, {0, 0}},
       {{"strides", V{2, 2}}, {"output_shape", V{7, 6}}, {"auto_pad", std::string("SAME_UPPER")}},
       {1, 2, 7, 6}},
      // output_shape larger than natural (total -1): the end grows
      {"output_shape_larger", {1, 1, 3, 3}, {1, 2, 3, 3}, {1, {2, 2}, {1, 1}, {0, 0}},
       {{"strides", V{2, 2}}, {"output_shape", V{8, 7}}}, {1, 2, 8, 7}},
      // SAME_LOWER, s=2: out = 6, total 2*2+3-6 = 1 -> (1, 0)
      {"same_lower", {1, 2, 3, 3}, {2, 2, 3, 3}, {1, {2, 2}, {1, 1}, {1, 1}},
       {{"strides", V{2, 2}}, {"auto_pad", std::string("SAME_LOWER")}}, {1, 2, 6, 6}},
  };
}

TEST(ConvTransposeKernelTest, MatchesReference) {
  for (const ConvCase& c : ConvTransposeCases()) RunConvCase(c, /*transpose=*/true);
}

TEST(ConvTransposeKernelTest, Float64RunsThroughFloat32) {
  RunConvCase(ConvTransposeCases()[0], true, DataType::kDouble);
}

}  // namespace
}  // namespace bnfold::testing
