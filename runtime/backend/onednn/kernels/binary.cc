// Binary and variadic element-wise ops: Add, Sub, Mul, Div, Pow, Max, Min,
// Sum, Mean, PRelu, on every numeric type, with numpy broadcasting (and the
// opset < 7 `broadcast`/`axis` attributes, and PRelu's opset < 7 per-channel
// slope). float32 Add/Sub/Mul/Div run on oneDNN's binary primitive and
// PRelu on its prelu primitive, which also take blocked activations as they
// come (a residual Add of two convolutions stays blocked); everything else
// runs a strided C++ loop.
#include <cstring>
#include <optional>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_broadcast.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/small_tensor.h"
#include "runtime/backend/onednn/reorder.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kPRelu };

template <typename T>
inline T WrapAdd(T a, T b) {
  return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
template <typename T>
inline T WrapSub(T a, T b) {
  return static_cast<T>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
template <typename T>
inline T WrapMul(T a, T b) {
  return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Integer arithmetic wraps around (two's complement, as numpy does) instead
// of being undefined; division truncates toward zero as C and the ONNX
// reference do, and a zero divisor gives 0 instead of a trap.
template <BinaryOp kOp, typename T>
inline T ApplyInteger(T a, T b) {
  if constexpr (kOp == BinaryOp::kAdd) return WrapAdd(a, b);
  if constexpr (kOp == BinaryOp::kSub) return WrapSub(a, b);
  if constexpr (kOp == BinaryOp::kMul) return WrapMul(a, b);
  if constexpr (kOp == BinaryOp::kDiv) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return WrapSub(T{0}, a);  // INT_MIN / -1 traps on x86
    }
    return static_cast<T>(a / b);
  }
  if constexpr (kOp == BinaryOp::kMax) return std::max(a, b);
  if constexpr (kOp == BinaryOp::kMin) return std::min(a, b);
  if constexpr (kOp == BinaryOp::kPRelu) {
    if constexpr (std::is_signed_v<T>) return a < 0 ? WrapMul(a, b) : a;
    return a;
  }
}

// Max/Min propagate NaN like numpy's maximum/minimum.
template <BinaryOp kOp, typename C>
inline C ApplyFloating(C a, C b) {
  if constexpr (kOp == BinaryOp::kAdd) return a + b;
  if constexpr (kOp == BinaryOp::kSub) return a - b;
  if constexpr (kOp == BinaryOp::kMul) return a * b;
  if constexpr (kOp == BinaryOp::kDiv) return a / b;
  if constexpr (kOp == BinaryOp::kMax) {
    if (std::isnan(b)) return b;
    return a < b ? b : a;  // NaN `a` is kept
  }
  if constexpr (kOp == BinaryOp::kMin) {
    if (std::isnan(b)) return b;
    return b < a ? b : a;
  }
  if constexpr (kOp == BinaryOp::kPRelu) return a < 0 ? a * b : a;
}

template <BinaryOp kOp, typename T>
inline T ApplySameType(T a, T b) {
  if constexpr (kIsInteger<T>) {
    return ApplyInteger<kOp>(a, b);
  } else {
    return ConvertElement<T>(ApplyFloating<kOp>(Load(a), Load(b)));
  }
}

// base ** exponent with the result in the base's type (Pow opset 12+ allows
// any numeric exponent type). Floating results are computed in double and
// rounded once; an integer base with an integer exponent is exact (wrapping)
// repeated squaring; an integer base with a floating exponent truncates the
// floating power, as the reference's astype does.
template <typename T, typename E>
inline T PowElement(T base, E exponent) {
  if constexpr (kIsInteger<T> && kIsInteger<E>) {
    if (exponent < 0) {
      if (base == 1) return 1;
      if (base == static_cast<T>(-1)) return (exponent % 2 == 0) ? T{1} : base;
      return 0;  // |base| >= 2: 1 / base^n truncates to 0
    }
    T result = 1;
    T factor = base;
    for (uint64_t e = static_cast<uint64_t>(exponent); e != 0; e >>= 1) {
      if (e & 1u) result = WrapMul(result, factor);
      factor = WrapMul(factor, factor);
    }
    return result;
  } else {
    const double value = std::pow(static_cast<double>(Load(base)),
                                  static_cast<double>(Load(exponent)));
    return ConvertElement<T>(value);
  }
}

using LoopFn = void (*)(const BroadcastLoop& loop, const void* a, const void* b, void* out,
                        int threads);

template <BinaryOp kOp, typename T>
void RunSameType(const BroadcastLoop& loop, const void* a, const void* b, void* out,
                 int threads) {
  RunBroadcastLoop(loop, static_cast<const T*>(a), static_cast<const T*>(b),
                   static_cast<T*>(out), threads,
                   [](T x, T y) { return ApplySameType<kOp, T>(x, y); });
}

template <typename T, typename E>
void RunPow(const BroadcastLoop& loop, const void* a, const void* b, void* out, int threads) {
  RunBroadcastLoop(loop, static_cast<const T*>(a), static_cast<const E*>(b),
                   static_cast<T*>(out), threads,
                   [](T x, E y) { return PowElement<T, E>(x, y); });
}

template <BinaryOp kOp>
LoopFn SelectSameTypeLoop(DataType dtype) {
  LoopFn fn = nullptr;
  DispatchElementType(dtype, [&]<typename T>() { fn = &RunSameType<kOp, T>; });
  return fn;
}

LoopFn SelectLoop(BinaryOp op, DataType dtype) {
  switch (op) {
    case BinaryOp::kAdd: return SelectSameTypeLoop<BinaryOp::kAdd>(dtype);
    case BinaryOp::kSub: return SelectSameTypeLoop<BinaryOp::kSub>(dtype);
    case BinaryOp::kMul: return SelectSameTypeLoop<BinaryOp::kMul>(dtype);
    case BinaryOp::kDiv: return SelectSameTypeLoop<BinaryOp::kDiv>(dtype);
    case BinaryOp::kMax: return SelectSameTypeLoop<BinaryOp::kMax>(dtype);
    case BinaryOp::kMin: return SelectSameTypeLoop<BinaryOp::kMin>(dtype);
    case BinaryOp::kPRelu: return SelectSameTypeLoop<BinaryOp::kPRelu>(dtype);
    case BinaryOp::kPow: return nullptr;  // two types: SelectPowLoop
  }
  return nullptr;
}

LoopFn SelectPowLoop(DataType base, DataType exponent) {
  LoopFn fn = nullptr;
  DispatchElementType(base, [&]<typename T>() {
    DispatchElementType(exponent, [&]<typename E>() { fn = &RunPow<T, E>; });
  });
  return fn;
}

// Mean's final division by the input count.
using DivideFn = void (*)(void* data, int64_t n, double divisor, int threads);

template <typename T>
void DivideInPlace(void* data, int64_t n, double divisor, int threads) {
  T* p = static_cast<T*>(data);
  using C = ComputeType<T>;
  const C d = static_cast<C>(divisor);
  ParallelRanges(n, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) p[i] = ConvertElement<T>(Load(p[i]) / d);
  });
}

DivideFn SelectDivide(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat: return &DivideInPlace<float>;
    case DataType::kDouble: return &DivideInPlace<double>;
    case DataType::kFloat16: return &DivideInPlace<Float16>;
    case DataType::kBfloat16: return &DivideInPlace<BFloat16>;
    default: return nullptr;
  }
}

struct OpTraits {
  BinaryOp op;
  bool variadic;       // Sum/Mean/Max/Min: one or more inputs
  bool floating_only;  // Sum/Mean
  bool mean;
};

// One pass of the C++ path: out = op(a, b), where a is an input or the
// output accumulated so far (a_input < 0).
struct LoopStep {
  int a_input;
  int b_input;
  BroadcastLoop loop;
};

class BinaryKernel : public Kernel {
 public:
  explicit BinaryKernel(OpTraits traits) : traits_(traits) {}

  Status Compile(CompileContext& ctx) override {
    threads_ = ctx.threads();
    RETURN_IF_ERROR(CheckInputs(ctx));
    std::vector<std::vector<int64_t>> aligned;
    std::vector<int64_t> out_dims;
    RETURN_IF_ERROR(AlignShapes(ctx, &aligned, &out_dims));
    const DataType dtype = ctx.input(0).dtype;
    if (TryOneDnn(ctx, aligned, out_dims)) {
      ctx.SetOutput(0, dtype, out_dims, output_layout_);
      return Status::Ok();
    }
    RETURN_IF_ERROR(PlanLoops(ctx, aligned, out_dims));
    ctx.SetOutput(0, dtype, out_dims);
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return use_onednn_ ? runner_.CreateState(engine) : nullptr;
  }

  Status Execute(ExecContext& ctx) const override {
    if (use_onednn_) {
      runner_.Execute(ctx);
      return Status::Ok();
    }
    void* out = ctx.output(0);
    if (copy_bytes_ > 0) std::memcpy(out, ctx.input(0), copy_bytes_);
    for (const LoopStep& step : steps_) {
      const void* a = step.a_input < 0 ? out : ctx.input(step.a_input);
      loop_fn_(step.loop, a, ctx.input(step.b_input), out, threads_);
    }
    if (divide_fn_ != nullptr) divide_fn_(out, total_, divisor_, threads_);
    return Status::Ok();
  }

 private:
  Status CheckInputs(const CompileContext& ctx) const {
    const int n = ctx.num_inputs();
    if (traits_.variadic ? n < 1 : n != 2) {
      return InvalidModel(ctx.Describe() + ": has " + std::to_string(n) + " inputs, expected " +
                          (traits_.variadic ? "at least 1" : "2"));
    }
    for (int i = 0; i < n; ++i) {
      if (!ctx.has_input(i)) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) + " is missing");
      }
    }
    const DataType dtype = ctx.input(0).dtype;
    const bool numeric = DispatchElementType(dtype, []<typename T>() {});
    if (!numeric || (traits_.floating_only && !IsFloatingPoint(dtype))) {
      return UnsupportedType(ctx, 0, traits_.floating_only
                                         ? "float16, float, double, bfloat16"
                                         : "the numeric types");
    }
    for (int i = 1; i < n; ++i) {
      const DataType other = ctx.input(i).dtype;
      if (traits_.op == BinaryOp::kPow) {
        if (!DispatchElementType(other, []<typename T>() {})) {
          return UnsupportedType(ctx, i, "the numeric types");
        }
      } else if (other != dtype) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) +
                            " has element type " + DataTypeName(other) + " but input 0 has " +
                            DataTypeName(dtype));
      }
    }
    return Status::Ok();
  }

  // Each input's dims padded to the output's rank (1 on broadcast axes) and
  // the output dims, by the rules of the node's opset.
  Status AlignShapes(const CompileContext& ctx, std::vector<std::vector<int64_t>>* aligned,
                     std::vector<int64_t>* out_dims) const {
    const int n = ctx.num_inputs();
    const int64_t opset = ctx.node().opset();
    const bool legacy_attrs = opset < 7 && traits_.op != BinaryOp::kPRelu && !traits_.variadic;
    if (legacy_attrs) return AlignBinaryOperands(ctx, /*legacy=*/true, aligned, out_dims);
    const std::vector<int64_t>& x = ctx.input(0).dims;
    if (traits_.op == BinaryOp::kPRelu) {
      const std::vector<int64_t>& slope = ctx.input(1).dims;
      int64_t slope_elements = 1;
      for (int64_t d : slope) slope_elements *= d;
      // PRelu-6 and earlier: a 1-D slope of C values is per channel (axis 1).
      if (opset < 7 && slope.size() == 1 && x.size() >= 2 && slope[0] == x[1] &&
          slope_elements > 1) {
        std::vector<int64_t> slope_aligned(x.size(), 1);
        slope_aligned[1] = slope[0];
        *out_dims = x;
        *aligned = {x, slope_aligned};
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(*out_dims, BroadcastShapes(ctx, x, slope));
      if (*out_dims != x) {
        return InvalidModel(ctx.Describe() + ": slope of shape " + ShapeToString(slope) +
                            " does not broadcast to X of shape " + ShapeToString(x));
      }
    } else {
      *out_dims = x;
      for (int i = 1; i < n; ++i) {
        ASSIGN_OR_RETURN(*out_dims, BroadcastShapes(ctx, *out_dims, ctx.input(i).dims));
      }
    }
    aligned->clear();
    for (int i = 0; i < n; ++i) aligned->push_back(AlignRight(ctx.input(i).dims, out_dims->size()));
    return Status::Ok();
  }

  // float32 Add/Sub/Mul/Div (and two-input Sum) on oneDNN's binary
  // primitive, PRelu on its prelu primitive. src0 must have the output's
  // dims: a commuting op swaps its operands when only the second one does.
  // A blocked full-size input stays blocked (the other operand follows it:
  // a full-size one is asked for in that layout, a constant broadcast one is
  // reordered now). Candidates that only oneDNN's slow reference code takes
  // are skipped. False when no candidate works; the C++ loop runs then.
  bool TryOneDnn(CompileContext& ctx, const std::vector<std::vector<int64_t>>& aligned,
                 const std::vector<int64_t>& out_dims) {
    if (ctx.input(0).dtype != DataType::kFloat || aligned.size() != 2) return false;
    if (out_dims.size() > DNNL_MAX_NDIMS || traits_.mean) return false;
    int64_t elements = 1;
    for (int64_t d : out_dims) {
      if (d == 0) return false;
      elements *= d;
    }
    const bool exact_loop = traits_.op == BinaryOp::kAdd || traits_.op == BinaryOp::kSub ||
                            traits_.op == BinaryOp::kMul;
    if (exact_loop && elements < kLoopOnlyElements) return false;
    const bool prelu = traits_.op == BinaryOp::kPRelu;
    dnnl::algorithm algorithm = dnnl::algorithm::undef;
    bool commutes = true;
    switch (traits_.op) {
      case BinaryOp::kAdd: algorithm = dnnl::algorithm::binary_add; break;
      case BinaryOp::kMul: algorithm = dnnl::algorithm::binary_mul; break;
      case BinaryOp::kSub: algorithm = dnnl::algorithm::binary_sub; commutes = false; break;
      case BinaryOp::kDiv: algorithm = dnnl::algorithm::binary_div; commutes = false; break;
      case BinaryOp::kPRelu: commutes = false; break;
      default: return false;
    }
    int src0 = 0;
    if (aligned[0] != out_dims) {
      if (!commutes || aligned[1] != out_dims) return false;
      src0 = 1;
    }
    const int src1 = 1 - src0;
    const bool src1_full = aligned[src1] == out_dims;
    // oneDNN wants rank >= 1; a scalar is a 1-element vector.
    const std::vector<int64_t> dims = out_dims.empty() ? std::vector<int64_t>{1} : out_dims;
    const std::vector<int64_t> dims1 =
        aligned[src1].empty() ? std::vector<int64_t>{1} : aligned[src1];
    const dnnl::memory::desc plain0 = PlainDesc(DataType::kFloat, dims);
    const dnnl::memory::desc plain1 = PlainDesc(DataType::kFloat, dims1);
    const dnnl::memory::desc any1(dims1, dnnl::memory::data_type::f32,
                                  dnnl::memory::format_tag::any);

    dnnl::memory::desc blocked;
    for (int i : {src0, src1}) {
      if (aligned[i] == out_dims && !ctx.input(i).is_plain()) {
        blocked = ctx.input(i).layout;
        break;
      }
    }
    struct Candidate {
      dnnl::memory::desc md0, md1;
    };
    std::vector<Candidate> candidates;
    if (!blocked.is_zero()) {
      if (src1_full) {
        candidates.push_back({blocked, blocked});
      } else if (prelu) {
        candidates.push_back({blocked, any1});
      } else if (std::optional<dnnl::memory::desc> same = SameTagDesc(blocked, dims, dims1)) {
        candidates.push_back({blocked, *same});
      }
    }
    if (prelu) candidates.push_back({plain0, any1});
    candidates.push_back({plain0, plain1});

    for (const Candidate& c : candidates) {
      try {
        dnnl::memory::desc md1 = c.md1, dst, scratchpad;
        size_t scratchpad_bytes = 0;
        if (prelu) {
          dnnl::prelu_forward::desc desc(dnnl::prop_kind::forward_inference, c.md0, c.md1);
          dnnl::prelu_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
          if (IsReferenceImpl(pd)) continue;
          runner_ = PrimitiveRunner(dnnl::prelu_forward(pd));
          md1 = pd.weights_desc();
          dst = pd.dst_desc();
          scratchpad = pd.scratchpad_desc();
          scratchpad_bytes = ScratchpadBytes(pd);
        } else {
          dnnl::binary::desc desc(algorithm, c.md0, c.md1, c.md0);
          dnnl::binary::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
          if (IsReferenceImpl(pd)) continue;
          runner_ = PrimitiveRunner(dnnl::binary(pd));
          dst = pd.dst_desc();
          scratchpad = pd.scratchpad_desc();
          scratchpad_bytes = ScratchpadBytes(pd);
        }
        // How src1 reaches the primitive in md1.
        const bool src1_plain = md1 == plain1;
        const Tensor* src1_constant = ctx.constant_input(src1);
        if (!src1_plain && !src1_full && src1_constant == nullptr) continue;
        runner_.BindInput(prelu ? DNNL_ARG_SRC : DNNL_ARG_SRC_0, src0, c.md0);
        const int arg1 = prelu ? DNNL_ARG_WEIGHTS : DNNL_ARG_SRC_1;
        if (src1_plain || src1_full) {
          runner_.BindInput(arg1, src1, md1);
        } else {
          runner_.BindMemory(arg1, ReorderConstant(*src1_constant, plain1, md1, ctx.engine()));
        }
        runner_.BindOutput(DNNL_ARG_DST, 0, dst);
        runner_.BindScratchpad(scratchpad);
        ctx.RequestScratchpad(scratchpad_bytes);
        WantLayout(ctx, src0, c.md0, plain0);
        if (src1_full) WantLayout(ctx, src1, md1, plain1);
        output_layout_ = dst == plain0 ? dnnl::memory::desc() : dst;
        use_onednn_ = true;
        return true;
      } catch (const dnnl::error&) {
        continue;
      }
    }
    return false;
  }

  // Input `i` must arrive in `md`: plain is the default; otherwise accept
  // its layout when it already is `md`, else ask the planner to reorder.
  static void WantLayout(CompileContext& ctx, int i, const dnnl::memory::desc& md,
                         const dnnl::memory::desc& plain) {
    if (md == plain) return;
    if (!ctx.input(i).is_plain() && ctx.input(i).layout == md) {
      ctx.AcceptInputLayout(i);
    } else {
      ctx.RequireInputLayout(i, md);
    }
  }

  Status PlanLoops(const CompileContext& ctx, const std::vector<std::vector<int64_t>>& aligned,
                   const std::vector<int64_t>& out_dims) {
    const DataType dtype = ctx.input(0).dtype;
    const int n = static_cast<int>(aligned.size());
    total_ = 1;
    for (int64_t d : out_dims) total_ *= d;
    if (n == 1) {  // a variadic op of one input is a copy
      copy_bytes_ = static_cast<size_t>(total_) * DataTypeSize(dtype);
      return Status::Ok();
    }
    loop_fn_ = traits_.op == BinaryOp::kPow ? SelectPowLoop(dtype, ctx.input(1).dtype)
                                            : SelectLoop(traits_.op, dtype);
    if (loop_fn_ == nullptr) return UnsupportedType(ctx, 0, "the numeric types");
    steps_.push_back({0, 1,
                      MakeBroadcastLoop(out_dims, BroadcastStrides(aligned[0], out_dims),
                                        BroadcastStrides(aligned[1], out_dims))});
    const std::vector<int64_t> dense = RowMajorStrides(out_dims);
    for (int i = 2; i < n; ++i) {
      steps_.push_back(
          {-1, i, MakeBroadcastLoop(out_dims, dense, BroadcastStrides(aligned[i], out_dims))});
    }
    if (traits_.mean) {
      divide_fn_ = SelectDivide(dtype);
      divisor_ = n;
    }
    return Status::Ok();
  }

  OpTraits traits_;
  int threads_ = 1;
  // oneDNN path.
  bool use_onednn_ = false;
  PrimitiveRunner runner_;
  dnnl::memory::desc output_layout_;
  // C++ path.
  LoopFn loop_fn_ = nullptr;
  std::vector<LoopStep> steps_;
  size_t copy_bytes_ = 0;
  DivideFn divide_fn_ = nullptr;
  double divisor_ = 1.0;
  int64_t total_ = 0;
};

template <BinaryOp kOp, bool kVariadic = false, bool kFloatingOnly = false, bool kMean = false>
std::unique_ptr<Kernel> MakeBinary() {
  return std::make_unique<BinaryKernel>(OpTraits{kOp, kVariadic, kFloatingOnly, kMean});
}

}  // namespace

void RegisterBinaryKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kAdd, MakeBinary<BinaryOp::kAdd>);
  registry.Register(ir::OpKind::kSub, MakeBinary<BinaryOp::kSub>);
  registry.Register(ir::OpKind::kMul, MakeBinary<BinaryOp::kMul>);
  registry.Register(ir::OpKind::kDiv, MakeBinary<BinaryOp::kDiv>);
  registry.Register(ir::OpKind::kPow, MakeBinary<BinaryOp::kPow>);
  registry.Register(ir::OpKind::kPRelu, MakeBinary<BinaryOp::kPRelu>);
  registry.Register(ir::OpKind::kMax, MakeBinary<BinaryOp::kMax, true>);
  registry.Register(ir::OpKind::kMin, MakeBinary<BinaryOp::kMin, true>);
  registry.Register(ir::OpKind::kSum, MakeBinary<BinaryOp::kAdd, true, true>);
  registry.Register(ir::OpKind::kMean, MakeBinary<BinaryOp::kAdd, true, true, true>);
}

}  // namespace bnfold::onednn
