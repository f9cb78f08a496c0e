#include "runtime/pass_outcomes.h"

#include <algorithm>
#include <unordered_set>

#include "runtime/constant_evaluator.h"

namespace bnfold {

std::vector<BatchNormKey> ListBatchNorms(const ir::Graph& graph) {
  std::vector<BatchNormKey> keys;
  for (const ir::Node* n : graph.nodes()) {
    if (n->kind() != ir::OpKind::kBatchNormalization) continue;
    keys.push_back({n->id(), n->name().empty() ? n->Describe() : n->name(), n->name(),
                    n->Describe()});
  }
  return keys;
}

std::vector<BatchNormOutcome> MergeDecisions(const std::vector<BatchNormKey>& keys,
                                             const passes::PipelineReport& report,
                                             const ir::Graph& optimized) {
  std::unordered_set<size_t> surviving;
  for (const ir::Node* n : optimized.nodes()) surviving.insert(n->id());
  std::vector<BatchNormOutcome> outcomes;
  for (const BatchNormKey& key : keys) {
    BatchNormOutcome outcome;
    outcome.node = key.label;
    std::vector<std::string> reasons, briefs;
    for (const passes::PassReport& pass : report.passes) {
      for (const passes::BatchNormDecision& d : pass.batchnorm) {
        if (d.node.empty() || (d.node != key.name && d.node != key.description)) continue;
        if (d.folded) {
          if (!outcome.folded) {
            outcome.folded = true;
            outcome.folded_into = d.folded_into;
            outcome.reason = "folded by " + pass.pass;
          }
        } else if (!d.reason.empty()) {
          const std::string reason = pass.pass + ": " + d.reason;
          if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) {
            reasons.push_back(reason);
          }
          if (!d.brief.empty() && std::find(briefs.begin(), briefs.end(), d.brief) == briefs.end()) {
            briefs.push_back(d.brief);
          }
        }
      }
    }
    if (!outcome.folded) {
      for (const std::string& r : reasons) {
        outcome.reason += (outcome.reason.empty() ? "" : "; ") + r;
      }
      outcome.summary = "kept";
      for (size_t i = 0; i < briefs.size(); ++i) {
        outcome.summary += (i == 0 ? ": " : ", ") + briefs[i];
      }
      if (outcome.reason.empty()) {
        if (!surviving.count(key.id)) {
          outcome.reason = "removed by the passes, which reported no fold for it";
          outcome.summary = "removed";
        } else if (report.passes.empty()) {
          outcome.reason = "no pass ran";
          outcome.summary = "kept: no pass ran";
        } else {
          outcome.reason = "no pass in the pipeline reported on it";
        }
      }
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

std::vector<TransposeInfo> TransposeOutcomes(const ir::Graph& graph,
                                             const passes::PipelineReport& report) {
  std::vector<TransposeInfo> outcomes;
  for (const ir::Node* n : graph.nodes()) {
    if (n->kind() != ir::OpKind::kTranspose) continue;
    TransposeInfo t;
    t.name = n->name().empty() ? n->Describe() : n->name();
    for (const passes::PassReport& pass : report.passes) {
      for (const passes::NodeDecision& d : pass.nodes) {
        if (d.node != n->name() && d.node != n->Describe()) continue;
        if (d.changed && !t.changed) {
          t.changed = true;
          t.outcome = d.outcome;
        } else if (!t.changed && !d.changed) {
          const std::string reason = pass.pass + ": " + d.outcome;
          if (t.outcome.find(reason) == std::string::npos) {
            t.outcome += (t.outcome.empty() ? "" : "; ") + reason;
          }
        }
      }
    }
    if (t.outcome.empty()) t.outcome = "no pass in the pipeline reported on it";
    outcomes.push_back(std::move(t));
  }
  return outcomes;
}

StatusOr<passes::PassManager> Pipeline(const std::vector<std::string>& names,
                                       bool fold_large_constants) {
  return passes::PassManager::Create(names, RuntimePassOptions(fold_large_constants));
}

onnx_io::LoadOptions StrictLoad(bool strict) {
  onnx_io::LoadOptions load;
  load.strict = strict;
  return load;
}

}  // namespace bnfold
