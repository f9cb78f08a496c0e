#include "passes/fold/batchnorm_affine.h"

#include <cmath>

namespace bnfold::passes {

namespace {

// Precondition 5: C values, one per channel.
std::string ParameterShapeReason(const ir::Value& param, int64_t channels, bool spatial) {
  const std::vector<int64_t>& shape = param.constant_data()->shape();
  if (shape.empty() || shape[0] != channels) {
    return "'" + param.name() + "' has shape " + ShapeString(shape) + ", expected [" +
           std::to_string(channels) + "]";
  }
  for (size_t i = 1; i < shape.size(); ++i) {
    if (shape[i] != 1) {
      return std::string(!spatial ? "spatial = 0 with per-activation statistics"
                                      : "statistics") +
             " of shape " + ShapeString(shape) + " ('" + param.name() +
             "'): not a per-channel affine map";
    }
  }
  return "";
}

}  // namespace

MatchOr<ChannelAffine> MatchInferenceBatchNorm(const ir::Node& bn) {
  if (bn.kind() != ir::OpKind::kBatchNormalization) {
    return NoMatch{bn.Describe() + " is not a BatchNormalization"};
  }
  if (bn.num_inputs() < 5 || bn.input(0) == nullptr) {
    return NoMatch{"it does not have the five inputs X, scale, B, mean, var"};
  }
  const ir::BatchNormMode mode = ir::GetBatchNormMode(bn);  // precondition 1
  if (mode.training) return NoMatch{mode.reason, "training mode"};
  for (int i = 1; i < bn.num_outputs(); ++i) {  // precondition 2
    const ir::Value* out = bn.output(i);
    if (out != nullptr && (!out->uses().empty() || out->is_graph_output())) {
      return NoMatch{"its output '" + out->name() + "' is used; only Y may be read",
                     "statistics read"};
    }
  }
  static const char* const kRoles[] = {"scale", "B", "mean", "var"};
  for (int i = 1; i <= 4; ++i) {  // precondition 3
    if (std::string why = NotConstantReason(bn.input(i), kRoles[i - 1]); !why.empty()) {
      return NoMatch{why, "parameters not constant"};
    }
  }
  const ir::Value& x = *bn.input(0);
  if (std::string why = NotFloatingReason(x, "input"); !why.empty()) {  // precondition 4
    return NoMatch{why};
  }
  for (int i = 1; i <= 4; ++i) {
    const DataType dt = bn.input(i)->constant_data()->dtype();
    if (!IsFloatingPoint(dt)) {
      return NoMatch{std::string(kRoles[i - 1]) + " is " + DataTypeName(dt) +
                     ", not a floating-point type"};
    }
  }
  const ir::BatchNormAttrs& attrs = bn.attrs<ir::BatchNormAttrs>();
  const std::vector<int64_t>& scale_shape = bn.input(1)->constant_data()->shape();
  const int64_t channels = scale_shape.empty() ? 1 : scale_shape[0];
  for (int i = 1; i <= 4; ++i) {  // precondition 5
    std::string why = ParameterShapeReason(*bn.input(i), channels, attrs.spatial);
    if (!why.empty()) return NoMatch{why};
  }
  if (x.shape() && x.shape()->size() >= 2 && (*x.shape())[1].is_fixed() &&
      (*x.shape())[1].value != channels) {
    return NoMatch{"input '" + x.name() + "' has " + std::to_string((*x.shape())[1].value) +
                   " channels but the parameters have " + std::to_string(channels)};
  }

  const DoubleTensor gamma = ConstantAsDouble(*bn.input(1));
  const DoubleTensor beta = ConstantAsDouble(*bn.input(2));
  const DoubleTensor mean = ConstantAsDouble(*bn.input(3));
  const DoubleTensor var = ConstantAsDouble(*bn.input(4));
  ChannelAffine affine;
  affine.scale.resize(channels);
  affine.shift.resize(channels);
  for (int64_t c = 0; c < channels; ++c) {  // precondition 6
    const double denominator = var.values[c] + static_cast<double>(attrs.epsilon);
    if (!(denominator > 0.0)) {
      return NoMatch{"var + epsilon is not positive for channel " + std::to_string(c) + " (" +
                     NumberString(denominator) + ")"};
    }
    affine.scale[c] = gamma.values[c] / std::sqrt(denominator);
    affine.shift[c] = beta.values[c] - mean.values[c] * affine.scale[c];
    if (!std::isfinite(affine.scale[c]) || !std::isfinite(affine.shift[c])) {
      return NoMatch{"the scale or shift of channel " + std::to_string(c) + " is not finite"};
    }
  }
  return affine;
}

}  // namespace bnfold::passes
