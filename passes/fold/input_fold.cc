#include "passes/fold/input_fold.h"

#include "passes/fold/output_fold.h"
#include "passes/fold/weight_fold.h"
#include "runtime/common/status_macros.h"

namespace bnfold::passes {

MatchOr<LinearConsumer> MatchLinearConsumer(ir::Node& node, const ir::Value& x) {
  MATCH_OR_RETURN(LinearOpInfo op, MatchLinearOp(node));
  if (node.input(0) != &x) {
    return NoMatch{"'" + x.name() + "' is not the data input of " + node.Describe()};
  }
  LinearConsumer consumer;
  consumer.op = op;
  MATCH_OR_RETURN(consumer.layout, op.spec->input_layout(op, x));
  if (op.spec->bias == BiasForm::kAddAfter) {
    // An existing bias Add takes the folded shift.
    const ir::Value& y = *node.output(0);
    if (y.uses().size() == 1 && !y.is_graph_output() &&
        y.uses()[0].node->kind() == ir::OpKind::kAdd) {
      MatchOr<LinearProducer> with_bias = MatchLinearProducer(*y.uses()[0].node->output(0));
      if (with_bias.ok() && with_bias->bias_add != nullptr) {
        consumer.bias_add = with_bias->bias_add;
        consumer.bias_add_input = with_bias->bias_add_input;
      }
    }
  }
  return consumer;
}

MatchOr<LinearRewrite> PlanInputAffine(const LinearConsumer& consumer,
                                       const ChannelAffine& affine) {
  const LinearOpInfo& op = consumer.op;
  ir::Node* node = op.node;
  const int64_t in = op.in_channels;
  const int64_t out = op.out_channels;
  if (affine.channels() != in) {
    return NoMatch{"it has " + std::to_string(affine.channels()) + " channels but " +
                   node->Describe() + " reads " + std::to_string(in)};
  }
  const std::vector<double>& s = affine.scale;
  const std::vector<double>& t = affine.shift;
  const bool shift = affine.has_shift();
  if (shift) {
    MATCH_OR_RETURN(std::string why, op.spec->input_shift_reason(op));
    if (!why.empty()) return NoMatch{why};
  }

  LinearRewrite rewrite;
  MATCH_OR_RETURN(InputScaledWeight scaled,
                  ScaleInputChannels(op, s, shift ? &t : nullptr, "weight of " + node->Describe()));
  rewrite.constants.push_back(
      {node, 1, scaled.weight.data, op.weight->name() + "_folded", scaled.weight.rescale});
  const std::vector<double>& shift_out = scaled.shift_out;  // sum_k W * t per output channel
  if (!shift) return rewrite;

  const std::string base = node->name().empty() ? node->output(0)->name() : node->name();
  switch (op.spec->bias) {
    case BiasForm::kVector: {
      DoubleTensor b = op.bias ? ConstantAsDouble(*op.bias)
                               : DoubleTensor{{out}, std::vector<double>(out, 0.0)};
      for (int64_t m = 0; m < out; ++m) b.values[m] += shift_out[m];
      MATCH_OR_RETURN(ir::ConstTensorPtr new_bias,
                      RoundToDtype(BiasDtype(op), b, "bias of " + node->Describe()));
      rewrite.constants.push_back(
          {node, 2, new_bias, op.bias ? op.bias->name() + "_folded" : base + "_bias"});
      break;
    }
    case BiasForm::kGemmC: {
      DoubleTensor c{{out}, std::vector<double>(out, 0.0)};
      if (op.bias != nullptr) {
        MATCH_OR_RETURN(c, ExpandLastAxis(ConstantAsDouble(*op.bias), out, "C of " + node->Describe()));
        for (double& v : c.values) v *= op.beta;
      }
      for (size_t i = 0; i < c.values.size(); ++i) c.values[i] += op.alpha * shift_out[i % out];
      MATCH_OR_RETURN(ir::ConstTensorPtr new_c,
                      RoundToDtype(BiasDtype(op), c, "C of " + node->Describe()));
      rewrite.constants.push_back(
          {node, 2, new_c, op.bias ? op.bias->name() + "_folded" : base + "_bias"});
      rewrite.gemm_beta_to_one = node;
      break;
    }
    case BiasForm::kAddAfter: {
      if (consumer.bias_add != nullptr) {
        const ir::Value& old = *consumer.bias_add->input(consumer.bias_add_input);
        MATCH_OR_RETURN(DoubleTensor b, ExpandLastAxis(ConstantAsDouble(old), out, "bias"));
        for (size_t i = 0; i < b.values.size(); ++i) b.values[i] += shift_out[i % out];
        MATCH_OR_RETURN(ir::ConstTensorPtr new_bias,
                        RoundToDtype(old.constant_data()->dtype(), b,
                                     "bias of " + consumer.bias_add->Describe()));
        rewrite.constants.push_back(
            {consumer.bias_add, consumer.bias_add_input, new_bias, old.name() + "_folded"});
      } else {
        MATCH_OR_RETURN(rewrite.append_bias,
                        RoundToDtype(op.weight->constant_data()->dtype(),
                                     DoubleTensor{{out}, shift_out}, "bias of " + node->Describe()));
        rewrite.append_bias_after = node;
      }
      break;
    }
  }
  return rewrite;
}

Status ApplyInputFold(ir::Graph& graph, const LinearRewrite& rewrite, ir::Node* affine_node,
                      ir::Value* affine_data, ir::Use reader) {
  ASSIGN_OR_RETURN(PreparedRewrite prepared, PrepareLinearRewrite(graph, rewrite));
  ir::Node* matmul = rewrite.append_bias_after;
  ir::Value* matmul_out = nullptr;
  if (matmul != nullptr) {
    ASSIGN_OR_RETURN(matmul_out, AddFreshValueLike(graph, *matmul->output(0), "_unbiased"));
  }
  // Everything that can fail is done; rewire.
  const std::vector<ir::Value*> affine_outputs = affine_node->outputs();
  graph.SetNodeInput(reader.node, reader.input_index, affine_data);
  RemoveNodeAndDeadInputs(graph, affine_node);
  for (ir::Value* v : affine_outputs) RemoveIfDead(graph, v);
  CommitLinearRewrite(graph, rewrite, prepared);
  if (matmul != nullptr) {
    ir::Value* target = matmul->output(0);
    graph.SetNodeOutput(matmul, 0, matmul_out);
    return AppendBiasAdd(graph, matmul, prepared.append_bias, target);
  }
  return Status::Ok();
}

}  // namespace bnfold::passes
