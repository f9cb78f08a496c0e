#include "tests/tools/test_models.h"

#include <cmath>
#include <limits>

#include "tests/tools/tool_test_util.h"

namespace bnfold::testing {

onnx::ModelProto ReluIdentityModel(size_t weight_count) {
  onnx::ModelProto model = ParseModel(R"(
<ir_version: 8, opset_import: ["" : 13], producer_name: "bnfold-test",
 producer_version: "1.0", doc_string: "a model", metadata_props: ["author": "tests"]>
relu_graph (float[N,3,4,4] X) => (float[N,3,4,4] Y, float[)" +
                                      std::to_string(weight_count) + R"(] Z)
<float[N,3,4,4] R>
{
  R = Relu(X)
  Y = Relu(R)
  Z = Identity(W)
}
)");
  onnx::GraphProto* g = model.mutable_graph();
  AddFloatInitializer(g, "W", {static_cast<int64_t>(weight_count)},
                      SeededValues(weight_count, 7, -1.0f, 1.0f));
  g->set_doc_string("the graph");
  g->mutable_node(0)->set_name("relu");
  g->mutable_node(0)->set_doc_string("the relu");
  g->mutable_node(1)->set_name("relu_again");
  g->mutable_node(2)->set_name("weights");
  return model;
}

ConvBatchNormWeights DefaultConvBatchNormWeights() {
  ConvBatchNormWeights w;
  w.weight = SeededValues(8 * 3 * 3 * 3, 1, -0.5f, 0.5f);
  w.conv_bias = SeededValues(8, 2, -0.2f, 0.2f);
  w.scale = SeededValues(8, 3, 0.5f, 1.5f);
  w.bias = SeededValues(8, 4, -0.3f, 0.3f);
  w.mean = SeededValues(8, 5, -0.4f, 0.4f);
  w.variance = SeededValues(8, 6, 0.3f, 2.0f);
  return w;
}

onnx::ModelProto ConvBatchNormModel(const ConvBatchNormWeights& w) {
  char epsilon[32];
  std::snprintf(epsilon, sizeof epsilon, "%.9g", w.epsilon);
  onnx::ModelProto model = ParseModel(std::string(R"(
<ir_version: 8, opset_import: ["" : 15], producer_name: "pytorch", producer_version: "2.0">
conv_bn (float[N,3,8,8] X) => (float[N,8,8,8] Y)
{
  C = Conv <pads = [1, 1, 1, 1], kernel_shape = [3, 3]> (X, W, CB)
  B = BatchNormalization <epsilon = )") + epsilon + R"(> (C, S, BB, M, V)
  Y = Relu(B)
}
)");
  onnx::GraphProto* g = model.mutable_graph();
  AddFloatInitializer(g, "W", {8, 3, 3, 3}, w.weight);
  AddFloatInitializer(g, "CB", {8}, w.conv_bias);
  AddFloatInitializer(g, "S", {8}, w.scale);
  AddFloatInitializer(g, "BB", {8}, w.bias);
  AddFloatInitializer(g, "M", {8}, w.mean);
  AddFloatInitializer(g, "V", {8}, w.variance);
  g->mutable_node(0)->set_name("conv");
  g->mutable_node(1)->set_name("bn");
  g->mutable_node(2)->set_name("relu");
  return model;
}

std::vector<double> ConvBatchNormReference(const ConvBatchNormWeights& w,
                                           const std::vector<float>& x) {
  constexpr int kIn = 3, kOut = 8, kSize = 8, kKernel = 3;
  std::vector<double> y(kOut * kSize * kSize);
  for (int o = 0; o < kOut; ++o) {
    const double inv_std = 1.0 / std::sqrt(double{w.variance[o]} + double{w.epsilon});
    for (int r = 0; r < kSize; ++r) {
      for (int c = 0; c < kSize; ++c) {
        double acc = w.conv_bias[o];
        for (int i = 0; i < kIn; ++i) {
          for (int kr = 0; kr < kKernel; ++kr) {
            for (int kc = 0; kc < kKernel; ++kc) {
              const int rr = r + kr - 1, cc = c + kc - 1;
              if (rr < 0 || rr >= kSize || cc < 0 || cc >= kSize) continue;
              acc += double{x[(i * kSize + rr) * kSize + cc]} *
                     double{w.weight[((o * kIn + i) * kKernel + kr) * kKernel + kc]};
            }
          }
        }
        const double normalized = (acc - w.mean[o]) * inv_std * w.scale[o] + w.bias[o];
        y[(o * kSize + r) * kSize + c] = std::max(0.0, normalized);
      }
    }
  }
  return y;
}

onnx::ModelProto ThreeBatchNormModel() {
  onnx::ModelProto model = ParseModel(R"(
<ir_version: 8, opset_import: ["" : 15], producer_name: "tf2onnx", producer_version: "1.9.3">
three_bn (float[1,2,4,4] X, float[2] S2) => (float[1,2,4,4] Y)
{
  C1 = Conv <kernel_shape = [1, 1]> (X, W1)
  B1 = BatchNormalization <epsilon = 0.001> (C1, S1, Z1, M1, V1)
  C2 = Conv <kernel_shape = [1, 1]> (B1, W2)
  B2 = BatchNormalization <epsilon = 0.001> (C2, S2, Z2, M2, V2)
  C3 = Conv <kernel_shape = [1, 1]> (B2, W3)
  Y, RM, RV = BatchNormalization <epsilon = 0.001, training_mode = 1> (C3, S3, Z3, M3, V3)
}
)");
  onnx::GraphProto* g = model.mutable_graph();
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    AddFloatInitializer(g, "W" + n, {2, 2, 1, 1}, SeededValues(4, 10 + i, -1.0f, 1.0f));
    AddFloatInitializer(g, "S" + n, {2}, {1.25f, 0.75f});
    AddFloatInitializer(g, "Z" + n, {2}, {0.1f, -0.1f});
    if (i == 1) {
      AddFloatInitializer(g, "M1", {2}, {0.0f, 0.0f});
      AddFloatInitializer(g, "V1", {2}, {1.0f, 1.0f});
    } else {
      AddFloatInitializer(g, "M" + n, {2}, {0.2f, -0.3f});
      AddFloatInitializer(g, "V" + n, {2}, {0.5f, 1.5f});
    }
  }
  const char* names[] = {"conv1", "bn_initial", "conv2", "bn_override", "conv3", "bn_train"};
  for (int i = 0; i < 6; ++i) g->mutable_node(i)->set_name(names[i]);
  return model;
}

onnx::ModelProto ConcatBatchNormModel() {
  onnx::ModelProto model = ParseModel(R"(
<ir_version: 8, opset_import: ["" : 15]>
dense (float[1,2,4,4] A, float[1,2,4,4] B) => (float[1,4,4,4] Y)
{
  C = Concat <axis = 1> (A, B)
  N = BatchNormalization (C, S, Z, M, V)
  Y = Relu (N)
}
)");
  onnx::GraphProto* g = model.mutable_graph();
  AddFloatInitializer(g, "S", {4}, {1.25f, 0.75f, 1.0f, 0.5f});
  AddFloatInitializer(g, "Z", {4}, {0.1f, -0.1f, 0.0f, 0.2f});
  AddFloatInitializer(g, "M", {4}, {0.2f, -0.3f, 0.0f, 0.1f});
  AddFloatInitializer(g, "V", {4}, {0.5f, 1.5f, 1.0f, 2.0f});
  g->mutable_node(1)->set_name("bn_concat");
  return model;
}

onnx::ModelProto SuspiciousBatchNormModel() {
  onnx::ModelProto model = ParseModel(R"(
<ir_version: 8, opset_import: ["" : 15], producer_name: "pytorch", producer_version: "2.1">
suspicious (float[1,4,2,2] X) => (float[1,4,2,2] Y)
{
  C = Conv <kernel_shape = [1, 1]> (X, W)
  Y = BatchNormalization <epsilon = 0.001> (C, S, B, M, V)
}
)");
  onnx::GraphProto* g = model.mutable_graph();
  AddFloatInitializer(g, "W", {4, 4, 1, 1}, SeededValues(16, 21, -1.0f, 1.0f));
  AddFloatInitializer(g, "S", {4}, {1.0f, 1.0f, 0.0f, 1.0f});
  AddFloatInitializer(g, "B", {4}, {0.0f, 0.0f, 0.0f, std::numeric_limits<float>::quiet_NaN()});
  AddFloatInitializer(g, "M", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
  AddFloatInitializer(g, "V", {4}, {1.0f, 0.0f, -1.0f, 2.0f});
  g->mutable_node(0)->set_name("conv");
  g->mutable_node(1)->set_name("bn");
  return model;
}

}  // namespace bnfold::testing
