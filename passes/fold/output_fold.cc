#include "passes/fold/output_fold.h"

#include "passes/fold/weight_fold.h"
#include "runtime/common/status_macros.h"

namespace bnfold::passes {

namespace {

std::string NodeBase(const ir::Node& node) {
  return node.name().empty() ? node.output(0)->name() : node.name();
}

// MatMul -> Add(constant per-column bias) as one producer.
MatchOr<LinearProducer> MatchMatMulWithBias(const ir::Value& y, ir::Node& add) {
  const std::string not_linear =
      "'" + y.name() + "' comes from " + add.Describe() + ", not from a linear op";
  MatchOr<AffineOperands> ops = SplitAffineOperands(add);
  if (!ops.ok()) return NoMatch{not_linear};
  ir::Node* matmul = ops->data->producer();
  if (matmul == nullptr || matmul->kind() != ir::OpKind::kMatMul) return NoMatch{not_linear};
  const std::string prefix = "MatMul bias " + add.Describe() + ": ";
  if (std::string why = SoleUseReason(*ops->data, add); !why.empty()) {
    return NoMatch{prefix + why};
  }
  MATCH_OR_RETURN(LinearOpInfo op, MatchLinearOp(*matmul));
  LinearProducer producer;
  producer.op = op;
  MATCH_OR_RETURN(producer.layout, op.spec->output_layout(op, *ops->data));
  MatchOr<std::vector<double>> per_column =
      PerChannelValues(ConstantAsDouble(*ops->constant), ops->constant->name(), producer.layout);
  if (!per_column.ok()) return NoMatch{prefix + per_column.reason()};
  producer.bias_add = &add;
  producer.bias_add_input = ops->constant_first ? 0 : 1;
  producer.output = add.output(0);
  return producer;
}

}  // namespace

MatchOr<LinearProducer> MatchLinearProducer(const ir::Value& y) {
  ir::Node* p = y.producer();
  if (p == nullptr) {
    return NoMatch{"'" + y.name() + "' is a graph input or a constant, not the output of a linear op",
                   y.constant_data() ? "on a constant" : "after a graph input"};
  }
  if (p->kind() == ir::OpKind::kAdd) return MatchMatMulWithBias(y, *p);
  MatchOr<LinearOpInfo> op = MatchLinearOp(*p);
  if (!op.ok()) {
    return NoMatch{"'" + y.name() + "' comes from " + op.reason(),
                   p->kind() == ir::OpKind::kAdd || !IsLinearKind(p->kind())
                       ? "after " + p->op_type()
                       : "after " + p->op_type() + " it cannot rewrite"};
  }
  if (y.producer_output() != 0) {
    return NoMatch{"'" + y.name() + "' is not the main output of " + p->Describe()};
  }
  LinearProducer producer;
  producer.op = *op;
  producer.output = p->output(0);
  MATCH_OR_RETURN(producer.layout, op->spec->output_layout(*op, y));
  return producer;
}

MatchOr<LinearRewrite> PlanOutputAffine(const LinearProducer& producer,
                                        const ChannelAffine& affine) {
  const LinearOpInfo& op = producer.op;
  ir::Node* node = op.node;
  const int64_t n = op.out_channels;
  if (affine.channels() != n) {
    return NoMatch{"it has " + std::to_string(affine.channels()) + " channels but " +
                   node->Describe() + " produces " + std::to_string(n)};
  }
  const std::vector<double>& s = affine.scale;
  const std::vector<double>& t = affine.shift;
  LinearRewrite rewrite;

  MATCH_OR_RETURN(FoldedWeight new_weight,
                  ScaleOutputChannels(op, s, "weight of " + node->Describe()));
  rewrite.constants.push_back(
      {node, 1, new_weight.data, op.weight->name() + "_folded", new_weight.rescale});

  const std::string bias_base = op.bias ? op.bias->name() + "_folded" : NodeBase(*node) + "_bias";
  switch (op.spec->bias) {
    case BiasForm::kVector: {
      DoubleTensor b = op.bias ? ConstantAsDouble(*op.bias)
                               : DoubleTensor{{n}, std::vector<double>(n, 0.0)};
      for (int64_t m = 0; m < n; ++m) b.values[m] = b.values[m] * s[m] + t[m];
      MATCH_OR_RETURN(ir::ConstTensorPtr new_bias,
                      RoundToDtype(BiasDtype(op), b, "bias of " + node->Describe()));
      rewrite.constants.push_back({node, 2, new_bias, bias_base});
      break;
    }
    case BiasForm::kGemmC: {
      if (op.bias == nullptr && !affine.has_shift()) break;
      DoubleTensor c{{n}, std::vector<double>(n, 0.0)};
      if (op.bias != nullptr) {
        MATCH_OR_RETURN(c, ExpandLastAxis(ConstantAsDouble(*op.bias), n, "C of " + node->Describe()));
      }
      const double beta = op.bias ? op.beta : 0.0;
      for (size_t i = 0; i < c.values.size(); ++i) {
        c.values[i] = beta * c.values[i] * s[i % n] + t[i % n];
      }
      MATCH_OR_RETURN(ir::ConstTensorPtr new_c,
                      RoundToDtype(BiasDtype(op), c, "C of " + node->Describe()));
      rewrite.constants.push_back({node, 2, new_c, bias_base});
      rewrite.gemm_beta_to_one = node;
      break;
    }
    case BiasForm::kAddAfter: {
      if (producer.bias_add != nullptr) {
        const ir::Value& old = *producer.bias_add->input(producer.bias_add_input);
        MATCH_OR_RETURN(DoubleTensor b, ExpandLastAxis(ConstantAsDouble(old), n, "bias"));
        for (size_t i = 0; i < b.values.size(); ++i) {
          b.values[i] = b.values[i] * s[i % n] + t[i % n];
        }
        MATCH_OR_RETURN(ir::ConstTensorPtr new_bias,
                        RoundToDtype(old.constant_data()->dtype(), b,
                                     "bias of " + producer.bias_add->Describe()));
        rewrite.constants.push_back(
            {producer.bias_add, producer.bias_add_input, new_bias, old.name() + "_folded"});
      } else if (affine.has_shift()) {
        MATCH_OR_RETURN(rewrite.append_bias,
                        RoundToDtype(op.weight->constant_data()->dtype(), DoubleTensor{{n}, t},
                                     "bias of " + node->Describe()));
        rewrite.append_bias_after = node;
      }
      break;
    }
  }
  return rewrite;
}

Status ApplyOutputFold(ir::Graph& graph, const LinearProducer& producer,
                       const LinearRewrite& rewrite, ir::Node* consumer, ir::Node* chain_last) {
  ASSIGN_OR_RETURN(PreparedRewrite prepared, PrepareLinearRewrite(graph, rewrite));
  ir::Node* last = producer.bias_add ? producer.bias_add : producer.op.node;
  // With shape ops after the producer, an appended bias Add goes between
  // them: the producer then writes a new value the Add reads.
  ir::Value* unbiased = nullptr;
  if (chain_last != nullptr && prepared.append_bias != nullptr) {
    ASSIGN_OR_RETURN(unbiased, AddFreshValueLike(graph, *last->output(0), "_unbiased"));
  }
  ir::Value* z = consumer->output(0);
  const std::vector<ir::Value*> outputs = consumer->outputs();
  RemoveNodeAndDeadInputs(graph, consumer);
  for (size_t i = 1; i < outputs.size(); ++i) RemoveIfDead(graph, outputs[i]);
  CommitLinearRewrite(graph, rewrite, prepared);
  if (chain_last != nullptr) {
    MoveOutput(graph, chain_last, 0, z);
    if (unbiased == nullptr) return Status::Ok();
    ir::Value* target = last->output(0);
    graph.SetNodeOutput(last, 0, unbiased);
    return AppendBiasAdd(graph, last, prepared.append_bias, target);
  }
  if (prepared.append_bias != nullptr) {
    return AppendBiasAdd(graph, last, prepared.append_bias, z);
  }
  MoveOutput(graph, last, 0, z);
  return Status::Ok();
}

}  // namespace bnfold::passes
