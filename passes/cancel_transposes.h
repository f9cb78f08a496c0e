// cancel-transposes: moves a Transpose down through the element-wise ops
// after it, to cancel it against a later Transpose or to take it past them
// to a graph output. tf2onnx writes Transpose(NHWC->NCHW) before and
// Transpose(NCHW->NHWC) after every Conv of a Keras model, with the BN
// written out as Sub/Mul/Add on NHWC data in between: once the Transposes
// are gone, fold-affine folds those into the Conv.
//
// Before:  X -> Transpose(p) -> Sub(k) -> Relu -> Transpose(q) -> Y     (p[q[i]] = i)
// After:   X -> Sub(k') -> Relu -> Y
// Before:  X -> Transpose(p) -> Mul(k) -> Transpose(q) -> Y             (otherwise)
// After:   X -> Mul(k') -> Transpose(r) -> Y,   r[i] = p[q[i]]
// Before:  X -> Transpose(p) -> Add(k) -> Relu -> Y (graph output)
// After:   X -> Add(k') -> Relu -> Transpose(p) -> Y
//
// Exact: an element-wise op commutes with any permutation of the axes, and
// so does numpy broadcasting once the constant k is aligned to the chain's
// rank (leading 1s) and permuted back: k' = transpose(k aligned, p^-1), so
// that Transpose(p)(k') is the aligned k. Only data moves.
//
// Preconditions (checked in MatchCancelTransposes before any change; the
// reason is recorded for every Transpose that stays, for bnfold inspect):
//  1. The first Transpose has a valid perm (or none, with a known rank).
//  2. Each op of the chain is element-wise on the chain's value: a unary op
//     (Relu, Sigmoid, Clip with scalar bounds, Cast, ...), or Add, Sub, Mul,
//     Div, Pow (opset >= 7), PRelu (slope second) or two-input Max/Min
//     (opset >= 8) whose other operand is a constant no caller can override,
//     of rank <= the chain's and not widening it: each aligned dim is 1 or
//     the value's known dim.
//  3. Every value of the chain, the first Transpose's output included, has
//     exactly one reader and is not a graph output (its layout changes);
//     only the chain's last value may be a graph output nothing reads, when
//     the chain has at least one op (the Transpose moves there).
//  4. The chain ends in a Transpose, or at such a graph output.
//  5. A cancelled pair with no op between whose result is a graph output is
//     left: removing it would rename a graph output.
#pragma once

#include <memory>
#include <vector>

#include "passes/fold/fold_util.h"
#include "passes/pass.h"

namespace bnfold::passes {

struct CancelTransposesMatch {
  enum class End { kCancel, kMerge, kGraphOutput };

  ir::Node* first = nullptr;          // the Transpose moved down
  std::vector<int64_t> perm;          // its perm, explicit
  std::vector<ir::Node*> chain;       // element-wise ops, in order
  std::vector<int> data_index;        // input of each op that carries the chain
  End end = End::kCancel;
  ir::Node* last = nullptr;           // the closing Transpose (kCancel, kMerge)
  std::vector<int64_t> merged_perm;   // kMerge: r
  // Each chain op's constant operand permuted back (null: unary, or a
  // scalar, which broadcasts in any layout).
  std::vector<ir::ConstTensorPtr> constants;
};

// Pure: the chain starting at Transpose `node` and its permuted constants,
// or why there is none (what inspect reports for a Transpose that stays).
MatchOr<CancelTransposesMatch> MatchCancelTransposes(const ir::Node& node);

// What a rewrite creates before it rewires anything.
struct PreparedCancelTransposes {
  std::vector<ir::Value*> constants;  // the permuted constants' initializers, parallel to chain
  ir::Value* inner = nullptr;         // kGraphOutput: the chain's result, untransposed
  ir::Node* moved = nullptr;          // kGraphOutput: the Transpose to the graph output,
  ir::Value* placeholder = nullptr;   //   writing `placeholder` until the commit
};
// Creates the new initializers, values and the moved Transpose: the only
// step that can fail, and it leaves the wiring as it was (and removes what
// it made when it fails).
StatusOr<PreparedCancelTransposes> PrepareCancelTransposes(ir::Graph& graph,
                                                           const CancelTransposesMatch& match);
// Rewires; cannot fail.
void CommitCancelTransposes(ir::Graph& graph, const CancelTransposesMatch& match,
                            const PreparedCancelTransposes& prepared);
// Prepare, then commit.
Status RewriteCancelTransposes(ir::Graph& graph, const CancelTransposesMatch& match);

class CancelTransposesPass : public Pass {
 public:
  const char* name() const override { return "cancel-transposes"; }
  Status Run(ir::Graph& graph, PassReport& report) const override;
};

std::shared_ptr<const Pass> MakeCancelTransposesPass();

}  // namespace bnfold::passes
