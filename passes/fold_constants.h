// fold-constants: a node whose inputs are all constants is replaced by the
// constants it computes, evaluated by the runtime's own kernels through
// PassOptions::evaluator (constant_evaluator.h), so that a folded value is
// exactly what the node would have computed at run time. The folds then see
// plain constants: a hand-written BN's Sqrt(var + eps), weights stored as
// Reshape/Transpose/Unsqueeze/Cast of initializers or built by
// ConstantOfShape, Identity copies of shared parameters, shape arithmetic.
//
// Before:  var -> Add(eps) -> Sqrt -> s;   X -> Conv -> Div(s) -> Y
// After:   s (initializer);                X -> Conv -> Div(s) -> Y
// Before:  W_flat -> Reshape(shape) -> W;  X -> Conv(W) -> BatchNormalization -> Y
// After:   W (initializer);                X -> Conv(W) -> BatchNormalization -> Y
//
// Preconditions (the reason is noted for a node that has only constant
// inputs and stays):
//  1. The node has an input, and every input is a constant no caller can
//     override; it is not itself a Constant node, nor a random generator
//     (op_kind.h's BNFOLD_OPS_RANDOM: it draws new values on every run),
//     nor a node with subgraphs (If/Loop/Scan: the passes run inside their
//     bodies instead, PassManager::Run).
//  2. None of its outputs is a graph output (each keeps its producer and
//     name).
//  3. The evaluator computes it: a kernel runs the op with these attributes
//     and inputs, and no output exceeds kMaxFoldedBytes.
//  4. Size budget: the bytes it adds to the constants (its outputs, less the
//     inputs nothing else reads) fit in what is left of
//     PassOptions::constant_growth_budget, or every output feeds a fold
//     (FeedsAFold: a BN's parameters, the weights of a linear op next to a
//     BN or affine op, an affine op's constant, directly or through nodes
//     this pass also evaluates), or PassOptions::fold_large_constants. A
//     ConstantOfShape that would turn a 10-byte model into a 100 MB file
//     stays unless a fold needs its value.
// Outputs nothing reads are dropped with the node.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "passes/fold/fold_util.h"
#include "passes/pass.h"

namespace bnfold::passes {

// The largest single output fold-constants evaluates.
inline constexpr int64_t kMaxFoldedBytes = int64_t{1} << 31;

struct FoldConstantMatch {
  ir::Node* node = nullptr;
  std::vector<ir::ConstTensorPtr> outputs;  // parallel to node->outputs()
  int64_t bytes_added = 0;                  // outputs minus the inputs that die
  bool feeds_fold = false;                  // FeedsAFold for every used output
};

// Pure (the evaluator does not touch the graph): evaluates `node` when
// preconditions 1-3 hold. Precondition 4 depends on the pass's running
// budget and is checked by the pass.
MatchOr<FoldConstantMatch> MatchFoldConstant(ir::Node& node, const ConstantEvaluator& evaluator);
// Replaces the node by initializers named as its outputs.
void RewriteFoldConstant(ir::Graph& graph, const FoldConstantMatch& match);

// Whether every reader of `value` is a fold that needs it constant (see
// precondition 4).
bool FeedsAFold(const ir::Value& value);

class FoldConstantsPass : public Pass {
 public:
  explicit FoldConstantsPass(PassOptions options) : options_(std::move(options)) {}
  const char* name() const override { return "fold-constants"; }
  Status Run(ir::Graph& graph, PassReport& report) const override;

 private:
  PassOptions options_;
};

std::shared_ptr<const Pass> MakeFoldConstantsPass(const PassOptions& options);

}  // namespace bnfold::passes
