// Backend fusion: nodes that run as oneDNN post-ops of the node before them,
// so they cost no step and no round trip through memory. A planning step
// over the IR, not a graph pass: the graph is never changed, and the
// unfused plan (CompileOptions::fuse = false) runs the same graph.
//
//   Before:  Conv -> Relu       Conv -> Add(r) -> Relu      MatMul -> Add(b) -> Clip(0, 6)
//   After:   Conv[relu]         Conv[sum(r), relu]          MatMul[binary_add(b), clip(0, 6)]
//
//   Before:  Conv(1x1) -> Clip(0, 6) -> Conv(depthwise 3x3) -> Clip(0, 6)
//   After:   Conv(1x1)[clip(0, 6), dw(3x3), clip(0, 6)]
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
//     >= 7 for the binary ops (no legacy broadcast attributes); a depthwise
//     Conv (chain value as X; W [C, 1, 3, 3] and B constants; group C;
//     strides 1 or 2 on both axes; pads 1 on all sides; no dilation or
//     auto_pad): oneDNN's `dw` post-op, which only a 1x1 anchor takes.
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
//  8. oneDNN accepts the post-ops with a non-reference implementation (for
//     `dw`: a fused kernel, not ref_fused_convolution, which runs the two
//     convolutions one after the other).
//  9. No binary or sum post-op in a chain with a `dw` (it changes the dst's
//     shape).
//
// Semantics: the post-ops are the oneDNN algorithms the standalone kernels
// use, except Clip: standalone it keeps NaN as numpy (and ONNX Runtime) do,
// fused it is oneDNN's clip, which turns NaN into the lower bound (oneDNN
// has no NaN-keeping clamp that is also exact; a NaN reaches it only from a
// NaN or infinite input).
//
// The depthwise follower: the fused kernel computes the 1x1 output a few
// rows at a time and runs the depthwise convolution on them while they are
// in cache, so the expanded tensor (MobileNetV2: up to 96x112x112) never
// goes to memory. oneDNN 2.6 fuses only where its jit_1x1 kernel takes it
// (MobileNetV2: the 112x112 and 56x56 blocks; elsewhere ref_fused, refused
// by 8). Measured on those blocks, 1x1 + dw pair: batch 8, 1 thread 3.48 ->
// 2.54 ms (112x112, stride 2), 2.65 -> 2.19 ms (56x56); batch 1, 2 threads
// 0.249 -> 0.179 ms (112x112); batch 1, 1 thread only 2-8% faster.
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
    kDepthwise,  // 3x3 depthwise convolution of the chain value, pads 1
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
  // kDepthwise: stride (both axes), weights [C, 1, 3, 3] and bias [C] (null
  // when none), float32 constants of the plan.
  int64_t stride = 1;
  const Tensor* weights = nullptr;
  const Tensor* bias = nullptr;
};

// The post-ops offered to one anchor kernel, in order.
struct PostOpChain {
  std::vector<PostOp> ops;
};

// Anchor node -> its candidate followers, in chain order.
using FusionCandidates =
    std::unordered_map<const ir::Node*, std::vector<const ir::Node*>>;

// The element-wise activations a chain may hold (precondition 3): Relu,
// LeakyRelu, Elu, Sigmoid, Tanh, HardSwish, Clip.
bool IsEltwiseFollower(ir::OpKind kind);

// Each node's position in the planner's topological order.
using NodePositions = std::unordered_map<const ir::Node*, size_t>;

// Structural preconditions 1-3 over `nodes` (a graph's nodes, topologically
// sorted) at `positions` (their indices there).
FusionCandidates FindFusionCandidates(const std::vector<ir::Node*>& nodes,
                                      const NodePositions& positions);

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
