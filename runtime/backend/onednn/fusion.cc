#include "runtime/backend/onednn/fusion.h"

#include <algorithm>
#include <limits>
#include <optional>

namespace bnfold::onednn {

namespace {

using ir::OpKind;

bool IsAnchor(OpKind kind) {
  return kind == OpKind::kConv || kind == OpKind::kConvTranspose || kind == OpKind::kGemm ||
         kind == OpKind::kMatMul;
}

}  // namespace

bool IsEltwiseFollower(OpKind kind) {
  switch (kind) {
    case OpKind::kRelu:
    case OpKind::kLeakyRelu:
    case OpKind::kElu:
    case OpKind::kSigmoid:
    case OpKind::kTanh:
    case OpKind::kHardSwish:
    case OpKind::kClip:
      return true;
    default:
      return false;
  }
}

namespace {

bool IsBinaryFollower(OpKind kind) {
  return kind == OpKind::kAdd || kind == OpKind::kMul || kind == OpKind::kSub ||
         kind == OpKind::kDiv;
}

// The structural part of precondition 3 for a depthwise Conv follower
// (group and weights shape are checked against constants at plan time).
bool IsDepthwiseFollower(const ir::Node& node) {
  if (node.kind() != OpKind::kConv || node.num_inputs() < 2 || node.num_inputs() > 3) {
    return false;
  }
  for (int i = 1; i < node.num_inputs(); ++i) {
    if (node.input(i) == nullptr || !node.input(i)->constant_data()) return false;
  }
  const ir::ConvAttrs& a = node.attrs<ir::ConvAttrs>();
  auto all = [](const std::vector<int64_t>& v, size_t n, int64_t x) {
    return v.size() == n && std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
  };
  const bool stride_ok = a.strides.empty() || all(a.strides, 2, 1) || all(a.strides, 2, 2);
  return a.auto_pad == ir::AutoPad::kNotSet && stride_ok && all(a.pads, 4, 1) &&
         (a.dilations.empty() || all(a.dilations, 2, 1)) &&
         (a.kernel_shape.empty() || all(a.kernel_shape, 2, 3));
}

// The depthwise post-op for `node`, or nullopt when its constants do not
// make it one: W [C, 1, 3, 3] with group C, B [C] or none, all float32.
std::optional<PostOp> ResolveDepthwise(const ir::Node& node, const FusionPlanner& planner) {
  const Tensor* weights = planner.ConstantData(node.input(1));
  if (weights == nullptr || weights->dtype() != DataType::kFloat) return std::nullopt;
  const std::vector<int64_t>& w = weights->shape();
  if (w.size() != 4 || w[1] != 1 || w[2] != 3 || w[3] != 3) return std::nullopt;
  const ir::ConvAttrs& attrs = node.attrs<ir::ConvAttrs>();
  if (attrs.group != w[0]) return std::nullopt;
  const Tensor* bias = nullptr;
  if (node.num_inputs() > 2) {
    bias = planner.ConstantData(node.input(2));
    if (bias == nullptr || bias->dtype() != DataType::kFloat ||
        bias->shape() != std::vector<int64_t>{w[0]}) {
      return std::nullopt;
    }
  }
  PostOp op;
  op.kind = PostOp::Kind::kDepthwise;
  op.stride = attrs.stride(0);
  op.weights = weights;
  op.bias = bias;
  return op;
}

// Whether `value` exists by the time the anchor at `anchor_pos` runs.
bool AvailableAt(const ir::Value* value, size_t anchor_pos, const NodePositions& positions) {
  if (value == nullptr || value->constant_data() || value->is_graph_input()) return true;
  const ir::Node* producer = value->producer();
  if (producer == nullptr) return false;
  auto it = positions.find(producer);
  return it != positions.end() && it->second < anchor_pos;
}

// Preconditions 2-3 for `node` reading the chain value as input `index`.
bool CanFollow(const ir::Node& node, int index, size_t anchor_pos,
               const NodePositions& positions) {
  if (node.num_outputs() != 1 || node.output(0) == nullptr) return false;
  if (IsEltwiseFollower(node.kind())) {
    if (index != 0) return false;
  } else if (node.kind() == OpKind::kConv) {
    return index == 0 && IsDepthwiseFollower(node);
  } else if (IsBinaryFollower(node.kind())) {
    if (node.opset() < 7 || node.num_inputs() != 2) return false;
    const bool commutative = node.kind() == OpKind::kAdd || node.kind() == OpKind::kMul;
    if (index != 0 && !commutative) return false;
  } else {
    return false;
  }
  for (int i = 0; i < node.num_inputs(); ++i) {
    if (i == index) continue;
    if (node.input(i) == node.input(index)) return false;  // x + x
    if (!AvailableAt(node.input(i), anchor_pos, positions)) return false;
  }
  return true;
}

// A float scalar known now, or nullopt (also for a missing input: `absent`).
std::optional<float> ScalarBound(const ir::Node& node, int input, float absent,
                                 const FusionPlanner& planner) {
  const ir::Value* value = node.input(input);
  if (value == nullptr) return absent;
  const Tensor* data = planner.ConstantData(value);
  if (data == nullptr || data->dtype() != DataType::kFloat || data->num_elements() != 1) {
    return std::nullopt;
  }
  return *static_cast<const float*>(data->data());
}

// The eltwise post-op for `node`, or nullopt when its parameters are not
// known now (or the model's attributes are malformed: the standalone kernel
// then reports that).
std::optional<PostOp> ResolveEltwise(const ir::Node& node, const FusionPlanner& planner) {
  PostOp op;
  op.kind = PostOp::Kind::kEltwise;
  switch (node.kind()) {
    case OpKind::kRelu: op.algorithm = dnnl::algorithm::eltwise_relu; break;
    case OpKind::kLeakyRelu:
      op.algorithm = dnnl::algorithm::eltwise_relu;
      op.alpha = node.attrs<ir::ActivationAttrs>().alpha;
      break;
    case OpKind::kElu:
      op.algorithm = dnnl::algorithm::eltwise_elu;
      op.alpha = node.attrs<ir::ActivationAttrs>().alpha;
      break;
    case OpKind::kSigmoid: op.algorithm = dnnl::algorithm::eltwise_logistic; break;
    case OpKind::kTanh: op.algorithm = dnnl::algorithm::eltwise_tanh; break;
    case OpKind::kHardSwish: op.algorithm = dnnl::algorithm::eltwise_hardswish; break;
    case OpKind::kClip: {
      constexpr float kLowest = std::numeric_limits<float>::lowest();
      constexpr float kMax = std::numeric_limits<float>::max();
      std::optional<float> lo, hi;
      if (node.opset() < 11) {
        lo = node.attrs<ir::ClipAttrs>().min;
        hi = node.attrs<ir::ClipAttrs>().max;
      } else {
        lo = ScalarBound(node, 1, kLowest, planner);
        hi = ScalarBound(node, 2, kMax, planner);
      }
      if (!lo || !hi) return std::nullopt;
      if (*lo == 0.0f && *hi == kMax) {
        op.algorithm = dnnl::algorithm::eltwise_relu;  // keeps NaN, as Clip does
      } else {
        op.algorithm = dnnl::algorithm::eltwise_clip_v2;
        op.alpha = *lo;
        op.beta = *hi;
      }
      break;
    }
    default: return std::nullopt;
  }
  return op;
}

dnnl::algorithm BinaryAlgorithm(OpKind kind) {
  switch (kind) {
    case OpKind::kAdd: return dnnl::algorithm::binary_add;
    case OpKind::kMul: return dnnl::algorithm::binary_mul;
    case OpKind::kSub: return dnnl::algorithm::binary_sub;
    default: return dnnl::algorithm::binary_div;
  }
}

}  // namespace

FusionCandidates FindFusionCandidates(const std::vector<ir::Node*>& nodes,
                                      const NodePositions& positions) {
  FusionCandidates candidates;
  for (size_t pos = 0; pos < nodes.size(); ++pos) {
    const ir::Node& anchor = *nodes[pos];
    if (!IsAnchor(anchor.kind()) || anchor.num_outputs() != 1) continue;
    std::vector<const ir::Node*> followers;
    const ir::Value* value = anchor.output(0);
    while (value != nullptr && !value->is_graph_output() && value->uses().size() == 1) {
      const ir::Use& use = value->uses()[0];
      if (!CanFollow(*use.node, use.input_index, pos, positions)) break;
      followers.push_back(use.node);
      value = use.node->output(0);
    }
    if (!followers.empty()) candidates.emplace(&anchor, std::move(followers));
  }
  return candidates;
}

ResolvedChain ResolvePostOps(const ir::Node& anchor,
                             const std::vector<const ir::Node*>& followers,
                             FusionPlanner& planner) {
  ResolvedChain resolved;
  const int x = planner.ValueId(anchor.input(0));
  if (x < 0 || planner.Desc(x).dtype != DataType::kFloat) return resolved;
  int next_input = anchor.num_inputs();
  const ir::Value* chain_value = anchor.output(0);
  for (const ir::Node* follower : followers) {
    std::optional<PostOp> op;
    int operand_id = -1;
    if (IsEltwiseFollower(follower->kind())) {
      op = ResolveEltwise(*follower, planner);
    } else if (follower->kind() == OpKind::kConv) {
      op = ResolveDepthwise(*follower, planner);
    } else {
      const ir::Value* other =
          follower->input(0) == chain_value ? follower->input(1) : follower->input(0);
      operand_id = planner.ValueId(other);
      if (operand_id >= 0 && planner.Desc(operand_id).dtype == DataType::kFloat) {
        op = PostOp();
        op->operand = planner.Desc(operand_id);
        const bool runtime = planner.ConstantData(other) == nullptr;
        if (follower->kind() == OpKind::kAdd && runtime &&
            planner.CanOverwrite(other, anchor, *follower)) {
          op->kind = PostOp::Kind::kSum;
        } else {
          op->kind = PostOp::Kind::kBinary;
          op->algorithm = BinaryAlgorithm(follower->kind());
          op->input = next_input++;
        }
      }
    }
    if (!op) break;
    resolved.chain.ops.push_back(*op);
    resolved.followers.push_back(follower);
    resolved.operand_ids.push_back(operand_id);
    chain_value = follower->output(0);
  }
  return resolved;
}

}  // namespace bnfold::onednn
