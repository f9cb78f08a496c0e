#include <functional>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "runtime/common/status_macros.h"

namespace bnfold::passes {

StatusOr<PassManager> PassManager::Create(const std::vector<std::string>& names,
                                          const PassOptions& options) {
  PassManager manager;
  const std::vector<std::string> wanted = names.empty() ? DefaultPipeline() : names;
  for (const std::string& name : wanted) {
    if (name == "fold-constants" && options.evaluator == nullptr) {
      return InvalidArgument("pass fold-constants needs a constant evaluator (PassOptions)");
    }
    std::shared_ptr<const Pass> pass = MakePass(name, options);
    if (pass == nullptr) {
      std::string known;
      for (const std::string& n : AvailablePasses()) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("unknown pass '" + name + "' (known: " + known + ")");
    }
    manager.passes_.push_back(std::move(pass));
  }
  return manager;
}

std::vector<std::string> PassManager::AvailablePasses() { return RegisteredPasses(); }

namespace {

// Runs `pass` inside every subgraph (innermost first), then on `graph`: a
// Conv + BatchNormalization in a Loop body folds like one outside. A body's
// formal inputs (loop-carried values, scan slices) and outer references are
// its graph inputs, never constants, so nothing reading them is folded.
Status RunEverywhere(const Pass& pass, ir::Graph& graph, PassReport& report) {
  for (ir::Node* node : graph.nodes()) {
    for (const ir::Attribute& a : node->attributes()) {
      if (a.type != ir::AttrType::kGraph || !a.g) continue;
      RETURN_IF_ERROR(RunEverywhere(pass, *a.g, report)
                          .WithContext(node->Describe() + ", subgraph '" + a.name + "'"));
    }
  }
  RETURN_IF_ERROR(pass.Run(graph, report));
  return graph.TopologicalSort();
}

// A subgraph's outer references to constants of the enclosing graph (a
// Conv's weights in a Loop body, as PyTorch exports them) become the
// subgraph's own initializers, sharing the data: the folds inside can then
// rewrite them. Outer references to anything else stay graph inputs of the
// subgraph, which no pass treats as constant.
void LocalizeOuterConstants(ir::Graph& graph) {
  for (ir::Node* node : graph.nodes()) {
    const std::vector<ir::Graph*> subs = node->subgraphs();
    if (subs.empty()) continue;
    for (ir::Graph* sub : subs) {
      int k = node->num_explicit_inputs();
      for (ir::Value* ref : std::vector<ir::Value*>(sub->inputs())) {
        if (!ref->is_outer_ref()) continue;
        const ir::Value* outer = node->input(k++);
        if (outer == nullptr || !outer->IsConstant()) continue;
        StatusOr<ir::Value*> local =
            sub->AddInitializer(sub->UniqueName(ref->name()), outer->constant_data());
        if (!local.ok()) continue;
        sub->ReplaceAllUsesWith(ref, *local);
      }
    }
    graph.PruneImplicitInputs(node);
    for (ir::Graph* sub : subs) LocalizeOuterConstants(*sub);
  }
}

}  // namespace

Status PassManager::Run(ir::Graph& graph, PipelineReport* report) const {
  PipelineReport local;
  PipelineReport& r = report ? *report : local;
  r.batchnorm_before = ir::CountNodes(graph, ir::OpKind::kBatchNormalization);
  r.nodes_before = static_cast<int>(graph.num_nodes());
  LocalizeOuterConstants(graph);
  for (const auto& pass : passes_) {
    PassReport pass_report;
    pass_report.pass = pass->name();
    Status status = RunEverywhere(*pass, graph, pass_report);
    if (!status.ok()) return status.WithContext(std::string("pass ") + pass->name());
    r.passes.push_back(std::move(pass_report));
  }
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted.WithContext("after the passes");
  r.batchnorm_after = ir::CountNodes(graph, ir::OpKind::kBatchNormalization);
  r.nodes_after = static_cast<int>(graph.num_nodes());
  return Status::Ok();
}

}  // namespace bnfold::passes
