// The logic family's unary ops: Not, BitwiseNot, IsNaN, IsInf, Sign; C++
// loops, registered by RegisterLogicKernels (logic.cc).
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_broadcast.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

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

void RegisterLogicUnaryKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kNot, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kNot>>);
  registry.Register(ir::OpKind::kBitwiseNot,
                    MakeKernel<UnaryLogicKernel<UnaryLogicOp::kBitwiseNot>>);
  registry.Register(ir::OpKind::kIsNaN, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kIsNaN>>);
  registry.Register(ir::OpKind::kIsInf, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kIsInf>>);
  registry.Register(ir::OpKind::kSign, MakeKernel<UnaryLogicKernel<UnaryLogicOp::kSign>>);
}

}  // namespace bnfold::onednn
