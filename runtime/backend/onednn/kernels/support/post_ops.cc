#include "runtime/backend/onednn/kernels/support/post_ops.h"

#include <string>

#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/reorder.h"

namespace bnfold::onednn {

namespace {

[[noreturn]] void Refuse(const char* why) { throw dnnl::error(dnnl_unimplemented, why); }

// `operand` seen with dst's rank, for a binary post-op.
dnnl::memory::desc BroadcastOperandDesc(const TensorDesc& operand,
                                        const dnnl::memory::dims& dst_dims) {
  const std::vector<int64_t>& dims = operand.dims;
  if (dims.size() > dst_dims.size()) Refuse("post-op operand has a higher rank than dst");
  const size_t lead = dst_dims.size() - dims.size();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] != 1 && dims[i] != dst_dims[lead + i]) {
      Refuse("post-op operand does not broadcast into dst");
    }
  }
  if (!operand.is_plain()) {
    if (lead != 0) Refuse("blocked post-op operand of a lower rank than dst");
    return operand.layout;
  }
  std::vector<int64_t> aligned(lead, 1);
  aligned.insert(aligned.end(), dims.begin(), dims.end());
  return PlainDesc(operand.dtype, aligned);
}

}  // namespace

void AppendPostOps(const PostOpChain& chain, size_t count, const dnnl::memory::dims& dst_dims,
                   dnnl::post_ops* ops, std::vector<PostOpOperand>* operands) {
  const bool depthwise = HasDepthwisePostOp(chain, count);
  for (size_t i = 0; i < count; ++i) {
    const PostOp& op = chain.ops[i];
    if (depthwise && (op.kind == PostOp::Kind::kSum || op.kind == PostOp::Kind::kBinary)) {
      Refuse("binary or sum post-op in a chain with a depthwise one");
    }
    switch (op.kind) {
      case PostOp::Kind::kDepthwise: {
        if (dst_dims.size() != 4 || op.weights->shape()[0] != dst_dims[1]) {
          Refuse("depthwise post-op does not fit the dst");
        }
        const auto f32 = dnnl::memory::data_type::f32;
        ops->append_dw(f32, op.bias ? f32 : dnnl::memory::data_type::undef, f32,
                       /*kernel_size=*/3, op.stride, /*padding_l_size=*/1, /*mask=*/0, {});
        break;
      }
      case PostOp::Kind::kEltwise:
        ops->append_eltwise(1.0f, op.algorithm, op.alpha, op.beta);
        break;
      case PostOp::Kind::kSum:
        if (op.operand.dims != std::vector<int64_t>(dst_dims.begin(), dst_dims.end())) {
          Refuse("sum operand and dst differ in shape");
        }
        ops->append_sum(1.0f);
        break;
      case PostOp::Kind::kBinary: {
        const dnnl::memory::desc md = BroadcastOperandDesc(op.operand, dst_dims);
        const int index = ops->len();
        ops->append_binary(op.algorithm, md);
        operands->push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, op.input, md});
        break;
      }
    }
  }
}

dnnl::memory::desc PostOpDstDesc(const PostOpChain& chain, size_t count,
                                 const dnnl::memory::dims& dst_dims) {
  const std::vector<int64_t> dims(dst_dims.begin(), dst_dims.end());
  for (size_t i = 0; i < count; ++i) {
    if (chain.ops[i].kind == PostOp::Kind::kSum) return chain.ops[i].operand.ToMemoryDesc();
  }
  for (size_t i = 0; i < count; ++i) {
    const PostOp& op = chain.ops[i];
    if (op.kind == PostOp::Kind::kBinary && op.operand.dims == dims) {
      return op.operand.ToMemoryDesc();
    }
  }
  return dnnl::memory::desc();
}

void BindPostOpOperands(const std::vector<PostOpOperand>& operands, PrimitiveRunner* runner) {
  for (const PostOpOperand& operand : operands) {
    runner->BindInput(operand.arg, operand.input, operand.md);
  }
}

dnnl::memory::dims PostOpOutputDims(const PostOpChain& chain, size_t count,
                                    const dnnl::memory::dims& dst_dims) {
  dnnl::memory::dims dims = dst_dims;
  for (size_t i = 0; i < count; ++i) {
    if (chain.ops[i].kind != PostOp::Kind::kDepthwise) continue;
    // 3x3, pads 1 on both sides: (d + 2 - 3) / stride + 1.
    for (size_t axis = 2; axis < dims.size(); ++axis) {
      dims[axis] = (dims[axis] - 1) / chain.ops[i].stride + 1;
    }
  }
  return dims;
}

std::optional<VectorActivation> VectorActivationOf(const PostOp& op) {
  if (op.kind != PostOp::Kind::kEltwise) return std::nullopt;
  if (op.algorithm == dnnl::algorithm::eltwise_relu) {
    return VectorActivation{VectorActivation::Kind::kRelu, op.alpha, 0.0f};
  }
  if (op.algorithm == dnnl::algorithm::eltwise_clip_v2) {
    return VectorActivation{VectorActivation::Kind::kClip, op.alpha, op.beta};
  }
  return std::nullopt;
}

bool HasDepthwisePostOp(const PostOpChain& chain, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (chain.ops[i].kind == PostOp::Kind::kDepthwise) return true;
  }
  return false;
}

void BindDepthwiseOperands(const PostOpChain& chain, size_t count,
                           const dnnl::primitive_desc_base& pd, const dnnl::engine& engine,
                           PrimitiveRunner* runner) {
  const auto f32 = dnnl::memory::data_type::f32;
  for (size_t i = 0; i < count; ++i) {
    const PostOp& op = chain.ops[i];
    if (op.kind != PostOp::Kind::kDepthwise) continue;
    const int64_t channels = op.weights->shape()[0];
    // Plain [C, 1, 3, 3] seen as oneDNN's grouped [G, 1, 1, 3, 3].
    const dnnl::memory::desc plain({channels, 1, 1, 3, 3}, f32, dnnl::memory::format_tag::goihw);
    const dnnl::memory::desc wanted =
        pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS);
    if (wanted.is_zero() || wanted.get_size() < plain.get_size()) {
      Refuse("depthwise post-op weights of an unexpected layout");
    }
    runner->BindMemory(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS,
                       ReorderConstant(*op.weights, plain, wanted, engine));
    if (op.bias != nullptr) {
      const dnnl::memory::desc bias_md({channels}, f32, dnnl::memory::format_tag::a);
      runner->BindMemory(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS,
                         ReorderConstant(*op.bias, bias_md, bias_md, engine));
    }
  }
}

void RefuseSlowImplementation(const dnnl::primitive_desc_base& pd, bool gemm_is_slow) {
  if (IsReferenceImpl(pd)) Refuse("only a reference implementation");
  if (std::string(pd.impl_info_str()).find("ref_fused") != std::string::npos) {
    Refuse("the fused depthwise post-op would run apart");
  }
  if (gemm_is_slow && std::string(pd.impl_info_str()).find("gemm") != std::string::npos) {
    Refuse("only a gemm-based implementation");
  }
}

Status CompileWithPostOps(CompileContext& ctx, const std::function<void(size_t count)>& build) {
  const PostOpChain* chain = ctx.post_ops();
  for (size_t count = chain ? chain->ops.size() : 0; count > 0; --count) {
    try {
      build(count);
      ctx.AcceptPostOps(count);
      return Status::Ok();
    } catch (const dnnl::error&) {
      // oneDNN refused this prefix: offer a shorter one.
    }
  }
  return CatchDnnl(ctx.Describe(), [&] { build(0); });
}

}  // namespace bnfold::onednn
