// Typed attributes of the ops that passes and the planner reason about,
// parsed once when a node is created or its attributes change, with ONNX's
// defaults for the node's opset applied there. The raw attributes stay on the
// node (export is lossless); code that decides something about a node reads
// these structs, never attribute strings.
//
// Adding an op: a struct here, a member of TypedAttrs, a case in
// ParseTypedAttrs (attrs.cc).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bnfold/status.h"

namespace bnfold::ir {

class Node;

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// Conv and ConvTranspose. Empty per-axis lists mean ONNX's default (1 for
// strides and dilations, 0 for pads and output_padding, W's spatial dims
// for kernel_shape); the getters apply it.
struct ConvAttrs {
  AutoPad auto_pad = AutoPad::kNotSet;
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
  std::vector<int64_t> output_padding, output_shape;  // ConvTranspose only

  int64_t stride(size_t axis) const { return axis < strides.size() ? strides[axis] : 1; }
  int64_t dilation(size_t axis) const { return axis < dilations.size() ? dilations[axis] : 1; }
  // Explicit padding at the start/end of spatial axis `axis` of `spatial`
  // (0 when pads is absent, or when auto_pad decides the padding).
  int64_t pad_begin(size_t axis) const;
  int64_t pad_end(size_t axis, size_t spatial) const;
};

// BatchNormalization. Whether it normalizes with batch statistics also
// depends on its outputs: ask GetBatchNormMode, never these fields.
struct BatchNormAttrs {
  float epsilon = 1e-5f;
  float momentum = 0.9f;
  bool spatial = true;  // opsets < 9; false: one statistic per activation
  // Opsets 1 and 6: is_test (default 0, training). Opsets >= 14:
  // training_mode (default 0). Unused in opsets 7 to 13.
  bool is_test = false;
  bool training_mode = false;
};

struct GemmAttrs {
  float alpha = 1.0f;
  float beta = 1.0f;
  bool trans_a = false;
  bool trans_b = false;
  bool broadcast = false;  // opsets < 7
};

// Dropout. From opset 12 ratio and training_mode are inputs.
struct DropoutAttrs {
  float ratio = 0.5f;    // opsets < 12
  bool is_test = false;  // opsets < 7 (default 0: training)
};

struct ReshapeAttrs {
  bool allowzero = false;                // opsets >= 14
  std::optional<std::vector<int64_t>> shape;  // opsets < 5: the shape attribute
};

struct FlattenAttrs {
  int64_t axis = 1;
};

struct TransposeAttrs {
  std::optional<std::vector<int64_t>> perm;  // absent: reverse the axes
};

// Clip before opset 11 (min/max attributes); from 11 they are inputs.
struct ClipAttrs {
  float min = std::numeric_limits<float>::lowest();
  float max = std::numeric_limits<float>::max();
};

// LeakyRelu, Elu, Selu, HardSigmoid: alpha and (Selu's gamma, HardSigmoid's
// beta) with each op's default.
struct ActivationAttrs {
  float alpha = 0.0f;
  float beta = 0.0f;
};

using TypedAttrs = std::variant<std::monostate, ConvAttrs, BatchNormAttrs, GemmAttrs,
                                DropoutAttrs, ReshapeAttrs, FlattenAttrs, TransposeAttrs,
                                ClipAttrs, ActivationAttrs>;

// The typed attributes of `node` (by its kind and opset); an error naming the
// node and attribute when one has the wrong type or an unknown value.
// std::monostate for ops without a struct.
StatusOr<TypedAttrs> ParseTypedAttrs(const Node& node);

// The one answer to "does this BatchNormalization normalize with the
// statistics of its input batch": per the node's opset, is_test = 0 (1, 6),
// a requested mean/var/saved output (7, 9), training_mode = 1 (14, 15).
struct BatchNormMode {
  bool training = false;
  // Why it is training mode ("" in inference mode), for messages.
  std::string reason;
};
BatchNormMode GetBatchNormMode(const Node& batchnorm);

}  // namespace bnfold::ir
