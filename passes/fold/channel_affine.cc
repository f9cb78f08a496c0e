#include "passes/fold/channel_affine.h"

namespace bnfold::passes {

ChannelAffine ChannelAffine::Gather(const std::vector<int64_t>& g) const {
  ChannelAffine out;
  for (int64_t c : g) {
    out.scale.push_back(scale[c]);
    out.shift.push_back(shift[c]);
  }
  return out;
}

bool ChannelAffine::has_shift() const {
  for (double t : shift) {
    if (t != 0.0) return true;
  }
  return false;
}

std::string ChannelLayout::Describe() const {
  if (rank < 0) return "the last axis of a tensor of unknown rank";
  return "axis " + std::to_string(rank - 1 - axis_from_end) + " of a rank-" +
         std::to_string(rank) + " tensor";
}

MatchOr<AffineOperands> SplitAffineOperands(ir::Node& node) {
  using ir::OpKind;
  const OpKind kind = node.kind();
  if (kind != OpKind::kMul && kind != OpKind::kAdd && kind != OpKind::kSub &&
      kind != OpKind::kDiv) {
    return NoMatch{node.Describe() + " is not Mul/Add/Sub/Div"};
  }
  if (node.num_inputs() != 2 || node.input(0) == nullptr || node.input(1) == nullptr) {
    return NoMatch{node.Describe() + " does not have two inputs"};
  }
  if (node.opset() < 7) {
    return NoMatch{node.Describe() + " uses the legacy broadcast attributes of opset " +
                   std::to_string(node.opset())};
  }
  ir::Value* a = node.input(0);
  ir::Value* b = node.input(1);
  // Overridable initializers count as constants here so the refusal below
  // can say why they do not fold.
  const bool a_const = a->constant_data() != nullptr;
  const bool b_const = b->constant_data() != nullptr;
  if (a_const == b_const) {
    return NoMatch{node.Describe() + (a_const ? " has only constant operands"
                                              : " has no constant operand")};
  }
  AffineOperands ops;
  ops.node = &node;
  ops.data = a_const ? b : a;
  ops.constant = a_const ? a : b;
  ops.constant_first = a_const;
  if (kind == OpKind::kDiv && ops.constant_first) {
    return NoMatch{node.Describe() + " divides a constant by a tensor: not affine"};
  }
  const std::string why = NotConstantReason(ops.constant, "operand");
  if (!why.empty()) return NoMatch{node.Describe() + ": " + why};
  if (!IsFloatingPoint(ops.constant->constant_data()->dtype())) {
    return NoMatch{node.Describe() + ": constant '" + ops.constant->name() + "' is " +
                   DataTypeName(ops.constant->constant_data()->dtype()) +
                   ", not a floating-point type"};
  }
  return ops;
}

MatchOr<std::vector<double>> PerChannelValues(const DoubleTensor& k, const std::string& name,
                                              const ChannelLayout& layout) {
  const int k_rank = static_cast<int>(k.shape.size());
  const std::string where = "constant '" + name + "' of shape " + ShapeString(k.shape);
  if (layout.rank >= 0 ? k_rank > layout.rank : k_rank > layout.axis_from_end + 1) {
    return NoMatch{where + " has more dimensions than the data (" + layout.Describe() +
                   " holds the channels), so it would widen the output"};
  }
  int64_t stride = 0;  // 0: one value for every channel
  for (int i = 0; i < k_rank; ++i) {
    const int from_end = k_rank - 1 - i;
    const int64_t d = k.shape[i];
    if (d == 1) continue;
    if (from_end == layout.axis_from_end && d == layout.channels) {
      stride = 1;
      continue;
    }
    return NoMatch{where + " broadcasts along an axis other than the channel axis (" +
                   layout.Describe() + " with " + std::to_string(layout.channels) +
                   " channels)"};
  }
  std::vector<double> per_channel(static_cast<size_t>(layout.channels));
  for (int64_t c = 0; c < layout.channels; ++c) per_channel[c] = k.values[c * stride];
  return per_channel;
}

MatchOr<ChannelAffine> ToChannelAffine(const AffineOperands& operands,
                                       const ChannelLayout& layout) {
  const DoubleTensor k = ConstantAsDouble(*operands.constant);
  MATCH_OR_RETURN(std::vector<double> values,
                  PerChannelValues(k, operands.constant->name(), layout));
  const size_t n = values.size();
  ChannelAffine affine{std::vector<double>(n, 1.0), std::vector<double>(n, 0.0)};
  switch (operands.node->kind()) {
    case ir::OpKind::kMul:
      affine.scale = values;
      break;
    case ir::OpKind::kAdd:
      affine.shift = values;
      break;
    case ir::OpKind::kSub:
      for (size_t c = 0; c < n; ++c) {
        if (operands.constant_first) {  // k - x
          affine.scale[c] = -1.0;
          affine.shift[c] = values[c];
        } else {
          affine.shift[c] = -values[c];
        }
      }
      break;
    case ir::OpKind::kDiv:
      for (size_t c = 0; c < n; ++c) {
        if (values[c] == 0.0) {
          return NoMatch{operands.node->Describe() + " divides channel " + std::to_string(c) +
                         " by zero"};
        }
        affine.scale[c] = 1.0 / values[c];
      }
      break;
    default:
      return NoMatch{operands.node->Describe() + " is not Mul/Add/Sub/Div"};
  }
  return affine;
}

}  // namespace bnfold::passes
