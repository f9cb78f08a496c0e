// cleanup: removes what computes nothing at inference time.
//
// Before:  X -> Conv -> Identity -> Dropout -> Y      (plus an unread Relu, unused W0)
// After:   X -> Conv -> Y
//
// 1. Identity: its readers read its input instead. When its output is a
//    graph output, the producer of its input is renamed to produce the graph
//    output instead, so graph input/output names never change. Kept (noted)
//    when that input is a graph input, a constant or another graph output.
// 2. Dropout, only in inference mode and only when its mask output is unused:
//      opset 1, 6: is_test != 0 (is_test = 0 is training mode);
//      opset 7, 10: always (the inference runtime is "test mode");
//      opset >= 12: training_mode absent, or a constant false.
//    Removed like an Identity (ratio is irrelevant in inference).
// 3. Dead nodes: no output read and none a graph output (in reverse order,
//    so whole dead chains go).
// 4. Initializers and orphan values nothing reads, unless they are graph
//    inputs (part of the interface) or outputs.
#pragma once

#include <memory>

#include "passes/fold/fold_util.h"
#include "passes/pass.h"

namespace bnfold::passes {

// Pure: "" when `node` (an Identity or Dropout) computes a copy of its
// input that can be bypassed; else why not.
std::string BypassReason(const ir::Node& node);

class CleanupPass : public Pass {
 public:
  const char* name() const override { return "cleanup"; }
  Status Run(ir::Graph& graph, PassReport& report) const override;
};

std::shared_ptr<const Pass> MakeCleanupPass();

}  // namespace bnfold::passes
