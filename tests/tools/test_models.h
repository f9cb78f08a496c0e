// Small models for the tool tests, built from ONNX text plus seeded weights.
#pragma once

#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace bnfold::testing {

// X[N,3,4,4] -> Relu -> Relu -> Y, and Z = Identity(W) of a constant
// W[weight_count] (runs on today's kernels). Carries metadata, doc strings
// and a value_info for the intermediate R, to check what export keeps.
onnx::ModelProto ReluIdentityModel(size_t weight_count = 2000);

// X[N,3,8,8] -> Conv 'conv' (W[8,3,3,3], bias, pads 1) -> BatchNormalization
// 'bn' -> Relu -> Y, opset 15.
struct ConvBatchNormWeights {
  std::vector<float> weight, conv_bias, scale, bias, mean, variance;
  float epsilon = 1e-5f;
};
ConvBatchNormWeights DefaultConvBatchNormWeights();
onnx::ModelProto ConvBatchNormModel(const ConvBatchNormWeights& w);
// Y for one batch of X[1,3,8,8], in double: the independent reference.
std::vector<double> ConvBatchNormReference(const ConvBatchNormWeights& w,
                                           const std::vector<float>& x);

// Three Conv -> BatchNormalization pairs, producer tf2onnx, epsilon 1e-3:
//   'bn_initial'  moving mean all 0, variance all 1;
//   'bn_override' its scale is an initializer also listed as a graph input;
//   'bn_train'    training_mode = 1 (with running mean/var outputs).
onnx::ModelProto ThreeBatchNormModel();
// A DenseNet layer's BN: Concat -> BatchNormalization "bn_concat" -> Relu,
// which no fold can take (no linear op on either side).
onnx::ModelProto ConcatBatchNormModel();

// One Conv -> BatchNormalization 'bn' with suspicious statistics, producer
// pytorch, epsilon 1e-3: variance {1, 0, -1, 2}, scale {1, 1, 0, 1},
// bias {0, 0, 0, NaN}.
onnx::ModelProto SuspiciousBatchNormModel();

}  // namespace bnfold::testing
