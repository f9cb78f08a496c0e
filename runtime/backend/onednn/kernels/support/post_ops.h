// The kernel side of fusion (fusion.h): turning the post-ops the planner
// offers into oneDNN post-ops on an anchor's primitive, and offering oneDNN
// ever shorter prefixes until it takes one.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "runtime/backend/onednn/fusion.h"
#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/kernels/x86/vector_activation.h"

namespace bnfold::onednn {

// A binary post-op's operand: primitive argument `arg` reads step input
// `input` described by `md`.
struct PostOpOperand {
  int arg;
  int input;
  dnnl::memory::desc md;
};

// The first `count` post-ops of `chain` applied to a float32 dst of
// `dst_dims`: appended to `ops` (after any it already holds) and
// `operands` (to bind with BindPostOpOperands). Throws dnnl::error when an
// operand does not broadcast into dst_dims as ONNX broadcasts (right-aligned,
// each dim 1 or equal): fusing must not change the output's shape.
void AppendPostOps(const PostOpChain& chain, size_t count, const dnnl::memory::dims& dst_dims,
                   dnnl::post_ops* ops, std::vector<PostOpOperand>* operands);

// The desc the dst must have for the first `count` post-ops: a `sum`'s (the
// buffer it accumulates into), else that of the first binary operand as
// large as the dst (oneDNN's convolutions read such an operand fast only in
// the dst's own layout); the zero desc when none constrains it.
dnnl::memory::desc PostOpDstDesc(const PostOpChain& chain, size_t count,
                                 const dnnl::memory::dims& dst_dims);

void BindPostOpOperands(const std::vector<PostOpOperand>& operands, PrimitiveRunner* runner);

// The dims of the chain value after the first `count` post-ops, from the
// anchor's `dst_dims` (a `dw` shrinks the spatial dims by its stride).
dnnl::memory::dims PostOpOutputDims(const PostOpChain& chain, size_t count,
                                    const dnnl::memory::dims& dst_dims);

// The activation an eltwise post-op is, for our own kernels; nullopt for
// other post-ops (and eltwise algorithms they do not apply).
std::optional<VectorActivation> VectorActivationOf(const PostOp& op);

// Whether the first `count` post-ops include a `dw`.
bool HasDepthwisePostOp(const PostOpChain& chain, size_t count);

// Binds the weights and bias of a `dw` among the first `count` post-ops of
// `pd`'s primitive: reordered once, into memory the runner owns, to the
// layout `pd` asks for.
void BindDepthwiseOperands(const PostOpChain& chain, size_t count,
                           const dnnl::primitive_desc_base& pd, const dnnl::engine& engine,
                           PrimitiveRunner* runner);

// Throws dnnl::error when oneDNN picked its reference implementation (or
// ref_fused_convolution, which runs a `dw` post-op apart) or,
// with `gemm_is_slow` (convolutions), a gemm-based one: with post-ops or in
// a layout it does not favour oneDNN may fall back to those at 1-100x the
// time, and running the followers apart (or reordering) is faster.
void RefuseSlowImplementation(const dnnl::primitive_desc_base& pd, bool gemm_is_slow);

// Compiles an anchor kernel: calls build(count) for count = the number of
// post-ops offered, then fewer, down to 0, until one does not throw
// dnnl::error, and tells the planner how many were fused. `build` must
// start from a clean kernel state (it may run more than once). Errors at
// count 0 are the kernel's own: a Status naming the node.
Status CompileWithPostOps(CompileContext& ctx, const std::function<void(size_t count)>& build);

}  // namespace bnfold::onednn
