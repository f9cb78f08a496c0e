// Element-wise unary ops: the activations (Relu, LeakyRelu, Elu, Selu,
// Sigmoid, HardSigmoid, HardSwish, Tanh, Softplus, Softsign, Clip (in
// activation_clip.cc),
// ThresholdedRelu, Shrink, Celu, Mish, Gelu) and the math functions (Exp,
// Log, Sqrt, Neg, Abs, Reciprocal, Floor, Ceil, Erf, Round, and the
// trigonometric and hyperbolic functions of the math family).
//
// float32 runs on oneDNN's eltwise primitive where oneDNN 2.6 has the
// function at float precision; it takes any layout and keeps it, so blocked
// activations stay blocked between convolutions. The rest (functions oneDNN
// lacks or gets wrong, float16, bfloat16, double, the integer types) runs a
// C++ loop, computing 16-bit floats through float; it keeps a blocked layout
// too when the function maps 0 to 0.
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/small_tensor.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

// activation_clip.cc.
void RegisterClipKernels(KernelRegistry& registry);

namespace {

enum class UnaryOp {
  kRelu, kLeakyRelu, kElu, kSelu, kSigmoid, kHardSigmoid, kHardSwish, kTanh, kSoftplus,
  kSoftsign, kExp, kLog, kSqrt, kNeg, kAbs, kReciprocal, kFloor, kCeil, kErf,
  // The element-wise ops of the math family (BNFOLD_OPS_MATH).
  kSin, kCos, kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh, kRound,
  kThresholdedRelu, kShrink, kCelu, kMish, kGelu,
};

struct UnaryParams {
  double alpha = 0.0;
  double beta = 0.0;
  double gamma = 0.0;
  bool tanh_approximation = false;  // Gelu's approximate="tanh"
};

// Which element types an op takes besides the floating ones: Relu/Neg the
// signed integers, Abs and Shrink all integers (as the newest opsets allow).
template <UnaryOp kOp, typename T>
constexpr bool kUnaryAccepts =
    kIsFloating<T> ||
    (kIsInteger<T> && (kOp == UnaryOp::kAbs || kOp == UnaryOp::kShrink ||
                       ((kOp == UnaryOp::kRelu || kOp == UnaryOp::kNeg) && std::is_signed_v<T>)));

template <typename T>
inline T WrapNegate(T x) {
  return static_cast<T>(uint64_t{0} - static_cast<uint64_t>(x));
}

// v clamped to [0, 1]; NaN stays NaN (as numpy's clip).
template <typename C>
inline C ClampUnit(C v) {
  return v < C(0) ? C(0) : (v > C(1) ? C(1) : v);
}

// One element; C is float or double for the floating types, T itself for
// integers.
template <UnaryOp kOp, typename C>
inline C ApplyUnary(C x, const UnaryParams& p) {
  const C alpha = static_cast<C>(p.alpha);
  const C beta = static_cast<C>(p.beta);
  const C gamma = static_cast<C>(p.gamma);
  (void)alpha, (void)beta, (void)gamma;
  if constexpr (kOp == UnaryOp::kRelu) return x < C(0) ? C(0) : x;
  if constexpr (kOp == UnaryOp::kLeakyRelu) return x < C(0) ? alpha * x : x;
  if constexpr (kOp == UnaryOp::kElu) return x < C(0) ? alpha * std::expm1(x) : x;
  if constexpr (kOp == UnaryOp::kSelu) return gamma * (x <= C(0) ? alpha * std::expm1(x) : x);
  if constexpr (kOp == UnaryOp::kSigmoid) {
    // Split by sign so exp never overflows into inf/inf.
    if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
    const C e = std::exp(x);
    return e / (C(1) + e);
  }
  if constexpr (kOp == UnaryOp::kHardSigmoid) {
    return ClampUnit(alpha * x + beta);
  }
  if constexpr (kOp == UnaryOp::kHardSwish) {
    return x * ClampUnit(x / C(6) + C(0.5));
  }
  if constexpr (kOp == UnaryOp::kTanh) return std::tanh(x);
  if constexpr (kOp == UnaryOp::kSoftplus) {
    // log(1 + e^x) without overflow for large x.
    return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }
  if constexpr (kOp == UnaryOp::kSoftsign) return x / (C(1) + std::fabs(x));
  if constexpr (kOp == UnaryOp::kExp) return std::exp(x);
  if constexpr (kOp == UnaryOp::kLog) return std::log(x);
  if constexpr (kOp == UnaryOp::kSqrt) return std::sqrt(x);
  if constexpr (kOp == UnaryOp::kNeg) {
    if constexpr (std::is_integral_v<C>) return WrapNegate(x);
    return -x;
  }
  if constexpr (kOp == UnaryOp::kAbs) {
    if constexpr (std::is_integral_v<C>) {
      if constexpr (std::is_signed_v<C>) return x < 0 ? WrapNegate(x) : x;
      return x;
    }
    return std::fabs(x);
  }
  if constexpr (kOp == UnaryOp::kReciprocal) return C(1) / x;
  if constexpr (kOp == UnaryOp::kFloor) return std::floor(x);
  if constexpr (kOp == UnaryOp::kCeil) return std::ceil(x);
  if constexpr (kOp == UnaryOp::kErf) return std::erf(x);
  if constexpr (kOp == UnaryOp::kSin) return std::sin(x);
  if constexpr (kOp == UnaryOp::kCos) return std::cos(x);
  if constexpr (kOp == UnaryOp::kTan) return std::tan(x);
  if constexpr (kOp == UnaryOp::kAsin) return std::asin(x);
  if constexpr (kOp == UnaryOp::kAcos) return std::acos(x);
  if constexpr (kOp == UnaryOp::kAtan) return std::atan(x);
  if constexpr (kOp == UnaryOp::kSinh) return std::sinh(x);
  if constexpr (kOp == UnaryOp::kCosh) return std::cosh(x);
  if constexpr (kOp == UnaryOp::kAsinh) return std::asinh(x);
  if constexpr (kOp == UnaryOp::kAcosh) return std::acosh(x);
  if constexpr (kOp == UnaryOp::kAtanh) return std::atanh(x);
  if constexpr (kOp == UnaryOp::kRound) return std::nearbyint(x);  // halves to even
  if constexpr (kOp == UnaryOp::kThresholdedRelu) return x > alpha ? x : C(0);
  if constexpr (kOp == UnaryOp::kShrink) {  // alpha = lambd, beta = bias
    return x < -alpha ? x + beta : (x > alpha ? x - beta : C(0));
  }
  if constexpr (kOp == UnaryOp::kCelu) {
    return std::max(C(0), x) + std::min(C(0), alpha * std::expm1(x / alpha));
  }
  if constexpr (kOp == UnaryOp::kMish) {
    const C softplus = x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    return x * std::tanh(softplus);
  }
  if constexpr (kOp == UnaryOp::kGelu) {
    if (p.tanh_approximation) {
      const C k = static_cast<C>(0.79788456080286535588);  // sqrt(2 / pi)
      return C(0.5) * x * (C(1) + std::tanh(k * (x + C(0.044715) * x * x * x)));
    }
    return C(0.5) * x * (C(1) + std::erf(x * static_cast<C>(0.70710678118654752440)));
  }
}

using UnaryFn = void (*)(const void* in, void* out, int64_t n, const UnaryParams& params,
                         int threads);

template <UnaryOp kOp, typename T>
void RunUnary(const void* in, void* out, int64_t n, const UnaryParams& params, int threads) {
  const T* x = static_cast<const T*>(in);
  T* y = static_cast<T*>(out);
  ParallelRanges(n, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (kOp == UnaryOp::kShrink && kIsInteger<T>) {
        // lambd and bias are floats: compute in double, truncate as numpy's astype.
        y[i] = ConvertElement<T>(ApplyUnary<kOp>(static_cast<double>(x[i]), params));
      } else {
        y[i] = ConvertElement<T>(ApplyUnary<kOp>(Load(x[i]), params));
      }
    }
  });
}

template <UnaryOp kOp>
UnaryFn SelectUnary(DataType dtype) {
  UnaryFn fn = nullptr;
  DispatchElementType(dtype, [&]<typename T>() {
    if constexpr (kUnaryAccepts<kOp, T>) fn = &RunUnary<kOp, T>;
  });
  return fn;
}

// oneDNN's algorithm for the float32 op, with its alpha/beta; false when
// oneDNN 2.6 has none that matches ONNX. Log and Softplus stay in C++:
// oneDNN's approximations are off by ~1e-6 absolute near log(1) = 0 and for
// softplus of negative x (results ~1e-7), far from float precision; Exp
// too, as oneDNN's turns NaN into inf.
bool OneDnnAlgorithm(UnaryOp op, const UnaryParams& p, dnnl::algorithm* algorithm,
                     float* alpha, float* beta) {
  *alpha = 0.0f;
  *beta = 0.0f;
  switch (op) {
    case UnaryOp::kRelu: *algorithm = dnnl::algorithm::eltwise_relu; return true;
    case UnaryOp::kLeakyRelu:
      *algorithm = dnnl::algorithm::eltwise_relu;
      *alpha = static_cast<float>(p.alpha);
      return true;
    case UnaryOp::kElu:
      *algorithm = dnnl::algorithm::eltwise_elu;
      *alpha = static_cast<float>(p.alpha);
      return true;
    case UnaryOp::kSigmoid: *algorithm = dnnl::algorithm::eltwise_logistic; return true;
    case UnaryOp::kHardSwish: *algorithm = dnnl::algorithm::eltwise_hardswish; return true;
    case UnaryOp::kTanh: *algorithm = dnnl::algorithm::eltwise_tanh; return true;
    case UnaryOp::kSqrt: *algorithm = dnnl::algorithm::eltwise_sqrt; return true;
    case UnaryOp::kAbs: *algorithm = dnnl::algorithm::eltwise_abs; return true;
    case UnaryOp::kNeg:  // alpha * x + beta
      *algorithm = dnnl::algorithm::eltwise_linear;
      *alpha = -1.0f;
      return true;
    case UnaryOp::kReciprocal:  // alpha * x^beta
      *algorithm = dnnl::algorithm::eltwise_pow;
      *alpha = 1.0f;
      *beta = -1.0f;
      return true;
    case UnaryOp::kRound: *algorithm = dnnl::algorithm::eltwise_round; return true;
    case UnaryOp::kMish: *algorithm = dnnl::algorithm::eltwise_mish; return true;
    case UnaryOp::kGelu:
      *algorithm = p.tanh_approximation ? dnnl::algorithm::eltwise_gelu_tanh
                                        : dnnl::algorithm::eltwise_gelu_erf;
      return true;
    default: return false;
  }
}

// Runs a float32 eltwise primitive on the input in whatever layout it has;
// the output gets the same layout. Compile fails (and the caller falls back
// to its C++ loop) when oneDNN has only its reference implementation.
class OneDnnEltwise {
 public:
  Status Compile(CompileContext& ctx, dnnl::algorithm algorithm, float alpha, float beta) {
    const TensorDesc& x = ctx.input(0);
    const dnnl::memory::desc md = x.ToMemoryDesc();
    bool reference = false;
    RETURN_IF_ERROR(CatchDnnl(ctx.Describe(), [&] {
      dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, md, alpha,
                                       beta);
      dnnl::eltwise_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
      if (IsReferenceImpl(pd)) {  // the C++ loop is as good
        reference = true;
        return;
      }
      runner_ = PrimitiveRunner(dnnl::eltwise_forward(pd));
      runner_.BindInput(DNNL_ARG_SRC, 0, md);
      runner_.BindOutput(DNNL_ARG_DST, 0, pd.dst_desc());
      runner_.BindScratchpad(pd.scratchpad_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
      ctx.SetOutput(0, x.dtype, x.dims, x.is_plain() ? dnnl::memory::desc() : pd.dst_desc());
    }));
    if (reference) return Unsupported(ctx.Describe() + ": only oneDNN's reference eltwise");
    ctx.AcceptInputLayout(0);
    return Status::Ok();
  }
  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const {
    return runner_.CreateState(engine);
  }
  void Execute(ExecContext& ctx) const { runner_.Execute(ctx); }

 private:
  PrimitiveRunner runner_;
};

// True when oneDNN can take this float32 tensor: it has elements (oneDNN's
// zero-size handling is not worth relying on) and at most DNNL_MAX_NDIMS
// dims, at least one.
bool OneDnnCanTake(const TensorDesc& x) {
  return x.dtype == DataType::kFloat && !x.dims.empty() && x.dims.size() <= DNNL_MAX_NDIMS &&
         x.num_elements() > 0;
}

template <UnaryOp kOp>
class UnaryKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    RETURN_IF_ERROR(ReadParams(ctx));
    const TensorDesc& x = ctx.input(0);
    dnnl::algorithm algorithm;
    float alpha, beta;
    constexpr bool kExactLoop =
        kOp == UnaryOp::kRelu || kOp == UnaryOp::kAbs || kOp == UnaryOp::kNeg;
    const bool loop_only = kExactLoop && x.num_elements() < kLoopOnlyElements;
    if (!loop_only && OneDnnCanTake(x) &&
        OneDnnAlgorithm(kOp, params_, &algorithm, &alpha, &beta) &&
        eltwise_.Compile(ctx, algorithm, alpha, beta).ok()) {
      use_onednn_ = true;
      return Status::Ok();
    }
    fn_ = SelectUnary<kOp>(x.dtype);
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, SupportedTypes());
    threads_ = ctx.threads();
    count_ = DeclareSameLayoutOutput(ctx, ApplyUnary<kOp, double>(0.0, params_) == 0.0);
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return use_onednn_ ? eltwise_.CreateState(engine) : nullptr;
  }

  Status Execute(ExecContext& ctx) const override {
    if (use_onednn_) {
      eltwise_.Execute(ctx);
    } else {
      fn_(ctx.input(0), ctx.output(0), count_, params_, threads_);
    }
    return Status::Ok();
  }

 private:
  static const char* SupportedTypes() {
    if constexpr (kOp == UnaryOp::kAbs || kOp == UnaryOp::kShrink) return "the numeric types";
    if constexpr (kOp == UnaryOp::kRelu || kOp == UnaryOp::kNeg) {
      return "float16, float, double, bfloat16 and the signed integers";
    }
    return "float16, float, double, bfloat16";
  }

  Status ReadParams(const CompileContext& ctx) {
    const ir::Node& node = ctx.node();
    if constexpr (kOp == UnaryOp::kLeakyRelu) {
      ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 0.01f));
      params_.alpha = alpha;
    }
    if constexpr (kOp == UnaryOp::kElu) {
      ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 1.0f));
      params_.alpha = alpha;
    }
    if constexpr (kOp == UnaryOp::kSelu) {
      ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 1.67326319217681884765625f));
      ASSIGN_OR_RETURN(float gamma, node.GetFloat("gamma", 1.05070102214813232421875f));
      params_.alpha = alpha;
      params_.gamma = gamma;
    }
    if constexpr (kOp == UnaryOp::kHardSigmoid) {
      ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 0.2f));
      ASSIGN_OR_RETURN(float beta, node.GetFloat("beta", 0.5f));
      params_.alpha = alpha;
      params_.beta = beta;
    }
    if constexpr (kOp == UnaryOp::kThresholdedRelu || kOp == UnaryOp::kCelu) {
      ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 1.0f));
      if (kOp == UnaryOp::kCelu && alpha == 0.0f) {
        return InvalidModel(ctx.Describe() + ": alpha must not be 0");
      }
      params_.alpha = alpha;
    }
    if constexpr (kOp == UnaryOp::kShrink) {
      ASSIGN_OR_RETURN(float lambd, node.GetFloat("lambd", 0.5f));
      ASSIGN_OR_RETURN(float bias, node.GetFloat("bias", 0.0f));
      params_.alpha = lambd;
      params_.beta = bias;
    }
    if constexpr (kOp == UnaryOp::kGelu) {
      ASSIGN_OR_RETURN(std::string approximate, node.GetString("approximate", "none"));
      if (approximate != "none" && approximate != "tanh") {
        return InvalidModel(ctx.Describe() + ": approximate must be \"none\" or \"tanh\", got \"" +
                            approximate + "\"");
      }
      params_.tanh_approximation = approximate == "tanh";
    }
    (void)node;
    return Status::Ok();
  }

  UnaryParams params_;
  int threads_ = 1;
  bool use_onednn_ = false;
  OneDnnEltwise eltwise_;
  UnaryFn fn_ = nullptr;
  int64_t count_ = 0;
};

}  // namespace

void RegisterActivationKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kRelu, MakeKernel<UnaryKernel<UnaryOp::kRelu>>);
  registry.Register(ir::OpKind::kLeakyRelu, MakeKernel<UnaryKernel<UnaryOp::kLeakyRelu>>);
  registry.Register(ir::OpKind::kElu, MakeKernel<UnaryKernel<UnaryOp::kElu>>);
  registry.Register(ir::OpKind::kSelu, MakeKernel<UnaryKernel<UnaryOp::kSelu>>);
  registry.Register(ir::OpKind::kSigmoid, MakeKernel<UnaryKernel<UnaryOp::kSigmoid>>);
  registry.Register(ir::OpKind::kHardSigmoid, MakeKernel<UnaryKernel<UnaryOp::kHardSigmoid>>);
  registry.Register(ir::OpKind::kHardSwish, MakeKernel<UnaryKernel<UnaryOp::kHardSwish>>);
  registry.Register(ir::OpKind::kTanh, MakeKernel<UnaryKernel<UnaryOp::kTanh>>);
  registry.Register(ir::OpKind::kSoftplus, MakeKernel<UnaryKernel<UnaryOp::kSoftplus>>);
  registry.Register(ir::OpKind::kSoftsign, MakeKernel<UnaryKernel<UnaryOp::kSoftsign>>);
  registry.Register(ir::OpKind::kExp, MakeKernel<UnaryKernel<UnaryOp::kExp>>);
  registry.Register(ir::OpKind::kLog, MakeKernel<UnaryKernel<UnaryOp::kLog>>);
  registry.Register(ir::OpKind::kSqrt, MakeKernel<UnaryKernel<UnaryOp::kSqrt>>);
  registry.Register(ir::OpKind::kNeg, MakeKernel<UnaryKernel<UnaryOp::kNeg>>);
  registry.Register(ir::OpKind::kAbs, MakeKernel<UnaryKernel<UnaryOp::kAbs>>);
  registry.Register(ir::OpKind::kReciprocal, MakeKernel<UnaryKernel<UnaryOp::kReciprocal>>);
  registry.Register(ir::OpKind::kFloor, MakeKernel<UnaryKernel<UnaryOp::kFloor>>);
  registry.Register(ir::OpKind::kCeil, MakeKernel<UnaryKernel<UnaryOp::kCeil>>);
  registry.Register(ir::OpKind::kErf, MakeKernel<UnaryKernel<UnaryOp::kErf>>);
  RegisterClipKernels(registry);
  // The element-wise ops of the math family.
  registry.Register(ir::OpKind::kSin, MakeKernel<UnaryKernel<UnaryOp::kSin>>);
  registry.Register(ir::OpKind::kCos, MakeKernel<UnaryKernel<UnaryOp::kCos>>);
  registry.Register(ir::OpKind::kTan, MakeKernel<UnaryKernel<UnaryOp::kTan>>);
  registry.Register(ir::OpKind::kAsin, MakeKernel<UnaryKernel<UnaryOp::kAsin>>);
  registry.Register(ir::OpKind::kAcos, MakeKernel<UnaryKernel<UnaryOp::kAcos>>);
  registry.Register(ir::OpKind::kAtan, MakeKernel<UnaryKernel<UnaryOp::kAtan>>);
  registry.Register(ir::OpKind::kSinh, MakeKernel<UnaryKernel<UnaryOp::kSinh>>);
  registry.Register(ir::OpKind::kCosh, MakeKernel<UnaryKernel<UnaryOp::kCosh>>);
  registry.Register(ir::OpKind::kAsinh, MakeKernel<UnaryKernel<UnaryOp::kAsinh>>);
  registry.Register(ir::OpKind::kAcosh, MakeKernel<UnaryKernel<UnaryOp::kAcosh>>);
  registry.Register(ir::OpKind::kAtanh, MakeKernel<UnaryKernel<UnaryOp::kAtanh>>);
  registry.Register(ir::OpKind::kRound, MakeKernel<UnaryKernel<UnaryOp::kRound>>);
  registry.Register(ir::OpKind::kThresholdedRelu,
                    MakeKernel<UnaryKernel<UnaryOp::kThresholdedRelu>>);
  registry.Register(ir::OpKind::kShrink, MakeKernel<UnaryKernel<UnaryOp::kShrink>>);
  registry.Register(ir::OpKind::kCelu, MakeKernel<UnaryKernel<UnaryOp::kCelu>>);
  registry.Register(ir::OpKind::kMish, MakeKernel<UnaryKernel<UnaryOp::kMish>>);
  registry.Register(ir::OpKind::kGelu, MakeKernel<UnaryKernel<UnaryOp::kGelu>>);
}

}  // namespace bnfold::onednn
