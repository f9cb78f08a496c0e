#include "passes/fold/linear_op.h"

#include "runtime/ir/attrs.h"

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

// ---- the rows of kLinearOps

// Conv W [M, C/g, k...] and ConvTranspose W [C, M/g, k...].
std::string ReadConvolution(const ir::Node& node, const std::vector<int64_t>& w,
                            LinearOpInfo* info, bool transposed) {
  const int64_t group = node.attrs<ir::ConvAttrs>().group;
  if (w.size() < 3) return "weight has shape " + ShapeString(w);
  if (group < 1 || w[0] % group != 0) {
    return "weight shape " + ShapeString(w) + " does not split into " + std::to_string(group) +
           " groups";
  }
  int64_t run = 1;
  for (size_t i = 2; i < w.size(); ++i) run *= w[i];
  info->axes = WeightAxes{!transposed, group, w[0], w[1], run};
  info->out_channels = transposed ? w[1] * group : w[0];
  info->in_channels = transposed ? w[0] : w[1] * group;
  if (info->bias != nullptr) {
    const std::vector<int64_t>& b = info->bias->constant_data()->shape();
    if (b.size() != 1 || b[0] != info->out_channels) {
      return "bias '" + info->bias->name() + "' has shape " + ShapeString(b) + ", expected [" +
             std::to_string(info->out_channels) + "]";
    }
  }
  return "";
}

std::string ReadConv(const ir::Node& node, const std::vector<int64_t>& w, LinearOpInfo* info) {
  return ReadConvolution(node, w, info, false);
}

std::string ReadConvTranspose(const ir::Node& node, const std::vector<int64_t>& w,
                              LinearOpInfo* info) {
  return ReadConvolution(node, w, info, true);
}

std::string MatrixShapeReason(const LinearOpInfo& info, const std::vector<int64_t>& w) {
  if (w.size() == 2) return "";
  return "weight '" + info.weight->name() + "' has shape " + ShapeString(w) +
         "; only a 2-D constant right operand folds";
}

// Gemm B [K, N], or [N, K] with transB = 1.
std::string ReadGemm(const ir::Node& node, const std::vector<int64_t>& w, LinearOpInfo* info) {
  if (std::string why = MatrixShapeReason(*info, w); !why.empty()) return why;
  const ir::GemmAttrs& gemm = node.attrs<ir::GemmAttrs>();
  info->alpha = gemm.alpha;
  info->beta = gemm.beta;
  info->trans_a = gemm.trans_a;
  info->trans_b = gemm.trans_b;
  info->axes = WeightAxes{info->trans_b, 1, w[0], w[1], 1};
  info->in_channels = info->trans_b ? w[1] : w[0];
  info->out_channels = info->trans_b ? w[0] : w[1];
  if (info->bias != nullptr && info->bias->constant_data()->shape().size() > 2) {
    return "C has more than 2 dimensions";
  }
  return "";
}

// MatMul B [K, N].
std::string ReadMatMul(const ir::Node& node, const std::vector<int64_t>& w, LinearOpInfo* info) {
  if (std::string why = MatrixShapeReason(*info, w); !why.empty()) return why;
  info->axes = WeightAxes{false, 1, w[0], w[1], 1};
  info->in_channels = w[0];
  info->out_channels = w[1];
  return "";
}

// NC... data: channels on axis 1 of a tensor of the weight's rank.
MatchOr<ChannelLayout> ConvolutionLayout(int64_t channels, const LinearOpInfo& op) {
  ChannelLayout layout;
  layout.channels = channels;
  layout.rank = static_cast<int>(op.weight->constant_data()->shape().size());
  layout.axis_from_end = layout.rank - 2;
  return layout;
}

MatchOr<ChannelLayout> ConvOutputLayout(const LinearOpInfo& op, const ir::Value&) {
  return ConvolutionLayout(op.out_channels, op);
}

MatchOr<ChannelLayout> ConvInputLayout(const LinearOpInfo& op, const ir::Value&) {
  return ConvolutionLayout(op.in_channels, op);
}

MatchOr<ChannelLayout> GemmOutputLayout(const LinearOpInfo& op, const ir::Value&) {
  return ChannelLayout{2, 0, op.out_channels};
}

MatchOr<ChannelLayout> GemmInputLayout(const LinearOpInfo& op, const ir::Value&) {
  if (op.trans_a) {
    return NoMatch{op.node->Describe() + " has transA = 1: the channels would index rows of "
                   "the output, which no weight can scale"};
  }
  return ChannelLayout{2, 0, op.in_channels};
}

// The last axis, of y's rank (or A's when y's is unknown).
MatchOr<ChannelLayout> MatMulOutputLayout(const LinearOpInfo& op, const ir::Value& y) {
  ChannelLayout layout{KnownRank(y), 0, op.out_channels};
  const int a_rank = KnownRank(*op.node->input(0));
  if (layout.rank < 0 && a_rank >= 1) layout.rank = a_rank;
  return layout;
}

MatchOr<ChannelLayout> MatMulInputLayout(const LinearOpInfo& op, const ir::Value& x) {
  return ChannelLayout{KnownRank(x), 0, op.in_channels};
}

// Zero padding comes after a shift of the input: exact only without it.
MatchOr<std::string> ConvInputShiftReason(const LinearOpInfo& op) {
  const ir::ConvAttrs& attrs = op.node->attrs<ir::ConvAttrs>();
  std::string padding;
  if (attrs.auto_pad == ir::AutoPad::kSameUpper || attrs.auto_pad == ir::AutoPad::kSameLower) {
    // SAME pads nothing only for 1-wide kernels.
    if (op.axes.run > 1) {
      padding = attrs.auto_pad == ir::AutoPad::kSameUpper ? "auto_pad = SAME_UPPER"
                                                          : "auto_pad = SAME_LOWER";
    }
  } else if (attrs.auto_pad == ir::AutoPad::kNotSet) {
    for (int64_t p : attrs.pads) {
      if (p != 0) padding = "pads = " + ShapeString(attrs.pads);
    }
  }
  if (padding.empty()) return std::string();
  return op.node->Describe() + " pads its input (" + padding +
         "): the zero padding comes after the shift, so folding it would be wrong at the "
         "borders";
}

MatchOr<std::string> ConvTransposeInputShiftReason(const LinearOpInfo& op) {
  return op.node->Describe() + " is a ConvTranspose: a shift reaches its output borders a "
         "different number of times than the interior";
}

MatchOr<std::string> ExactInputShift(const LinearOpInfo&) { return std::string(); }

const LinearOpSpec kLinearOps[] = {
    {ir::OpKind::kConv, BiasForm::kVector, ReadConv, ConvOutputLayout, ConvInputLayout,
     ConvInputShiftReason},
    {ir::OpKind::kConvTranspose, BiasForm::kVector, ReadConvTranspose, ConvOutputLayout,
     ConvInputLayout, ConvTransposeInputShiftReason},
    {ir::OpKind::kGemm, BiasForm::kGemmC, ReadGemm, GemmOutputLayout, GemmInputLayout,
     ExactInputShift},
    {ir::OpKind::kMatMul, BiasForm::kAddAfter, ReadMatMul, MatMulOutputLayout, MatMulInputLayout,
     ExactInputShift},
};

}  // namespace

const LinearOpSpec* FindLinearOp(ir::OpKind kind) {
  for (const LinearOpSpec& spec : kLinearOps) {
    if (spec.kind == kind) return &spec;
  }
  return nullptr;
}

bool IsLinearKind(ir::OpKind kind) { return FindLinearOp(kind) != nullptr; }

MatchOr<LinearOpInfo> MatchLinearOp(ir::Node& node) {
  LinearOpInfo info;
  info.node = &node;
  info.spec = FindLinearOp(node.kind());
  if (info.spec == nullptr) {
    return NoMatch{node.Describe() + " is not a Conv, ConvTranspose, Gemm or MatMul"};
  }
  const std::string prefix = node.Describe() + ": ";
  if (node.input(0) == nullptr) return NoMatch{prefix + "its data input is missing"};
  info.weight = node.input(1);
  if (std::string why = CheckFloatConstant(info.weight, "weight"); !why.empty()) {
    return NoMatch{prefix + why};
  }
  info.bias = node.input(2);
  if (info.bias != nullptr) {
    const char* role = info.spec->bias == BiasForm::kGemmC ? "C" : "bias";
    if (std::string why = CheckFloatConstant(info.bias, role); !why.empty()) {
      return NoMatch{prefix + why};
    }
  }
  if (std::string why = info.spec->read(node, info.weight->constant_data()->shape(), &info);
      !why.empty()) {
    return NoMatch{prefix + why};
  }
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
