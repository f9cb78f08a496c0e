#include "passes/fold/linear_op.h"

namespace bnfold::passes {

namespace {

std::string CheckFloatConstant(const ir::Value* value, const std::string& role) {
  if (std::string why = NotConstantReason(value, role); !why.empty()) return why;
  const DataType dt = value->constant_data()->dtype();
  if (!IsFloatingPoint(dt)) {
    return role + " '" + value->name() + "' is " + DataTypeName(dt) +
           ", not a floating-point type";
  }
  return "";
}

std::string CheckVectorBias(const ir::Value& bias, int64_t channels, const std::string& role) {
  const std::vector<int64_t>& shape = bias.constant_data()->shape();
  if (shape.size() != 1 || shape[0] != channels) {
    return role + " '" + bias.name() + "' has shape " + ShapeString(shape) + ", expected [" +
           std::to_string(channels) + "]";
  }
  return "";
}

}  // namespace

const char* LinearOpName(LinearOp op) {
  switch (op) {
    case LinearOp::kConv: return "Conv";
    case LinearOp::kConvTranspose: return "ConvTranspose";
    case LinearOp::kGemm: return "Gemm";
    case LinearOp::kMatMul: return "MatMul";
  }
  return "?";
}

bool IsLinearKind(ir::OpKind kind) {
  return kind == ir::OpKind::kConv || kind == ir::OpKind::kConvTranspose ||
         kind == ir::OpKind::kGemm || kind == ir::OpKind::kMatMul;
}

MatchOr<LinearOpInfo> MatchLinearOp(ir::Node& node) {
  LinearOpInfo info;
  info.node = &node;
  switch (node.kind()) {
    case ir::OpKind::kConv: info.op = LinearOp::kConv; break;
    case ir::OpKind::kConvTranspose: info.op = LinearOp::kConvTranspose; break;
    case ir::OpKind::kGemm: info.op = LinearOp::kGemm; break;
    case ir::OpKind::kMatMul: info.op = LinearOp::kMatMul; break;
    default:
      return NoMatch{node.Describe() + " is not a Conv, ConvTranspose, Gemm or MatMul"};
  }
  const std::string prefix = node.Describe() + ": ";
  if (node.input(0) == nullptr) return NoMatch{prefix + "its data input is missing"};
  info.weight = node.input(1);
  if (std::string why = CheckFloatConstant(info.weight, "weight"); !why.empty()) {
    return NoMatch{prefix + why};
  }
  const std::vector<int64_t>& w = info.weight->constant_data()->shape();
  info.bias = node.input(2);
  const bool is_conv = info.op == LinearOp::kConv || info.op == LinearOp::kConvTranspose;
  if (info.bias != nullptr) {
    if (std::string why = CheckFloatConstant(info.bias, is_conv ? "bias" : "C"); !why.empty()) {
      return NoMatch{prefix + why};
    }
  }
  if (is_conv) {
    info.group = node.attrs<ir::ConvAttrs>().group;
    if (w.size() < 3) return NoMatch{prefix + "weight has shape " + ShapeString(w)};
    if (info.group < 1 || w[0] % info.group != 0) {
      return NoMatch{prefix + "weight shape " + ShapeString(w) + " does not split into " +
                     std::to_string(info.group) + " groups"};
    }
    if (info.op == LinearOp::kConv) {
      info.out_channels = w[0];
      info.in_channels = w[1] * info.group;
    } else {
      info.out_channels = w[1] * info.group;
      info.in_channels = w[0];
    }
    if (info.bias != nullptr) {
      if (std::string why = CheckVectorBias(*info.bias, info.out_channels, "bias");
          !why.empty()) {
        return NoMatch{prefix + why};
      }
    }
    return info;
  }
  if (w.size() != 2) {
    return NoMatch{prefix + "weight '" + info.weight->name() + "' has shape " + ShapeString(w) +
                   "; only a 2-D constant right operand folds"};
  }
  if (info.op == LinearOp::kGemm) {
    const ir::GemmAttrs& gemm = node.attrs<ir::GemmAttrs>();
    info.alpha = gemm.alpha;
    info.beta = gemm.beta;
    info.trans_a = gemm.trans_a;
    info.trans_b = gemm.trans_b;
    info.in_channels = info.trans_b ? w[1] : w[0];
    info.out_channels = info.trans_b ? w[0] : w[1];
    if (info.bias != nullptr && info.bias->constant_data()->shape().size() > 2) {
      return NoMatch{prefix + "C has more than 2 dimensions"};
    }
    return info;
  }
  info.in_channels = w[0];  // MatMul
  info.out_channels = w[1];
  return info;
}

MatchOr<DoubleTensor> ExpandLastAxis(const DoubleTensor& c, int64_t n, const std::string& what) {
  if (c.shape.empty()) return DoubleTensor{{n}, std::vector<double>(n, c.values[0])};
  const int64_t last = c.shape.back();
  if (last == n) return c;
  if (last != 1) {
    return NoMatch{what + " has shape " + ShapeString(c.shape) + ", which does not broadcast to " +
                   std::to_string(n) + " columns"};
  }
  DoubleTensor out;
  out.shape = c.shape;
  out.shape.back() = n;
  out.values.reserve(c.values.size() * n);
  for (double v : c.values) out.values.insert(out.values.end(), n, v);
  return out;
}

DataType BiasDtype(const LinearOpInfo& info) {
  return info.bias ? info.bias->constant_data()->dtype() : info.weight->constant_data()->dtype();
}

bool CanRewriteInPlace(const ir::Value& value) {
  const ir::Node* producer = value.producer();
  return value.IsConstant() && value.uses().size() == 1 && !value.is_graph_input() &&
         !value.is_graph_output() &&
         (producer == nullptr || producer->kind() == ir::OpKind::kConstant) &&
         value.constant_data().use_count() == 1 && value.constant_data()->owns_data_alone();
}

StatusOr<PreparedRewrite> PrepareLinearRewrite(ir::Graph& graph, const LinearRewrite& rewrite) {
  PreparedRewrite prepared;
  for (const ConstantRewrite& c : rewrite.constants) {
    ir::ConstTensorPtr data = c.data;
    if (c.rescale) {
      // Shared with the old initializer until the commit removes it.
      const ir::Value& old = *c.node->input(c.input);
      if (!CanRewriteInPlace(old)) {
        return Internal(c.node->Describe() + ": input '" + old.name() +
                        "' gained another reader between match and rewrite");
      }
      data = old.constant_data();
    }
    StatusOr<ir::Value*> v = AddFreshInitializer(graph, c.base_name, std::move(data));
    if (!v.ok()) return v.status();
    prepared.constants.push_back(*v);
  }
  if (rewrite.append_bias) {
    const ir::Node& node = *rewrite.append_bias_after;
    const std::string base = (node.name().empty() ? node.output(0)->name() : node.name());
    StatusOr<ir::Value*> v = AddFreshInitializer(graph, base + "_folded_bias", rewrite.append_bias);
    if (!v.ok()) return v.status();
    prepared.append_bias = *v;
  }
  return prepared;
}

void CommitLinearRewrite(ir::Graph& graph, const LinearRewrite& rewrite,
                         const PreparedRewrite& prepared) {
  for (size_t i = 0; i < rewrite.constants.size(); ++i) {
    const ConstantRewrite& c = rewrite.constants[i];
    ir::Value* old = c.node->input(c.input);
    ir::Value* replacement = prepared.constants[i];
    graph.SetNodeInput(c.node, c.input, replacement);
    RemoveIfDead(graph, old);
    if (c.rescale) {
      // The old value fed only this input and is gone: the new one is the
      // tensor's only holder (CanRewriteInPlace held at prepare).
      c.rescale(const_cast<Tensor&>(*replacement->constant_data()));
    }
  }
  if (ir::Node* gemm = rewrite.gemm_beta_to_one) {
    SetFloatAttr(*gemm, "beta", 1.0f);
    // Before opset 7 a C smaller than [M, N] needs broadcast = 1.
    if (gemm->opset() < 7) SetIntAttr(*gemm, "broadcast", 1);
  }
}

Status AppendBiasAdd(ir::Graph& graph, ir::Node* node, ir::Value* bias, ir::Value* target) {
  const std::string name = (node->name().empty() ? target->name() : node->name()) + "_bias";
  StatusOr<ir::Node*> add = graph.AddNode(ir::OpKind::kAdd, "Add", node->domain(), name,
                                          node->opset(), {node->output(0), bias}, {target});
  if (!add.ok()) return Internal("inserting the folded bias: " + add.status().message());
  if (node->opset() < 7) SetIntAttr(**add, "broadcast", 1);
  return Status::Ok();
}

}  // namespace bnfold::passes
