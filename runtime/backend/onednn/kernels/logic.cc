// Kernels of the comparison, logic and bitwise ops (the BNFOLD_OPS_LOGIC
// family in runtime/ir/op_kind.h):
//  - binary, numpy broadcasting (opset < 7: the `broadcast`/`axis`
//    attributes): Equal, Less, LessOrEqual, Greater, GreaterOrEqual (-> bool),
//    And, Or, Xor (bool), BitShift (unsigned), Mod (fmod=0: the divisor's
//    sign as Python's %, fmod=1: C's fmod), BitwiseAnd/Or/Xor (integers);
//  - Where (three-way broadcasting, any element type);
//  - unary: Not, BitwiseNot, IsNaN, IsInf, Sign.
// float32 comparisons run on oneDNN's binary primitive (binary_eq/lt/le/gt/
// ge writing u8 0/1, i.e. ONNX bool) when its JIT takes the shapes; the rest
// are C++ loops. Integer Mod by 0 gives 0 (numpy's result) instead of a trap.
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_broadcast.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// ---------------------------------------------------------------- binary

enum class LogicOp {
  kEqual, kLess, kLessOrEqual, kGreater, kGreaterOrEqual,  // -> bool
  kAnd, kOr, kXor,                                         // bool -> bool
  kShiftLeft, kShiftRight, kMod, kFmod, kBitAnd, kBitOr, kBitXor,
};

constexpr bool IsComparison(LogicOp op) { return op <= LogicOp::kGreaterOrEqual; }
constexpr bool ReturnsBool(LogicOp op) { return op <= LogicOp::kXor; }

template <LogicOp kOp, typename T>
constexpr bool kLogicAccepts = [] {
  constexpr bool is_bool = std::is_same_v<T, bool>;
  if constexpr (kOp == LogicOp::kEqual) return true;
  if constexpr (IsComparison(kOp)) return !is_bool;
  if constexpr (ReturnsBool(kOp)) return is_bool;
  if constexpr (kOp == LogicOp::kShiftLeft || kOp == LogicOp::kShiftRight) {
    return kIsInteger<T> && std::is_unsigned_v<T>;
  }
  if constexpr (kOp == LogicOp::kMod) return kIsInteger<T>;  // floats need fmod=1
  if constexpr (kOp == LogicOp::kFmod) return !is_bool;
  return kIsInteger<T>;  // bitwise
}();

template <LogicOp kOp, typename T>
inline auto ApplyLogic(T a, T b) {
  if constexpr (IsComparison(kOp)) {
    const auto x = Load(a), y = Load(b);
    bool r;
    if constexpr (kOp == LogicOp::kEqual) r = x == y;
    if constexpr (kOp == LogicOp::kLess) r = x < y;
    if constexpr (kOp == LogicOp::kLessOrEqual) r = x <= y;
    if constexpr (kOp == LogicOp::kGreater) r = x > y;
    if constexpr (kOp == LogicOp::kGreaterOrEqual) r = x >= y;
    return static_cast<uint8_t>(r);
  } else if constexpr (kOp == LogicOp::kAnd) {
    return static_cast<uint8_t>(a && b);
  } else if constexpr (kOp == LogicOp::kOr) {
    return static_cast<uint8_t>(a || b);
  } else if constexpr (kOp == LogicOp::kXor) {
    return static_cast<uint8_t>(a != b);
  } else if constexpr (kOp == LogicOp::kShiftLeft || kOp == LogicOp::kShiftRight) {
    // Shifting by the width or more is 0 (numpy), not undefined.
    if (b >= sizeof(T) * 8) return T{0};
    return static_cast<T>(kOp == LogicOp::kShiftLeft ? a << b : a >> b);
  } else if constexpr (kOp == LogicOp::kMod || (kOp == LogicOp::kFmod && kIsInteger<T>)) {
    if (b == 0) return T{0};
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return T{0};  // INT_MIN % -1 traps on x86
    }
    T r = static_cast<T>(a % b);
    if constexpr (kOp == LogicOp::kMod && std::is_signed_v<T>) {
      if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    }
    return r;
  } else if constexpr (kOp == LogicOp::kFmod) {
    return ConvertElement<T>(std::fmod(Load(a), Load(b)));
  } else if constexpr (kOp == LogicOp::kBitAnd) {
    return static_cast<T>(a & b);
  } else if constexpr (kOp == LogicOp::kBitOr) {
    return static_cast<T>(a | b);
  } else {
    return static_cast<T>(a ^ b);
  }
}

using BinaryLoopFn = void (*)(const BroadcastLoop& loop, const void* a, const void* b, void* out,
                              int threads);

template <LogicOp kOp, typename T>
void RunLogic(const BroadcastLoop& loop, const void* a, const void* b, void* out, int threads) {
  using Out = decltype(ApplyLogic<kOp, T>(T{}, T{}));
  RunBroadcastLoop(loop, static_cast<const T*>(a), static_cast<const T*>(b),
                   static_cast<Out*>(out), threads,
                   [](T x, T y) { return ApplyLogic<kOp, T>(x, y); });
}

template <LogicOp kOp>
BinaryLoopFn SelectLogicLoop(DataType dtype) {
  BinaryLoopFn fn = nullptr;
  DispatchElementTypeOrBool(dtype, [&]<typename T>() {
    if constexpr (kLogicAccepts<kOp, T>) fn = &RunLogic<kOp, T>;
  });
  return fn;
}

BinaryLoopFn SelectLogicLoop(LogicOp op, DataType dtype) {
  switch (op) {
    case LogicOp::kEqual: return SelectLogicLoop<LogicOp::kEqual>(dtype);
    case LogicOp::kLess: return SelectLogicLoop<LogicOp::kLess>(dtype);
    case LogicOp::kLessOrEqual: return SelectLogicLoop<LogicOp::kLessOrEqual>(dtype);
    case LogicOp::kGreater: return SelectLogicLoop<LogicOp::kGreater>(dtype);
    case LogicOp::kGreaterOrEqual: return SelectLogicLoop<LogicOp::kGreaterOrEqual>(dtype);
    case LogicOp::kAnd: return SelectLogicLoop<LogicOp::kAnd>(dtype);
    case LogicOp::kOr: return SelectLogicLoop<LogicOp::kOr>(dtype);
    case LogicOp::kXor: return SelectLogicLoop<LogicOp::kXor>(dtype);
    case LogicOp::kShiftLeft: return SelectLogicLoop<LogicOp::kShiftLeft>(dtype);
    case LogicOp::kShiftRight: return SelectLogicLoop<LogicOp::kShiftRight>(dtype);
    case LogicOp::kMod: return SelectLogicLoop<LogicOp::kMod>(dtype);
    case LogicOp::kFmod: return SelectLogicLoop<LogicOp::kFmod>(dtype);
    case LogicOp::kBitAnd: return SelectLogicLoop<LogicOp::kBitAnd>(dtype);
    case LogicOp::kBitOr: return SelectLogicLoop<LogicOp::kBitOr>(dtype);
    case LogicOp::kBitXor: return SelectLogicLoop<LogicOp::kBitXor>(dtype);
  }
  return nullptr;
}

const char* AcceptedTypes(LogicOp op) {
  switch (op) {
    case LogicOp::kEqual: return "the numeric types and bool";
    case LogicOp::kAnd:
    case LogicOp::kOr:
    case LogicOp::kXor: return "bool";
    case LogicOp::kShiftLeft:
    case LogicOp::kShiftRight: return "uint8, uint16, uint32, uint64";
    case LogicOp::kMod: return "the integer types (floating types need fmod=1)";
    case LogicOp::kBitAnd:
    case LogicOp::kBitOr:
    case LogicOp::kBitXor: return "the integer types";
    default: return "the numeric types";
  }
}

// oneDNN's comparison for `op` and the one that gives the same result with
// the operands swapped.
bool ComparisonAlgorithm(LogicOp op, bool swapped, dnnl::algorithm* algorithm) {
  switch (op) {
    case LogicOp::kEqual: *algorithm = dnnl::algorithm::binary_eq; return true;
    case LogicOp::kLess:
      *algorithm = swapped ? dnnl::algorithm::binary_gt : dnnl::algorithm::binary_lt;
      return true;
    case LogicOp::kLessOrEqual:
      *algorithm = swapped ? dnnl::algorithm::binary_ge : dnnl::algorithm::binary_le;
      return true;
    case LogicOp::kGreater:
      *algorithm = swapped ? dnnl::algorithm::binary_lt : dnnl::algorithm::binary_gt;
      return true;
    case LogicOp::kGreaterOrEqual:
      *algorithm = swapped ? dnnl::algorithm::binary_le : dnnl::algorithm::binary_ge;
      return true;
    default: return false;
  }
}

struct LogicTraits {
  LogicOp op;
  bool legacy_broadcast;  // opset < 7 takes `broadcast`/`axis` (Equal, Less, Greater, And...)
};

class LogicKernel : public Kernel {
 public:
  explicit LogicKernel(LogicTraits traits) : traits_(traits) {}

  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
      return InvalidModel(ctx.Describe() + ": needs 2 inputs, has " +
                          std::to_string(ctx.num_inputs()));
    }
    const DataType dtype = ctx.input(0).dtype;
    if (ctx.input(1).dtype != dtype) {
      return InvalidModel(ctx.Describe() + ": input 1 has element type " +
                          DataTypeName(ctx.input(1).dtype) + " but input 0 has " +
                          DataTypeName(dtype));
    }
    RETURN_IF_ERROR(ResolveOp(ctx));
    std::vector<std::vector<int64_t>> aligned;
    std::vector<int64_t> out_dims;
    const bool legacy = traits_.legacy_broadcast && ctx.node().opset() < 7;
    RETURN_IF_ERROR(AlignBinaryOperands(ctx, legacy, &aligned, &out_dims));
    const DataType out_type = ReturnsBool(op_) ? DataType::kBool : dtype;
    ctx.SetOutput(0, out_type, out_dims);
    if (TryOneDnn(ctx, aligned, out_dims)) return Status::Ok();
    loop_fn_ = SelectLogicLoop(op_, dtype);
    if (loop_fn_ == nullptr) return UnsupportedType(ctx, 0, AcceptedTypes(op_));
    threads_ = ctx.threads();
    loop_ = MakeBroadcastLoop(out_dims, BroadcastStrides(aligned[0], out_dims),
                              BroadcastStrides(aligned[1], out_dims));
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return use_onednn_ ? runner_.CreateState(engine) : nullptr;
  }

  Status Execute(ExecContext& ctx) const override {
    if (use_onednn_) {
      runner_.Execute(ctx);
    } else {
      loop_fn_(loop_, ctx.input(0), ctx.input(1), ctx.output(0), threads_);
    }
    return Status::Ok();
  }

 private:
  // The op the attributes select: BitShift's direction, Mod's fmod.
  Status ResolveOp(const CompileContext& ctx) {
    op_ = traits_.op;
    if (op_ == LogicOp::kShiftLeft) {
      ASSIGN_OR_RETURN(std::string direction, ctx.node().GetString("direction", ""));
      if (direction == "RIGHT") {
        op_ = LogicOp::kShiftRight;
      } else if (direction != "LEFT") {
        return InvalidModel(ctx.Describe() + ": direction must be \"LEFT\" or \"RIGHT\", got \"" +
                            direction + "\"");
      }
    }
    if (op_ == LogicOp::kMod) {
      ASSIGN_OR_RETURN(int64_t fmod, ctx.node().GetInt("fmod", 0));
      if (fmod != 0 && fmod != 1) {
        return InvalidModel(ctx.Describe() + ": fmod must be 0 or 1, got " + std::to_string(fmod));
      }
      if (fmod == 1) op_ = LogicOp::kFmod;
    }
    return Status::Ok();
  }

  // float32 comparisons on oneDNN's binary primitive, plain layouts, u8
  // output. src0 must have the output's dims: the operands swap (and the
  // comparison mirrors) when only the second one does.
  bool TryOneDnn(CompileContext& ctx, const std::vector<std::vector<int64_t>>& aligned,
                 const std::vector<int64_t>& out_dims) {
    if (ctx.input(0).dtype != DataType::kFloat || !IsComparison(op_)) return false;
    if (out_dims.empty() || out_dims.size() > DNNL_MAX_NDIMS) return false;
    for (int64_t d : out_dims) {
      if (d == 0) return false;
    }
    const int src0 = aligned[0] == out_dims ? 0 : (aligned[1] == out_dims ? 1 : -1);
    if (src0 < 0) return false;
    dnnl::algorithm algorithm;
    if (!ComparisonAlgorithm(op_, src0 == 1, &algorithm)) return false;
    const dnnl::memory::desc md0 = PlainDesc(DataType::kFloat, out_dims);
    const dnnl::memory::desc md1 = PlainDesc(DataType::kFloat, aligned[1 - src0]);
    const dnnl::memory::desc dst(out_dims, dnnl::memory::data_type::u8, PlainTag(out_dims.size()));
    try {
      dnnl::binary::desc desc(algorithm, md0, md1, dst);
      dnnl::binary::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
      if (IsReferenceImpl(pd)) return false;
      runner_ = PrimitiveRunner(dnnl::binary(pd));
      runner_.BindInput(DNNL_ARG_SRC_0, src0, md0);
      runner_.BindInput(DNNL_ARG_SRC_1, 1 - src0, md1);
      runner_.BindOutput(DNNL_ARG_DST, 0, dst);
      runner_.BindScratchpad(pd.scratchpad_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
    } catch (const dnnl::error&) {
      runner_ = PrimitiveRunner();
      return false;
    }
    use_onednn_ = true;
    return true;
  }

  LogicTraits traits_;
  LogicOp op_ = LogicOp::kEqual;
  bool use_onednn_ = false;
  PrimitiveRunner runner_;
  BinaryLoopFn loop_fn_ = nullptr;
  BroadcastLoop loop_;
  int threads_ = 1;
};

template <LogicOp kOp, bool kLegacy = false>
std::unique_ptr<Kernel> MakeLogic() {
  return std::make_unique<LogicKernel>(LogicTraits{kOp, kLegacy});
}

// ---------------------------------------------------------------- Where

// out[i] = cond[i] ? x[i] : y[i], all three broadcast together. The loop
// moves elements by their size, so it takes every element type.
template <typename E>
void RunWhere(const std::vector<int64_t>& dims, const std::vector<int64_t> (&strides)[3],
              const void* cond, const void* x, const void* y, void* out) {
  const auto* c = static_cast<const uint8_t*>(cond);
  const E* in[2] = {static_cast<const E*>(x), static_cast<const E*>(y)};
  E* o = static_cast<E*>(out);
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  if (total == 0) return;
  const size_t rank = dims.size();
  const int64_t inner = rank == 0 ? 1 : dims.back();
  const int64_t sc = rank == 0 ? 0 : strides[0].back();
  const int64_t sx = rank == 0 ? 0 : strides[1].back();
  const int64_t sy = rank == 0 ? 0 : strides[2].back();
  std::vector<int64_t> index(rank, 0);
  int64_t offset[3] = {0, 0, 0};
  for (int64_t row = 0; row < total / inner; ++row) {
    for (int64_t j = 0; j < inner; ++j) {
      *o++ = c[offset[0] + j * sc] ? in[0][offset[1] + j * sx] : in[1][offset[2] + j * sy];
    }
    // Next row: odometer over the dims above the innermost one.
    for (size_t d = rank > 0 ? rank - 1 : 0; d-- > 0;) {
      for (int k = 0; k < 3; ++k) offset[k] += strides[k][d];
      if (++index[d] < dims[d]) break;
      for (int k = 0; k < 3; ++k) offset[k] -= strides[k][d] * dims[d];
      index[d] = 0;
    }
  }
}

class WhereKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() != 3) {
      return InvalidModel(ctx.Describe() + ": needs 3 inputs, has " +
                          std::to_string(ctx.num_inputs()));
    }
    for (int i = 0; i < 3; ++i) {
      if (!ctx.has_input(i)) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) + " is missing");
      }
    }
    if (ctx.input(0).dtype != DataType::kBool) return UnsupportedType(ctx, 0, "bool");
    const DataType dtype = ctx.input(1).dtype;
    if (ctx.input(2).dtype != dtype) {
      return InvalidModel(ctx.Describe() + ": Y has element type " +
                          DataTypeName(ctx.input(2).dtype) + " but X has " + DataTypeName(dtype));
    }
    switch (DataTypeSize(dtype)) {
      case 1: fn_ = &RunWhere<uint8_t>; break;
      case 2: fn_ = &RunWhere<uint16_t>; break;
      case 4: fn_ = &RunWhere<uint32_t>; break;
      case 8: fn_ = &RunWhere<uint64_t>; break;
      default: return UnsupportedType(ctx, 1, "the numeric types and bool");
    }
    ASSIGN_OR_RETURN(dims_, BroadcastShapes(ctx, ctx.input(0).dims, ctx.input(1).dims));
    ASSIGN_OR_RETURN(dims_, BroadcastShapes(ctx, dims_, ctx.input(2).dims));
    for (int k = 0; k < 3; ++k) strides_[k] = BroadcastStrides(ctx.input(k).dims, dims_);
    ctx.SetOutput(0, dtype, dims_);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    fn_(dims_, strides_, ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0));
    return Status::Ok();
  }

 private:
  using WhereFn = void (*)(const std::vector<int64_t>&, const std::vector<int64_t> (&)[3],
                           const void*, const void*, const void*, void*);
  WhereFn fn_ = nullptr;
  std::vector<int64_t> dims_;
  std::vector<int64_t> strides_[3];
};

// ---------------------------------------------------------------- unary

enum class UnaryLogicOp { kNot, kBitwiseNot, kIsNaN, kIsInf, kSign };

template <UnaryLogicOp kOp, typename T>
constexpr bool kUnaryLogicAccepts = [] {
  if constexpr (kOp == UnaryLogicOp::kNot) return std::is_same_v<T, bool>;
  if constexpr (kOp == UnaryLogicOp::kBitwiseNot) return kIsInteger<T>;
  if constexpr (kOp == UnaryLogicOp::kSign) return !std::is_same_v<T, bool>;
  return kIsFloating<T>;  // IsNaN, IsInf
}();

struct InfFlags {
  bool positive = true;
  bool negative = true;
};

template <UnaryLogicOp kOp, typename T>
inline auto ApplyUnaryLogic(T x, InfFlags inf) {
  if constexpr (kOp == UnaryLogicOp::kNot) {
    return static_cast<uint8_t>(!x);
  } else if constexpr (kOp == UnaryLogicOp::kBitwiseNot) {
    return static_cast<T>(~x);
  } else if constexpr (kOp == UnaryLogicOp::kIsNaN) {
    return static_cast<uint8_t>(std::isnan(Load(x)));
  } else if constexpr (kOp == UnaryLogicOp::kIsInf) {
    const auto v = Load(x);
    return static_cast<uint8_t>(std::isinf(v) && (v > 0 ? inf.positive : inf.negative));
  } else {  // Sign: -1, 0 or 1; NaN stays NaN
    const auto v = Load(x);
    using C = std::remove_const_t<decltype(v)>;
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(v)) return x;
    }
    C sign = v > C(0) ? C(1) : C(0);
    if constexpr (std::is_signed_v<C>) {
      if (v < C(0)) sign = C(-1);
    }
    return ConvertElement<T>(sign);
  }
}

using UnaryLoopFn = void (*)(const void* in, void* out, int64_t n, InfFlags inf, int threads);

template <UnaryLogicOp kOp, typename T>
void RunUnaryLogic(const void* in, void* out, int64_t n, InfFlags inf, int threads) {
  using Out = decltype(ApplyUnaryLogic<kOp, T>(T{}, inf));
  const T* x = static_cast<const T*>(in);
  Out* y = static_cast<Out*>(out);
  ParallelRanges(n, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = ApplyUnaryLogic<kOp, T>(x[i], inf);
  });
}

template <UnaryLogicOp kOp>
class UnaryLogicKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    const TensorDesc& x = ctx.input(0);
    DispatchElementTypeOrBool(x.dtype, [&]<typename T>() {
      if constexpr (kUnaryLogicAccepts<kOp, T>) fn_ = &RunUnaryLogic<kOp, T>;
    });
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, SupportedTypes());
    if constexpr (kOp == UnaryLogicOp::kIsInf) {
      ASSIGN_OR_RETURN(int64_t positive, ctx.node().GetInt("detect_positive", 1));
      ASSIGN_OR_RETURN(int64_t negative, ctx.node().GetInt("detect_negative", 1));
      inf_ = {positive != 0, negative != 0};
    }
    const bool to_bool = kOp == UnaryLogicOp::kIsNaN || kOp == UnaryLogicOp::kIsInf;
    ctx.SetOutput(0, to_bool ? DataType::kBool : x.dtype, x.dims);
    count_ = x.num_elements();
    threads_ = ctx.threads();
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    fn_(ctx.input(0), ctx.output(0), count_, inf_, threads_);
    return Status::Ok();
  }

 private:
  static const char* SupportedTypes() {
    switch (kOp) {
      case UnaryLogicOp::kNot: return "bool";
      case UnaryLogicOp::kBitwiseNot: return "the integer types";
      case UnaryLogicOp::kSign: return "the numeric types";
      default: return "float16, float, double, bfloat16";
    }
  }

  UnaryLoopFn fn_ = nullptr;
  InfFlags inf_;
  int64_t count_ = 0;
  int threads_ = 1;
};

}  // namespace

void RegisterLogicKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kEqual, MakeLogic<LogicOp::kEqual, true>);
  registry.Register(ir::OpKind::kLess, MakeLogic<LogicOp::kLess, true>);
  registry.Register(ir::OpKind::kLessOrEqual, MakeLogic<LogicOp::kLessOrEqual>);
  registry.Register(ir::OpKind::kGreater, MakeLogic<LogicOp::kGreater, true>);
  registry.Register(ir::OpKind::kGreaterOrEqual, MakeLogic<LogicOp::kGreaterOrEqual>);
  registry.Register(ir::OpKind::kAnd, MakeLogic<LogicOp::kAnd, true>);
  registry.Register(ir::OpKind::kOr, MakeLogic<LogicOp::kOr, true>);
  registry.Register(ir::OpKind::kXor, MakeLogic<LogicOp::kXor, true>);
  registry.Register(ir::OpKind::kBitShift, MakeLogic<LogicOp::kShiftLeft>);
  registry.Register(ir::OpKind::kMod, MakeLogic<LogicOp::kMod>);
  registry.Register(ir::OpKind::kBitwiseAnd, MakeLogic<LogicOp::kBitAnd>);
  registry.Register(ir::OpKind::kBitwiseOr, MakeLogic<LogicOp::kBitOr>);
  registry.Register(ir::OpKind::kBitwiseXor, MakeLogic<LogicOp::kBitXor>);
  registry.Register(ir::OpKind::kWhere, MakeKernel<WhereKernel>);
  registry.Register(ir::OpKind::kNot, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kNot>>);
  registry.Register(ir::OpKind::kBitwiseNot,
                    MakeKernel<UnaryLogicKernel<UnaryLogicOp::kBitwiseNot>>);
  registry.Register(ir::OpKind::kIsNaN, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kIsNaN>>);
  registry.Register(ir::OpKind::kIsInf, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kIsInf>>);
  registry.Register(ir::OpKind::kSign, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kSign>>);
}

}  // namespace bnfold::onednn
