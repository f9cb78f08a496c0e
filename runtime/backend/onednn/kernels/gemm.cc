// Gemm and MatMul on oneDNN's matmul primitive. A constant B (the usual
// weights) takes the layout oneDNN prefers and is reordered once at compile
// time; a B computed at run time is read in place. Gemm's transposes are
// strides, alpha an output scale and beta*C a binary post-op:
//   Y = beta * ((alpha / beta) * A'B' + C)    (eltwise_linear applies beta)
// which needs C neither copied nor pre-scaled. MatMul broadcasts batch dims
// as numpy does and promotes 1-D operands. Fused followers (fusion.h) are
// post-ops after those. float16/bfloat16/float64 run through F32Bridge.
// A single row times a small constant B runs on PackedGemv instead (gemv.h:
// at batch 1 oneDNN's matmul costs 1.7x its time) when every fused post-op
// has a GEMV form.
#include <cmath>
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/conv_weights.h"
#include "runtime/backend/onednn/kernels/support/f32_bridge.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/post_ops.h"
#include "runtime/backend/onednn/kernels/x86/gemv.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

using PrimitiveDesc = dnnl::matmul::primitive_desc;

constexpr const char* kFloatTypes = "float, float16, bfloat16, double (all alike)";

// A row-major tensor of `dims`, optionally read transposed (last two axes).
dnnl::memory::desc StridedDesc(std::vector<int64_t> dims, bool transposed) {
  std::vector<int64_t> strides = RowMajorStrides(dims);
  if (transposed) {
    const size_t r = dims.size();
    std::swap(dims[r - 2], dims[r - 1]);
    std::swap(strides[r - 2], strides[r - 1]);
  }
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

Status CheckFloatInputs(const CompileContext& ctx, int count) {
  for (int i = 0; i < count; ++i) {
    if (ctx.has_input(i) && ctx.input(i).dtype != DataType::kFloat) {
      return UnsupportedType(ctx, i, kFloatTypes);
    }
  }
  return Status::Ok();
}

// Appends the offered post-ops (fusion.h) [first, fused) to `attr`'s, after
// the kernel's own; the dst is plain `dst_dims`.
std::vector<PostOpOperand> AddFusedPostOps(const CompileContext& ctx, size_t first, size_t fused,
                                           const std::vector<int64_t>& dst_dims,
                                           dnnl::primitive_attr* attr) {
  std::vector<PostOpOperand> operands;
  if (fused <= first) return operands;
  PostOpChain chain;
  chain.ops.assign(ctx.post_ops()->ops.begin() + first, ctx.post_ops()->ops.begin() + fused);
  const dnnl::memory::dims dst(dst_dims.begin(), dst_dims.end());
  const dnnl::memory::desc fixed_dst = PostOpDstDesc(chain, chain.ops.size(), dst);
  if (!fixed_dst.is_zero() && fixed_dst != PlainDesc(DataType::kFloat, dst_dims)) {
    throw dnnl::error(dnnl_unimplemented, "post-op operand is not plain");
  }
  dnnl::post_ops ops = attr->get_post_ops();
  AppendPostOps(chain, chain.ops.size(), dst, &ops, &operands);
  attr->set_post_ops(ops);
  return operands;
}

// A bias the matmul adds itself (DNNL_ARG_BIAS): a row of N values, as a
// [1, ..., 1, N] desc of `rank` dims. At batch 256 it beats the same add as
// a binary post-op: mlp's [256,784]x[784,100] 200 -> 195 us, [100,100]
// 29.9 -> 25.1 us, [100,10] 4.8 -> 4.1 us.
dnnl::memory::desc RowBiasDesc(size_t rank, int64_t n) {
  dnnl::memory::dims dims(rank, 1);
  dims.back() = n;
  return PlainDesc(DataType::kFloat, std::vector<int64_t>(dims.begin(), dims.end()));
}

// A plain float32 operand whose dims are all 1 but the last: one row (or a
// scalar) that broadcasts along every other axis.
bool IsPlainFloatRow(const TensorDesc& operand) {
  if (!operand.is_plain() || operand.dtype != DataType::kFloat) return false;
  for (size_t d = 0; d + 1 < operand.dims.size(); ++d) {
    if (operand.dims[d] != 1) return false;
  }
  return true;
}

// Whether offered post-op 0 adds a plain float row of the dst's `n` values
// (the bias of a MatMul -> Add pair), which the matmul can add as its bias.
bool FirstPostOpIsRowBias(const CompileContext& ctx, size_t fused, int64_t n) {
  if (fused == 0) return false;
  const PostOp& op = ctx.post_ops()->ops[0];
  return op.kind == PostOp::Kind::kBinary && op.algorithm == dnnl::algorithm::binary_add &&
         IsPlainFloatRow(op.operand) && !op.operand.dims.empty() && op.operand.dims.back() == n;
}

// Appends the GEMV form of the first `fused` offered post-ops (fusion.h) to
// `ops`, the dst being `dst_dims` (one row). False when one has none.
bool AppendGemvPostOps(const CompileContext& ctx, size_t fused,
                       const std::vector<int64_t>& dst_dims, std::vector<GemvOp>* ops) {
  const int64_t n = dst_dims.empty() ? 1 : dst_dims.back();
  for (size_t i = 0; i < fused; ++i) {
    const PostOp& post_op = ctx.post_ops()->ops[i];
    GemvOp op;
    switch (post_op.kind) {
      case PostOp::Kind::kEltwise: {
        const std::optional<VectorActivation> activation = VectorActivationOf(post_op);
        if (!activation) return false;
        op.kind = GemvOp::Kind::kActivation;
        op.activation = *activation;
        break;
      }
      case PostOp::Kind::kSum:
        if (!post_op.operand.is_plain() || post_op.operand.dims != dst_dims) return false;
        op.kind = GemvOp::Kind::kAccumulate;
        break;
      case PostOp::Kind::kBinary: {
        // Into the dst as ONNX broadcasts (right-aligned): every operand dim
        // 1, but the last, which may be the dst's.
        const std::vector<int64_t>& dims = post_op.operand.dims;
        if (!IsPlainFloatRow(post_op.operand) || dims.size() > dst_dims.size()) return false;
        if (!dims.empty() && dims.back() != 1 && dims.back() != n) return false;
        switch (post_op.algorithm) {
          case dnnl::algorithm::binary_add: op.kind = GemvOp::Kind::kAdd; break;
          case dnnl::algorithm::binary_sub: op.kind = GemvOp::Kind::kSub; break;
          case dnnl::algorithm::binary_mul: op.kind = GemvOp::Kind::kMul; break;
          case dnnl::algorithm::binary_div: op.kind = GemvOp::Kind::kDiv; break;
          default: return false;
        }
        op.input = post_op.input;
        op.per_column = !dims.empty() && dims.back() == n && n > 1;
        break;
      }
      case PostOp::Kind::kDepthwise:  // a convolution's follower only
        return false;
    }
    ops->push_back(op);
  }
  return ops->size() <= PackedGemv::kMaxOps;
}

// The packed GEMV for a one-row product with constant B (input 1, [k, n],
// or [n, k] when `transposed`) and epilogue `ops`; null when it does not
// apply. B is then never read at run time: it stays plain.
std::shared_ptr<const PackedGemv> TryGemv(CompileContext& ctx, int64_t k, int64_t n,
                                          bool transposed, std::vector<GemvOp> ops) {
  const Tensor* b = ctx.constant_input(1);
  if (b == nullptr || b->dtype() != DataType::kFloat || !PackedGemv::Worthwhile(k, n, ctx.threads())) {
    return nullptr;
  }
  std::shared_ptr<const PackedGemv> gemv =
      PackedGemv::Create(b->data_as<float>(), k, n, transposed, std::move(ops));
  // An earlier attempt (more post-ops, on oneDNN) may have asked for a
  // blocked B.
  if (gemv) ctx.RequireInputLayout(1, PlainDesc(DataType::kFloat, ctx.input(1).dims));
  return gemv;
}

// How profiles name PackedGemv.
constexpr const char* kGemvName = "bnfold gemv:avx512";

// Runs `gemv` on the step's input 0 into output 0.
void RunGemv(const PackedGemv& gemv, ExecContext& ctx) {
  const float* operands[PackedGemv::kMaxOps];
  const std::vector<GemvOp>& ops = gemv.ops();
  for (size_t i = 0; i < ops.size(); ++i) {
    operands[i] = ops[i].input >= 0 ? ctx.input_as<float>(ops[i].input) : nullptr;
  }
  gemv.Run(ctx.input_as<float>(0), operands, ctx.output_as<float>(0));
}

// Places B (input 1) and builds the matmul; weights are oneDNN's preferred
// layout only when B is constant (a run-time B would need a reorder per run).
// `fused`: how many of the post-ops in `attr` are fused followers.
// `bias_md`: the zero desc, or the bias (step input `bias_input`) the matmul
// adds before the post-ops (and before its output scale).
PrimitiveDesc BuildMatMul(CompileContext& ctx, const dnnl::memory::desc& src_md,
                          const WeightsMapping& weights, const dnnl::memory::desc& dst_md,
                          const dnnl::memory::desc& bias_md, int bias_input,
                          const dnnl::primitive_attr& attr, size_t fused, bool plain_only,
                          PrimitiveRunner* runner) {
  const std::function<PrimitiveDesc(const dnnl::memory::desc&)> make_pd =
      [&](const dnnl::memory::desc& weights_md) {
        PrimitiveDesc pd(bias_md.is_zero()
                             ? dnnl::matmul::desc(src_md, weights_md, dst_md)
                             : dnnl::matmul::desc(src_md, weights_md, bias_md, dst_md),
                         attr, ctx.engine());
        if (fused > 0) RefuseSlowImplementation(pd, /*gemm_is_slow=*/false);
        return pd;
      };
  PrimitiveDesc pd;
  const bool plain_weights = plain_only || ctx.constant_input(1) == nullptr;
  PlaceWeights<PrimitiveDesc>(ctx, 1, DNNL_ARG_WEIGHTS, weights, plain_weights, make_pd, &pd,
                              runner);
  runner->set_primitive(dnnl::matmul(pd));
  runner->BindInput(DNNL_ARG_SRC, 0, src_md);
  if (!bias_md.is_zero()) runner->BindInput(DNNL_ARG_BIAS, bias_input, bias_md);
  runner->BindOutput(DNNL_ARG_DST, 0, dst_md);
  runner->BindScratchpad(pd.scratchpad_desc());
  ctx.RequestScratchpad(ScratchpadBytes(pd));
  return pd;
}

class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(bool plain_only) : plain_only_(plain_only) {}

  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() < 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
      return InvalidModel(ctx.Describe() + ": needs inputs A and B");
    }
    const bool has_c = ctx.num_inputs() > 2 && ctx.has_input(2);
    RETURN_IF_ERROR(CheckFloatInputs(ctx, 3));
    ASSIGN_OR_RETURN(const int64_t trans_a, ctx.node().GetInt("transA", 0));
    ASSIGN_OR_RETURN(const int64_t trans_b, ctx.node().GetInt("transB", 0));
    ASSIGN_OR_RETURN(const float alpha, ctx.node().GetFloat("alpha", 1.0f));
    ASSIGN_OR_RETURN(const float beta, ctx.node().GetFloat("beta", 1.0f));
    // Opset < 7 `broadcast`: C is broadcast whenever its shape allows, as
    // ONNX Runtime does, so the attribute is only type-checked.
    ASSIGN_OR_RETURN(const int64_t broadcast, ctx.node().GetInt("broadcast", 0));
    (void)broadcast;
    const std::vector<int64_t>& a = ctx.input(0).dims;
    const std::vector<int64_t>& b = ctx.input(1).dims;
    if (a.size() != 2 || b.size() != 2) {
      return InvalidModel(ctx.Describe() + ": A " + ShapeToString(a) + " and B " +
                          ShapeToString(b) + " must be matrices");
    }
    const int64_t m = trans_a ? a[1] : a[0], k = trans_a ? a[0] : a[1];
    const int64_t n = trans_b ? b[0] : b[1];
    if ((trans_b ? b[1] : b[0]) != k) {
      return InvalidModel(ctx.Describe() + ": A " + ShapeToString(a) + (trans_a ? " (transposed)" : "") +
                          " and B " + ShapeToString(b) + (trans_b ? " (transposed)" : "") +
                          " do not share the inner dimension");
    }
    // C, right-aligned into [M, N], as a 2-D desc.
    const bool use_c = has_c && beta != 0.0f;
    std::vector<int64_t> c2 = {1, 1};
    if (has_c) {
      const std::vector<int64_t>& c = ctx.input(2).dims;
      bool fits = c.size() <= 2;
      for (size_t i = 0; fits && i < c.size(); ++i) {
        const int64_t want = i + 2 - c.size() == 0 ? m : n;
        c2[i + 2 - c.size()] = c[i];
        fits = c[i] == want || c[i] == 1;
      }
      if (!fits) {
        return InvalidModel(ctx.Describe() + ": C " + ShapeToString(c) +
                            " cannot be broadcast to [" + std::to_string(m) + ", " +
                            std::to_string(n) + "]");
      }
    }
    ctx.SetOutput(0, DataType::kFloat, {m, n});
    if (m == 0 || n == 0) {
      empty_ = true;
      return Status::Ok();
    }
    if (k == 0) return Unsupported(ctx.Describe() + ": A and B have an empty inner dimension");
    if (use_c && !std::isfinite(alpha / beta)) {
      return Unsupported(ctx.Describe() + ": alpha " + std::to_string(alpha) + " / beta " +
                         std::to_string(beta) + " is out of float range");
    }
    return CompileWithPostOps(ctx, [&](size_t fused) {
      runner_ = PrimitiveRunner();
      gemv_.reset();
      if (m == 1) {
        // Y = alpha * A B + beta * C, then the followers.
        std::vector<GemvOp> ops;
        if (alpha != 1.0f) ops.push_back({GemvOp::Kind::kScale, alpha});
        if (use_c) {
          GemvOp add{GemvOp::Kind::kAdd, beta};
          add.input = 2;
          add.per_column = c2[1] == n && n > 1;
          ops.push_back(add);
        }
        if (AppendGemvPostOps(ctx, fused, {m, n}, &ops)) {
          gemv_ = TryGemv(ctx, k, n, trans_b != 0, std::move(ops));
          if (gemv_) return;
        }
      }
      dnnl::primitive_attr attr = DefaultPrimitiveAttr();
      const dnnl::memory::desc c_md(c2, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
      // alpha == beta with a row C (the usual Gemm bias): alpha * (A'B' + C)
      // with C as the matmul's own bias (oneDNN 2.6 scales after the bias).
      const bool native_bias = use_c && alpha == beta && c2[0] == 1 && c2[1] == n;
      const float scale = use_c && !native_bias ? alpha / beta : alpha;
      if (scale != 1.0f) attr.set_output_scales(0, {scale});
      if (use_c && !native_bias) {
        dnnl::post_ops ops;
        ops.append_binary(dnnl::algorithm::binary_add, c_md);
        if (beta != 1.0f) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, beta, 0.0f);
        attr.set_post_ops(ops);
      }
      const std::vector<PostOpOperand> operands = AddFusedPostOps(ctx, 0, fused, {m, n}, &attr);
      WeightsMapping weights{b, b, trans_b ? 0 : -1};
      BuildMatMul(ctx, StridedDesc(a, trans_a != 0), weights, PlainDesc(DataType::kFloat, {m, n}),
                  native_bias ? c_md : dnnl::memory::desc(), 2, attr, fused, plain_only_,
                  &runner_);
      if (use_c && !native_bias) {
        runner_.BindInput(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, 2, c_md);
      }
      BindPostOpOperands(operands, &runner_);
    });
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return empty_ || gemv_ ? nullptr : runner_.CreateState(engine);
  }

  Status Execute(ExecContext& ctx) const override {
    if (gemv_) {
      RunGemv(*gemv_, ctx);
    } else if (!empty_) {
      runner_.Execute(ctx);
    }
    return Status::Ok();
  }
  const char* Implementation() const override { return gemv_ ? kGemvName : nullptr; }

 private:
  bool plain_only_;
  bool empty_ = false;
  PrimitiveRunner runner_;
  std::shared_ptr<const PackedGemv> gemv_;  // instead of runner_
};

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(bool plain_only) : plain_only_(plain_only) {}

  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() < 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
      return InvalidModel(ctx.Describe() + ": needs inputs A and B");
    }
    RETURN_IF_ERROR(CheckFloatInputs(ctx, 2));
    const std::vector<int64_t>& a = ctx.input(0).dims;
    const std::vector<int64_t>& b = ctx.input(1).dims;
    if (a.empty() || b.empty()) {
      return InvalidModel(ctx.Describe() + ": MatMul operands must have rank >= 1, got " +
                          ShapeToString(a) + " and " + ShapeToString(b));
    }
    // numpy: a 1-D A is a row [1, K], a 1-D B a column [K, 1]; the unit
    // dims are dropped from the result.
    std::vector<int64_t> a2 = a, b2 = b;
    if (a.size() == 1) a2.insert(a2.begin(), 1);
    if (b.size() == 1) b2.push_back(1);
    const int64_t k = a2.back();
    if (b2[b2.size() - 2] != k) {
      return InvalidModel(ctx.Describe() + ": A " + ShapeToString(a) + " and B " +
                          ShapeToString(b) + " do not share the inner dimension");
    }
    const size_t rank = std::max(a2.size(), b2.size());
    if (rank > DNNL_MAX_NDIMS) {
      return Unsupported(ctx.Describe() + ": rank " + std::to_string(rank) + " exceeds oneDNN's " +
                         std::to_string(DNNL_MAX_NDIMS));
    }
    a2.insert(a2.begin(), rank - a2.size(), 1);
    b2.insert(b2.begin(), rank - b2.size(), 1);
    std::vector<int64_t> out(rank);
    for (size_t i = 0; i + 2 < rank; ++i) {
      if (a2[i] != b2[i] && a2[i] != 1 && b2[i] != 1) {
        return InvalidModel(ctx.Describe() + ": batch dims of A " + ShapeToString(a) +
                            " and B " + ShapeToString(b) + " cannot be broadcast together");
      }
      out[i] = a2[i] == 1 ? b2[i] : a2[i];
    }
    out[rank - 2] = a2[rank - 2];
    out[rank - 1] = b2[rank - 1];
    std::vector<int64_t> y(out.begin(), out.end() - 2);
    if (a.size() > 1) y.push_back(out[rank - 2]);
    if (b.size() > 1) y.push_back(out[rank - 1]);
    ctx.SetOutput(0, DataType::kFloat, y);
    for (int64_t d : out) empty_ = empty_ || d == 0;
    if (empty_) return Status::Ok();
    if (k == 0) {  // a sum over nothing
      zero_bytes_ = static_cast<size_t>(TensorDesc{DataType::kFloat, y, {}}.byte_size());
      return Status::Ok();
    }
    // One row of A times one matrix B (every other dim 1): a GEMV.
    bool one_row = true;
    for (size_t i = 0; i + 1 < rank; ++i) one_row = one_row && a2[i] == 1;
    for (size_t i = 0; i + 2 < rank; ++i) one_row = one_row && b2[i] == 1;
    return CompileWithPostOps(ctx, [&](size_t fused) {
      runner_ = PrimitiveRunner();
      // Post-ops see oneDNN's dst: only when it is the output itself (no
      // unit dims dropped from 1-D operands).
      if (fused > 0 && out != y) throw dnnl::error(dnnl_unimplemented, "1-D MatMul operand");
      gemv_.reset();
      if (one_row) {
        std::vector<GemvOp> ops;
        if (AppendGemvPostOps(ctx, fused, out, &ops)) {
          gemv_ = TryGemv(ctx, k, out[rank - 1], /*transposed=*/false, std::move(ops));
          if (gemv_) return;
        }
      }
      dnnl::primitive_attr attr = DefaultPrimitiveAttr();
      // MatMul -> Add(row): the Add is the matmul's bias.
      const bool row_bias = FirstPostOpIsRowBias(ctx, fused, out[rank - 1]);
      const std::vector<PostOpOperand> operands =
          AddFusedPostOps(ctx, row_bias ? 1 : 0, fused, out, &attr);
      BuildMatMul(ctx, PlainDesc(DataType::kFloat, a2), WeightsMapping{b, b2, -1},
                  PlainDesc(DataType::kFloat, out),
                  row_bias ? RowBiasDesc(rank, out[rank - 1]) : dnnl::memory::desc(),
                  row_bias ? ctx.post_ops()->ops[0].input : -1, attr, fused, plain_only_,
                  &runner_);
      BindPostOpOperands(operands, &runner_);
    });
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return empty_ || zero_bytes_ || gemv_ ? nullptr : runner_.CreateState(engine);
  }

  Status Execute(ExecContext& ctx) const override {
    if (zero_bytes_) {
      std::memset(ctx.output(0), 0, zero_bytes_);
    } else if (gemv_) {
      RunGemv(*gemv_, ctx);
    } else if (!empty_) {
      runner_.Execute(ctx);
    }
    return Status::Ok();
  }
  const char* Implementation() const override { return gemv_ ? kGemvName : nullptr; }

 private:
  bool plain_only_;
  bool empty_ = false;
  size_t zero_bytes_ = 0;
  PrimitiveRunner runner_;
  std::shared_ptr<const PackedGemv> gemv_;  // instead of runner_
};

}  // namespace

void RegisterGemmKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kGemm, MakeFloatKernel<GemmKernel>);
  registry.Register(ir::OpKind::kMatMul, MakeFloatKernel<MatMulKernel>);
}

}  // namespace bnfold::onednn
