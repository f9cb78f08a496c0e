#include <functional>

#include "passes/pass.h"
#include "passes/pass_registry.h"

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

Status PassManager::Run(ir::Graph& graph, PipelineReport* report) const {
  PipelineReport local;
  PipelineReport& r = report ? *report : local;
  r.batchnorm_before = ir::CountNodes(graph, ir::OpKind::kBatchNormalization);
  r.nodes_before = static_cast<int>(graph.num_nodes());
  for (const auto& pass : passes_) {
    PassReport pass_report;
    pass_report.pass = pass->name();
    Status status = pass->Run(graph, pass_report);
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
