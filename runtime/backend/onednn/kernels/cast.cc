// Cast between the numeric types, bool, float16 and bfloat16, with the
// ONNX reference's conversions (see ConvertElement): round-to-nearest-even
// into floating types (rounded once, also from double to float16),
// truncation toward zero into integers, wrap-around between integers, x != 0
// into bool. String casts are refused. CastLike (opset 15) is Cast with
// `to` taken from its second input's element type.
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// DispatchElementType plus bool.
template <typename Fn>
bool DispatchCastType(DataType dtype, Fn&& fn) {
  if (dtype == DataType::kBool) {
    fn.template operator()<bool>();
    return true;
  }
  return DispatchElementType(dtype, fn);
}

using CastFn = void (*)(const void* in, void* out, int64_t n, int threads);

template <typename To, typename From>
void RunCast(const void* in, void* out, int64_t n, int threads) {
  const From* x = static_cast<const From*>(in);
  To* y = static_cast<To*>(out);
  ParallelRanges(n, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = ConvertElement<To>(x[i]);
  });
}

CastFn SelectCast(DataType from, DataType to) {
  CastFn fn = nullptr;
  DispatchCastType(from, [&]<typename From>() {
    DispatchCastType(to, [&]<typename To>() { fn = &RunCast<To, From>; });
  });
  return fn;
}

// The target element type: Cast's `to`, CastLike's target_type input.
StatusOr<int64_t> TargetType(const CompileContext& ctx, bool like) {
  if (like) {
    if (ctx.num_inputs() < 2 || !ctx.has_input(1)) {
      return InvalidModel(ctx.Describe() + ": input 1 (target_type) is missing");
    }
    return static_cast<int64_t>(ctx.input(1).dtype);
  }
  if (ctx.node().FindAttribute("to") == nullptr) {
    return InvalidModel(ctx.Describe() + ": attribute 'to' is missing");
  }
  return ctx.node().GetInt("to", 0);
}

template <bool kLike>
class CastKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    ASSIGN_OR_RETURN(int64_t to_value, TargetType(ctx, kLike));
    if constexpr (kLike) ctx.AcceptInputLayout(1);  // only its type is read
    const DataType from = ctx.input(0).dtype;
    const DataType to = static_cast<DataType>(to_value);
    if (to_value < 1 || to_value > static_cast<int64_t>(DataType::kBfloat16) ||
        DataTypeSize(to) == 0) {
      return Unsupported(ctx.Describe() + ": cannot cast to element type " +
                         std::to_string(to_value) + " (" + DataTypeName(to) +
                         "); supported: the numeric types and bool");
    }
    const TensorDesc& x = ctx.input(0);
    count_ = x.num_elements();
    threads_ = ctx.threads();
    if (from == to) {
      copy_bytes_ = static_cast<size_t>(count_) * DataTypeSize(from);
    } else {
      fn_ = SelectCast(from, to);
      if (fn_ == nullptr) {
        return Unsupported(ctx.Describe() + ": cannot cast " + DataTypeName(from) + " to " +
                           DataTypeName(to) + "; supported: the numeric types and bool");
      }
    }
    ctx.SetOutput(0, to, x.dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    if (fn_ != nullptr) {
      fn_(ctx.input(0), ctx.output(0), count_, threads_);
    } else if (copy_bytes_ > 0) {
      std::memcpy(ctx.output(0), ctx.input(0), copy_bytes_);
    }
    return Status::Ok();
  }

 private:
  CastFn fn_ = nullptr;
  size_t copy_bytes_ = 0;
  int64_t count_ = 0;
  int threads_ = 1;
};

}  // namespace

void RegisterCastKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kCast, MakeKernel<CastKernel<false>>);
  registry.Register(ir::OpKind::kCastLike, MakeKernel<CastKernel<true>>);
}

}  // namespace bnfold::onednn
