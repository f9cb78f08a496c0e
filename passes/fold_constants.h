// fold-constants: evaluates small constant arithmetic in double so that
// affine chains see plain constants (e.g. a hand-written BN's
// Sqrt(var + eps)).
//
// Before:  var -> Add(eps) -> Sqrt -> s;   X -> Conv -> Div(s) -> Y
// After:   s' (initializer);               X -> Conv -> Div(s') -> Y
//
// Ops: Add, Sub, Mul, Div, Pow (numpy broadcasting), Sqrt, Reciprocal.
// Preconditions:
//  1. Every input is a constant no caller can override.
//  2. Floating-point data (the result keeps input 0's dtype; Pow's exponent
//     may be any numeric type); binary ops at opset >= 7 (before that they
//     broadcast by attributes).
//  3. The output is not a graph output (it keeps its producer and name).
//  4. The shapes broadcast and the result has at most kMaxFoldedElements
//     elements (no unbounded allocation from a crafted model).
// The result is computed in double and rounded once, so it is at least as
// accurate as evaluating the ops one by one in the tensor's dtype; IEEE
// results (inf from x / 0, NaN from sqrt(-1)) are kept as they are.
#pragma once

#include <cstdint>
#include <memory>

#include "passes/fold/fold_util.h"
#include "passes/pass.h"

namespace bnfold::passes {

inline constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;

struct FoldConstantMatch {
  ir::Node* node = nullptr;
  ir::ConstTensorPtr result;
};

// Pure: evaluates `node` when it qualifies.
MatchOr<FoldConstantMatch> MatchFoldConstant(ir::Node& node);
// Replaces the node by an initializer of its output's name.
void RewriteFoldConstant(ir::Graph& graph, const FoldConstantMatch& match);

class FoldConstantsPass : public Pass {
 public:
  const char* name() const override { return "fold-constants"; }
  Status Run(ir::Graph& graph, PassReport& report) const override;
};

std::shared_ptr<const Pass> MakeFoldConstantsPass();

}  // namespace bnfold::passes
