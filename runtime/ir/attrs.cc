#include "runtime/ir/attrs.h"

#include "runtime/common/status_macros.h"
#include "runtime/ir/graph.h"

namespace bnfold::ir {

int64_t ConvAttrs::pad_begin(size_t axis) const {
  if (auto_pad != AutoPad::kNotSet || pads.empty()) return 0;
  return axis < pads.size() ? pads[axis] : 0;
}

int64_t ConvAttrs::pad_end(size_t axis, size_t spatial) const {
  if (auto_pad != AutoPad::kNotSet || pads.empty()) return 0;
  return axis + spatial < pads.size() ? pads[axis + spatial] : 0;
}

namespace {

StatusOr<AutoPad> ParseAutoPad(const Node& node) {
  ASSIGN_OR_RETURN(const std::string s, node.GetString("auto_pad", "NOTSET"));
  if (s == "NOTSET") return AutoPad::kNotSet;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  if (s == "VALID") return AutoPad::kValid;
  return InvalidModel(node.Describe() + ": auto_pad '" + s +
                      "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
}

StatusOr<ConvAttrs> ParseConv(const Node& node) {
  ConvAttrs a;
  ASSIGN_OR_RETURN(a.auto_pad, ParseAutoPad(node));
  ASSIGN_OR_RETURN(a.group, node.GetInt("group", 1));
  ASSIGN_OR_RETURN(a.kernel_shape, node.GetInts("kernel_shape", {}));
  ASSIGN_OR_RETURN(a.strides, node.GetInts("strides", {}));
  ASSIGN_OR_RETURN(a.dilations, node.GetInts("dilations", {}));
  ASSIGN_OR_RETURN(a.pads, node.GetInts("pads", {}));
  if (node.kind() == OpKind::kConvTranspose) {
    ASSIGN_OR_RETURN(a.output_padding, node.GetInts("output_padding", {}));
    ASSIGN_OR_RETURN(a.output_shape, node.GetInts("output_shape", {}));
  }
  return a;
}

StatusOr<BatchNormAttrs> ParseBatchNorm(const Node& node) {
  BatchNormAttrs a;
  ASSIGN_OR_RETURN(a.epsilon, node.GetFloat("epsilon", 1e-5f));
  ASSIGN_OR_RETURN(a.momentum, node.GetFloat("momentum", 0.9f));
  const int64_t opset = node.opset();
  if (opset < 9) {
    ASSIGN_OR_RETURN(const int64_t spatial, node.GetInt("spatial", 1));
    a.spatial = spatial != 0;
  }
  if (opset < 7) {
    ASSIGN_OR_RETURN(const int64_t is_test, node.GetInt("is_test", 0));
    a.is_test = is_test != 0;
  }
  if (opset >= 14) {
    ASSIGN_OR_RETURN(const int64_t training, node.GetInt("training_mode", 0));
    a.training_mode = training != 0;
  }
  return a;
}

StatusOr<GemmAttrs> ParseGemm(const Node& node) {
  GemmAttrs a;
  ASSIGN_OR_RETURN(a.alpha, node.GetFloat("alpha", 1.0f));
  ASSIGN_OR_RETURN(a.beta, node.GetFloat("beta", 1.0f));
  ASSIGN_OR_RETURN(const int64_t trans_a, node.GetInt("transA", 0));
  ASSIGN_OR_RETURN(const int64_t trans_b, node.GetInt("transB", 0));
  a.trans_a = trans_a != 0;
  a.trans_b = trans_b != 0;
  if (node.opset() < 7) {
    ASSIGN_OR_RETURN(const int64_t broadcast, node.GetInt("broadcast", 0));
    a.broadcast = broadcast != 0;
  }
  return a;
}

StatusOr<DropoutAttrs> ParseDropout(const Node& node) {
  DropoutAttrs a;
  if (node.opset() < 12) {
    ASSIGN_OR_RETURN(a.ratio, node.GetFloat("ratio", 0.5f));
  }
  if (node.opset() < 7) {
    ASSIGN_OR_RETURN(const int64_t is_test, node.GetInt("is_test", 0));
    a.is_test = is_test != 0;
  }
  return a;
}

StatusOr<ReshapeAttrs> ParseReshape(const Node& node) {
  ReshapeAttrs a;
  if (node.opset() >= 14) {
    ASSIGN_OR_RETURN(const int64_t allowzero, node.GetInt("allowzero", 0));
    a.allowzero = allowzero != 0;
  }
  if (node.opset() < 5 && node.FindAttribute("shape") != nullptr) {
    ASSIGN_OR_RETURN(a.shape, node.GetInts("shape", {}));
  }
  return a;
}

StatusOr<TransposeAttrs> ParseTranspose(const Node& node) {
  TransposeAttrs a;
  if (node.FindAttribute("perm") != nullptr) {
    ASSIGN_OR_RETURN(a.perm, node.GetInts("perm", {}));
  }
  return a;
}

StatusOr<ClipAttrs> ParseClip(const Node& node) {
  ClipAttrs a;
  if (node.opset() < 11) {
    ASSIGN_OR_RETURN(a.min, node.GetFloat("min", a.min));
    ASSIGN_OR_RETURN(a.max, node.GetFloat("max", a.max));
  }
  return a;
}

// ONNX's defaults: LeakyRelu alpha 0.01; Elu alpha 1; Selu alpha and gamma
// (stored in beta); HardSigmoid alpha 0.2, beta 0.5.
StatusOr<ActivationAttrs> ParseActivation(const Node& node) {
  ActivationAttrs a;
  const char* beta_name = nullptr;
  switch (node.kind()) {
    case OpKind::kLeakyRelu: a.alpha = 0.01f; break;
    case OpKind::kElu: a.alpha = 1.0f; break;
    case OpKind::kSelu:
      a.alpha = 1.67326319217681884765625f;
      a.beta = 1.05070102214813232421875f;
      beta_name = "gamma";
      break;
    default:  // HardSigmoid
      a.alpha = 0.2f;
      a.beta = 0.5f;
      beta_name = "beta";
      break;
  }
  ASSIGN_OR_RETURN(a.alpha, node.GetFloat("alpha", a.alpha));
  if (beta_name != nullptr) {
    ASSIGN_OR_RETURN(a.beta, node.GetFloat(beta_name, a.beta));
  }
  return a;
}

template <typename T>
StatusOr<TypedAttrs> Wrap(StatusOr<T> parsed) {
  if (!parsed.ok()) return parsed.status();
  return TypedAttrs(std::move(*parsed));
}

}  // namespace

StatusOr<TypedAttrs> ParseTypedAttrs(const Node& node) {
  switch (node.kind()) {
    case OpKind::kConv:
    case OpKind::kConvTranspose:
    case OpKind::kQLinearConv:  // Conv's attributes, read by its shape rule
    case OpKind::kConvInteger:
      return Wrap(ParseConv(node));
    case OpKind::kBatchNormalization:
      return Wrap(ParseBatchNorm(node));
    case OpKind::kGemm:
      return Wrap(ParseGemm(node));
    case OpKind::kDropout:
      return Wrap(ParseDropout(node));
    case OpKind::kReshape:
      return Wrap(ParseReshape(node));
    case OpKind::kFlatten: {
      FlattenAttrs a;
      ASSIGN_OR_RETURN(a.axis, node.GetInt("axis", 1));
      return TypedAttrs(a);
    }
    case OpKind::kTranspose:
      return Wrap(ParseTranspose(node));
    case OpKind::kClip:
      return Wrap(ParseClip(node));
    case OpKind::kLeakyRelu:
    case OpKind::kElu:
    case OpKind::kSelu:
    case OpKind::kHardSigmoid:
      return Wrap(ParseActivation(node));
    default:
      return TypedAttrs();
  }
}

BatchNormMode GetBatchNormMode(const Node& bn) {
  const BatchNormAttrs& a = bn.attrs<BatchNormAttrs>();
  const int64_t opset = bn.opset();
  const std::string in_opset = "in opset " + std::to_string(opset);
  if (opset < 7) {
    if (a.is_test) return {};
    return {true, std::string(bn.FindAttribute("is_test") ? "is_test = 0" : "is_test = 0 (the default)") +
                      ": " + in_opset + " that is training mode (normalizes with batch statistics)"};
  }
  if (opset < 14) {
    for (int i = 1; i < bn.num_outputs(); ++i) {
      if (bn.output(i) != nullptr) {
        return {true, "it declares the optional output '" + bn.output(i)->name() + "': " +
                          in_opset + " that selects training mode"};
      }
    }
    return {};
  }
  if (a.training_mode) return {true, "training_mode = 1 (normalizes with batch statistics)"};
  return {};
}

}  // namespace bnfold::ir
