// Backend fusion: nodes that run as oneDNN post-ops of the node before them,
// so they cost no step and no round trip through memory. A planning step
// over the IR, not a graph pass: the graph is never changed, and the
// unfused plan (CompileOptions::fuse = false) runs the same graph.
//
//   Before:  Conv -> Relu       Conv -> Add(r) -> Relu      MatMul -> Add(b) -> Clip(0, 6)
//   After:   Conv[relu]         Conv[sum(r), relu]          MatMul[binary_add(b), clip(0, 6)]
//
// An anchor (Conv, ConvTranspose, Gemm, MatMul) and its candidate followers
// are found once per plan from the graph's structure (FindFusionCandidates).
// While compiling the anchor the planner resolves the followers into a
// PostOpChain (ResolvePostOps) and offers it to the kernel
// (CompileContext::post_ops); the kernel applies the longest prefix oneDNN
// takes and says how many (AcceptPostOps). Absorbed followers get no step:
// their outputs are the anchor step's output.
//
// Preconditions, structural (FindFusionCandidates):
//  1. Each intermediate value (the anchor's output, every follower's output
//     but the last) has exactly one use, the next follower, and is not a
//     graph output.
//  2. A follower's other inputs are constants, graph inputs or values
//     produced before the anchor: the follower runs at the anchor's place.
//  3. Followers: Relu, LeakyRelu, Elu, Sigmoid, Tanh, HardSwish, Clip; Add,
//     Mul (chain value on either side), Sub, Div (chain value first); opset
//     >= 7 for the binary ops (no legacy broadcast attributes).
// Preconditions, at plan time (ResolvePostOps):
//  4. Every tensor involved is float32; Clip's bounds are known now.
//  5. A residual Add accumulates in place (oneDNN `sum`: the other operand's
//     buffer becomes the dst) only when that buffer is free to overwrite
//     (FusionPlanner::CanOverwrite); otherwise it is a binary add post-op
//     reading the operand where it is.
// Preconditions, in the kernel (kernels/post_ops.h):
//  6. A binary operand broadcasts into the anchor's output (never the
//     reverse: fusion must not change the output's shape).
//  7. With a `sum`, the kernel writes its dst in the operand's exact desc.
//  8. oneDNN accepts the post-ops with a non-reference implementation.
//
// Semantics: the post-ops are the oneDNN algorithms the standalone kernels
// use, except Clip: standalone it keeps NaN as numpy (and ONNX Runtime) do,
// fused it is oneDNN's clip, which turns NaN into the lower bound (oneDNN
// has no NaN-keeping clamp that is also exact; a NaN reaches it only from a
// NaN or infinite input).
//
// Not fused: a 1x1 Conv followed by a depthwise 3x3 (oneDNN's append_dw).
// Measured on MobileNetV2 with oneDNN 2.6: it refuses stride 2, and for
// stride 1 only a 1-thread 56x56 layer gets a fused kernel (0.03 ms saved);
// elsewhere it runs the two convolutions one after the other anyway.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <vector>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

// One post-op of a fused chain.
struct PostOp {
  enum class Kind {
    kEltwise,  // algorithm(alpha, beta) on the chain value
    kBinary,   // algorithm(chain value, operand)
    kSum,      // chain value + the operand already in the dst buffer
  };
  Kind kind = Kind::kEltwise;
  dnnl::algorithm algorithm = dnnl::algorithm::undef;  // kEltwise, kBinary
  float alpha = 0.0f;                                   // kEltwise
  float beta = 0.0f;                                    // kEltwise
  // kBinary: the operand arrives as step input `input` (after the node's own
  // inputs) in `operand`'s desc. kSum: `operand` is the desc of the buffer
  // accumulated into, which the dst must take.
  int input = -1;
  TensorDesc operand;
};

// The post-ops offered to one anchor kernel, in order.
struct PostOpChain {
  std::vector<PostOp> ops;
};

// Anchor node -> its candidate followers, in chain order.
using FusionCandidates =
    std::unordered_map<const ir::Node*, std::vector<const ir::Node*>>;

// Structural preconditions 1-3 over `graph` (topologically sorted).
FusionCandidates FindFusionCandidates(const ir::Graph& graph);

// What resolving a chain needs from the planner.
class FusionPlanner {
 public:
  virtual ~FusionPlanner() = default;
  // The plan value computed for `value` so far; -1 when none yet.
  // (Constants get their plan value on first use.)
  virtual int ValueId(const ir::Value* value) = 0;
  virtual const TensorDesc& Desc(int id) const = 0;
  // Plain data of `value` when it is a constant of the plan; else null.
  virtual const Tensor* ConstantData(const ir::Value* value) const = 0;
  // Whether the buffer of `value` may be overwritten by the step of `anchor`:
  // it is the planner's own (not fed, not constant), not a graph output, and
  // no node after `anchor` reads it (nor any value sharing its buffer)
  // except `follower`.
  virtual bool CanOverwrite(const ir::Value* value, const ir::Node& anchor,
                            const ir::Node& follower) const = 0;
};

// A chain resolved for one plan: chain.ops[i] is followers[i]; operand_ids[i]
// the plan value a kBinary/kSum op reads (-1 for kEltwise).
struct ResolvedChain {
  PostOpChain chain;
  std::vector<const ir::Node*> followers;
  std::vector<int> operand_ids;
};

// Preconditions 4-5: the longest prefix of `followers` that can be post-ops
// of `anchor` (whose output is float32) in this plan.
ResolvedChain ResolvePostOps(const ir::Node& anchor,
                             const std::vector<const ir::Node*>& followers,
                             FusionPlanner& planner);

}  // namespace bnfold::onednn
