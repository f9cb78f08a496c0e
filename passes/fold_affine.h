// fold-affine: a constant per-channel Mul, Add, Sub or Div after a linear op
// folded into the op's weights and bias, one op at a time along the chain.
//
// Before:  X -> MatMul(W) -> Add(b) -> Mul(g) -> Add(h) -> Y   (Keras Dense + BN via tf2onnx)
// After:   X -> MatMul(W') -> Add(b') -> Y
// Before:  X -> Conv(W, b) -> Sub(mean) -> Div(std) -> Mul(gamma) -> Add(beta) -> Y
//          (a hand-written BN; fold-constants first turns std = Sqrt(var + eps)
//          into a plain constant)
// After:   X -> Conv(W', b') -> Y
//
// Each op is the affine map y -> y * s + t (Mul k: s = k; Add k: t = k;
// Sub k: t = -k; k - y: s = -1, t = k; Div k: s = 1 / k), folded as in
// output_fold.h: W' = W * s on the output-channel axis, b' = b * s + t.
//
// Preconditions (the reason is noted for ops that have a constant operand
// and a linear producer but do not fold):
//  1. Opset >= 7 (multidirectional broadcasting); exactly one operand is a
//     constant no caller can override, of a floating-point type; Div divides
//     the tensor by the constant, never by zero.
//  2. The tensor operand is produced by Conv/ConvTranspose/Gemm/MatMul (or
//     MatMul + bias Add) with constant, non-overridable weights.
//  3. That tensor has exactly one reader and is not a graph output.
//  4. The constant broadcasts along the output-channel axis only (see
//     channel_affine.h): [C,1,1] / [1,C,1,1] / scalar for an NCHW conv
//     output, [N] / [1,N] / scalar for a Gemm or MatMul output.
//  5. An Add (or Sub) directly after a bias-less MatMul already is the
//     MatMul's bias: left as it is.
//  6. Every folded value is finite in its storage dtype.
#pragma once

#include <memory>

#include "passes/fold/channel_affine.h"
#include "passes/fold/output_fold.h"
#include "passes/pass.h"

namespace bnfold::passes {

struct FoldAffineMatch {
  ir::Node* op = nullptr;
  LinearProducer producer;
  LinearRewrite rewrite;
};

// Pure. `interesting` is set when the op looks like a fold candidate (a
// linear op's output and a constant, overridable or not), so its reason is
// worth a note.
MatchOr<FoldAffineMatch> MatchFoldAffine(ir::Node& op, bool* interesting);
Status RewriteFoldAffine(ir::Graph& graph, const FoldAffineMatch& match);

class FoldAffinePass : public Pass {
 public:
  const char* name() const override { return "fold-affine"; }
  Status Run(ir::Graph& graph, PassReport& report) const override;
};

std::shared_ptr<const Pass> MakeFoldAffinePass();

}  // namespace bnfold::passes
