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
// Three files: the binary ops and the family's registration here, Where in
// logic_where.cc, the unary ops in logic_unary.cc.
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_broadcast.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

// logic_where.cc and logic_unary.cc.
void RegisterLogicWhereKernels(KernelRegistry& registry);
void RegisterLogicUnaryKernels(KernelRegistry& registry);

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
  RegisterLogicWhereKernels(registry);
  RegisterLogicUnaryKernels(registry);
}

}  // namespace bnfold::onednn
