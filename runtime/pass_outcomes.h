// What the pass pipeline decided for the nodes the reports show (each
// BatchNormalization, each Transpose), merged over the passes, and the
// pipeline and load options that optimize (optimizer.cc) and inspect
// (inspect.cc) share. Internal to bnfold_runtime.
#pragma once

#include <string>
#include <vector>

#include "bnfold/optimizer.h"
#include "passes/pass.h"
#include "runtime/onnx/loader.h"

namespace bnfold {

// How a BN is named in reports, and the two spellings a pass may use for it.
struct BatchNormKey {
  size_t id = 0;
  std::string label;        // name, or "BatchNormalization #N" when unnamed
  std::string name;
  std::string description;  // Node::Describe()
};

// Every BatchNormalization of `graph`, in graph order.
std::vector<BatchNormKey> ListBatchNorms(const ir::Graph& graph);

// One outcome per BN of the input graph, merged over every pass that
// reported on it: folded as soon as one pass folded it; otherwise every
// pass's reason, so the user sees why each candidate fold was refused.
std::vector<BatchNormOutcome> MergeDecisions(const std::vector<BatchNormKey>& keys,
                                             const passes::PipelineReport& report,
                                             const ir::Graph& optimized);

// What the passes did with each Transpose of `graph`: the first change any
// pass made, else every pass's reason for leaving it.
std::vector<TransposeInfo> TransposeOutcomes(const ir::Graph& graph,
                                             const passes::PipelineReport& report);

// The passes `names` (the default pipeline when empty), as a Session runs
// them: with the backend's kernels evaluating constants.
StatusOr<passes::PassManager> Pipeline(const std::vector<std::string>& names,
                                       bool fold_large_constants = false);

onnx_io::LoadOptions StrictLoad(bool strict);

}  // namespace bnfold
