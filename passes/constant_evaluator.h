// What fold-constants asks of a runtime: the outputs of one node whose
// inputs are all constants. The passes see only this interface (they depend
// on the IR alone); the runtime implements it with the same kernels that
// would run the node (runtime/constant_evaluator.h), so a folded constant
// holds exactly what the unfolded graph computes at run time. The pass tests
// implement it with an independent double-precision reference.
#pragma once

#include <cstdint>
#include <vector>

#include "bnfold/status.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes {

class ConstantEvaluator {
 public:
  virtual ~ConstantEvaluator() = default;

  // The outputs of `node` (one per output; null for an omitted output) for
  // `inputs` (one per input of `node`; null for an omitted input). An error
  // says why the node cannot be evaluated (no kernel, bad attributes, an
  // output of more than `max_output_bytes`, ...): not a failure of the pass,
  // which keeps the node and reports the reason. Must not allocate more than
  // `max_output_bytes` for any one output.
  virtual StatusOr<std::vector<ir::ConstTensorPtr>> Evaluate(
      const ir::Node& node, const std::vector<ir::ConstTensorPtr>& inputs,
      int64_t max_output_bytes) const = 0;
};

}  // namespace bnfold::passes
