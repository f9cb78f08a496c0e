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
#include "runtime/ir/graph.h"

namespace bnfold::passes {

// The outcome for one BatchNormalization (or BN-like affine chain).
struct BatchNormDecision {
  std::string node;         // the BN node's name (or description)
  bool folded = false;
  std::string folded_into;  // e.g. "Conv 'conv1'" when folded
  std::string reason;       // why it was not folded, when not
};

struct PassReport {
  std::string pass;
  int rewrites = 0;
  std::vector<BatchNormDecision> batchnorm;
  std::vector<std::string> notes;
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
  // Error for an unknown name, listing the known ones.
  static StatusOr<PassManager> Create(const std::vector<std::string>& names);
  // Names of every registered pass, once each, in the order of their first
  // run in the default pipeline.
  static std::vector<std::string> AvailablePasses();

  // Runs every pass, then sorts the graph topologically.
  Status Run(ir::Graph& graph, PipelineReport* report) const;

 private:
  std::vector<std::shared_ptr<const Pass>> passes_;
};

}  // namespace bnfold::passes
