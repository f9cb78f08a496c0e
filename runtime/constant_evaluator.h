// The ConstantEvaluator the runtime gives the passes (passes/constant_evaluator.h):
// a node evaluated by the oneDNN backend's own kernels, compiled and run as
// a one-node plan on plain tensors, so fold-constants stores exactly what
// the unfolded graph computes at run time.
#pragma once

#include <memory>

#include "passes/constant_evaluator.h"
#include "passes/pass.h"

namespace bnfold {

std::shared_ptr<const passes::ConstantEvaluator> MakeKernelConstantEvaluator();

// What Session, OptimizeModel and InspectModel run the passes with: this
// evaluator and the default constant budget.
passes::PassOptions RuntimePassOptions(bool fold_large_constants = false);

}  // namespace bnfold
