// Graph passes: each rewrites the IR in place and reports what it changed
// and, for every BatchNormalization it looked at and left, why.
//
// A pass never sees oneDNN and the backend never sees passes: that is what
// makes folded-vs-unfolded a fair comparison.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "passes/constant_evaluator.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes {

// The outcome for one BatchNormalization (or BN-like affine chain).
struct BatchNormDecision {
  std::string node;         // the BN node's name (or description)
  bool folded = false;
  std::string folded_into;  // e.g. "Conv 'conv1'" when folded
  std::string reason;       // why it was not folded, when not
  std::string brief;        // the reason in a few words, when the pass has them
};

// The outcome for another node a pass looked at (each Transpose, for
// cancel-transposes): what it did to it, or why it left it.
struct NodeDecision {
  std::string node;  // the node's name (or description)
  std::string op;
  bool changed = false;
  std::string outcome;  // what was done, or the reason it was not
};

// What fold-constants did with the graph's constants (zero for other passes).
struct ConstantFoldingStats {
  int evaluated = 0;          // nodes replaced by the constants they compute
  int kept_over_budget = 0;   // nodes left because their results were too large
  int64_t bytes_added = 0;    // growth of the constants (negative when they shrank)
  int64_t budget_bytes = 0;   // the growth allowed for results no fold consumes
};

struct PassReport {
  std::string pass;
  int rewrites = 0;
  std::vector<BatchNormDecision> batchnorm;
  std::vector<std::string> notes;
  std::vector<NodeDecision> nodes;
  ConstantFoldingStats constants;
};

// Growth of the graph's constants fold-constants allows for results that no
// fold consumes (see fold_constants.h).
inline constexpr int64_t kDefaultConstantGrowthBudget = int64_t{1} << 20;

// What the passes may use beyond the graph.
struct PassOptions {
  // Computes nodes whose inputs are all constants; fold-constants needs one.
  std::shared_ptr<const ConstantEvaluator> evaluator;
  int64_t constant_growth_budget = kDefaultConstantGrowthBudget;
  // fold-constants folds whatever it can evaluate, whatever the growth.
  bool fold_large_constants = false;
};

class Pass {
 public:
  virtual ~Pass() = default;
  // Stable kebab-case name used by the CLI (`--passes fold-batchnorm,...`).
  virtual const char* name() const = 0;
  // Rewrites `graph`; fills `report`. Errors only for a broken graph, never
  // for "nothing to do".
  virtual Status Run(ir::Graph& graph, PassReport& report) const = 0;
};

struct PipelineReport {
  std::vector<PassReport> passes;
  int batchnorm_before = 0;
  int batchnorm_after = 0;
  int nodes_before = 0;
  int nodes_after = 0;
};

class PassManager {
 public:
  // The pipeline named by `names` in order; the default pipeline when empty.
  // Error for an unknown name, listing the known ones, and for a pass that
  // needs what `options` lacks (fold-constants without an evaluator).
  static StatusOr<PassManager> Create(const std::vector<std::string>& names,
                                      const PassOptions& options = {});
  // Names of every registered pass, once each, in the order of their first
  // run in the default pipeline.
  static std::vector<std::string> AvailablePasses();

  // Runs every pass, then sorts the graph topologically.
  Status Run(ir::Graph& graph, PipelineReport* report) const;

 private:
  std::vector<std::shared_ptr<const Pass>> passes_;
};

}  // namespace bnfold::passes
