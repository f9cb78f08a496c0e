// InspectModel: what a model holds and what the pass pipeline would do
// with each BatchNormalization and Transpose (run on a copy of the graph).
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "bnfold/optimizer.h"
#include "passes/fold/batchnorm_diagnostics.h"
#include "runtime/common/status_macros.h"
#include "runtime/ir/attrs.h"
#include "runtime/pass_outcomes.h"

namespace bnfold {

namespace {

// The float attribute as the decimal the user wrote (1e-05, not
// 9.99999975e-06): the shortest one that reads back as the same float.
double ShortestDecimal(float value) {
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    if (std::strtof(buf, nullptr) == value) break;
  }
  return std::strtod(buf, nullptr);
}

StatusOr<ModelInfo> Inspect(const onnx_io::LoadedModel& loaded, passes::PassManager& manager) {
  const std::string& path = loaded.model.source;
  const ir::Model& model = loaded.model;
  const ir::Graph& graph = *model.graph;

  ModelInfo info;
  info.ir_version = model.ir_version;
  info.opset = model.DefaultOpset();
  info.producer_name = model.producer_name;
  info.producer_version = model.producer_version;
  info.nodes = static_cast<int>(graph.num_nodes());
  info.notes = loaded.notes;
  info.warnings = loaded.warnings;
  for (const ir::Node* n : graph.nodes()) {
    const bool default_domain = n->domain().empty() || n->domain() == "ai.onnx";
    ++info.ops[default_domain ? n->op_type() : n->domain() + "." + n->op_type()];
  }

  // The decisions come from running the pipeline on a copy.
  std::unique_ptr<ir::Graph> optimized = graph.Clone();
  passes::PipelineReport pipeline;
  RETURN_IF_ERROR(manager.Run(*optimized, &pipeline).WithContext(path));
  const std::vector<BatchNormKey> keys = ListBatchNorms(graph);
  const std::vector<BatchNormOutcome> outcomes = MergeDecisions(keys, pipeline, *optimized);

  size_t k = 0;
  for (const ir::Node* n : graph.nodes()) {
    if (n->kind() != ir::OpKind::kBatchNormalization) continue;
    const BatchNormOutcome& outcome = outcomes[k++];
    BatchNormInfo bn;
    bn.name = outcome.node;
    bn.opset = n->opset();
    bn.training_mode = ir::GetBatchNormMode(*n).training;
    bn.epsilon = ShortestDecimal(n->attrs<ir::BatchNormAttrs>().epsilon);
    const ir::Value* x = n->input(0);
    if (x == nullptr || x->is_graph_input()) {
      bn.producer = x && x->constant_data() ? "(constant)" : "(graph input)";
    } else if (x->producer() != nullptr) {
      bn.producer = x->producer()->op_type();
    } else {
      bn.producer = "(constant)";
    }
    if (const ir::Value* y = n->output(0)) {
      for (const ir::Use& use : y->uses()) bn.consumers.push_back(use.node->op_type());
      if (y->is_graph_output()) bn.consumers.push_back("(graph output)");
    }
    if (outcome.folded) bn.folds_into = outcome.folded_into;
    bn.reason = outcome.reason;
    bn.summary = outcome.summary;
    bn.diagnostics = passes::DiagnoseBatchNorm(*n, model.producer_name);
    info.batchnorm.push_back(std::move(bn));
  }
  info.transposes = TransposeOutcomes(graph, pipeline);
  return info;
}

}  // namespace

StatusOr<ModelInfo> InspectModel(const std::string& path, const InspectOptions& options) {
  ASSIGN_OR_RETURN(passes::PassManager manager, Pipeline(options.passes));
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelFile(path, StrictLoad(options.strict)));
  return Inspect(loaded, manager);
}

StatusOr<ModelInfo> InspectModelBytes(std::string_view model, const InspectOptions& options) {
  ASSIGN_OR_RETURN(passes::PassManager manager, Pipeline(options.passes));
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelBytes(model, "", "<memory>", StrictLoad(options.strict)));
  return Inspect(loaded, manager);
}

}  // namespace bnfold
