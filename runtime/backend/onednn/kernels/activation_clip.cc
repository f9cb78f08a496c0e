// Clip of the activation family: y = min(max(x, lo), hi), bounds from
// attributes (< 11) or inputs (>= 11); a C++ loop for every numeric type
// that keeps blocked layouts when the bounds straddle 0. Registered by
// RegisterActivationKernels (activation.cc).
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// y = min(max(x, lo), hi) as numpy's clip (NaN stays NaN; lo > hi gives hi).
// `lo`/`hi` point at one element of T, or are null for no bound.
using ClipFn = void (*)(const void* in, const void* lo, const void* hi, void* out, int64_t n,
                        int threads);

template <typename T>
void RunClip(const void* in, const void* lo, const void* hi, void* out, int64_t n,
             int threads) {
  using C = ComputeType<T>;
  const T* x = static_cast<const T*>(in);
  T* y = static_cast<T*>(out);
  const bool has_lo = lo != nullptr, has_hi = hi != nullptr;
  const C low = has_lo ? Load(*static_cast<const T*>(lo)) : C(0);
  const C high = has_hi ? Load(*static_cast<const T*>(hi)) : C(0);
  ParallelRanges(n, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      C v = Load(x[i]);
      if (has_lo && v < low) v = low;
      if (has_hi && v > high) v = high;
      y[i] = ConvertElement<T>(v);
    }
  });
}

ClipFn SelectClip(DataType dtype) {
  ClipFn fn = nullptr;
  DispatchElementType(dtype, [&]<typename T>() { fn = &RunClip<T>; });
  return fn;
}

// Clip < 11 takes its bounds as float attributes (defaults: float's lowest
// and max); Clip >= 11 as optional scalar inputs of X's type, either
// constants or computed at run time. Always the C++ loop: oneDNN's clip
// turns NaN into a bound, and the loop keeps blocked layouts too when the
// bounds straddle 0 (Relu6).
class ClipKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    const TensorDesc& x = ctx.input(0);
    fn_ = SelectClip(x.dtype);
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, "the numeric types");
    if (ctx.node().opset() < 11) {
      RETURN_IF_ERROR(ReadAttributeBounds(ctx));
    } else {
      for (int k = 0; k < 2; ++k) RETURN_IF_ERROR(ReadInputBound(ctx, k));
    }
    threads_ = ctx.threads();
    count_ = DeclareSameLayoutOutput(ctx, KeepsZero(x.dtype));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const void* bounds[2];
    for (int k = 0; k < 2; ++k) {
      switch (bound_source_[k]) {
        case BoundSource::kNone: bounds[k] = nullptr; break;
        case BoundSource::kKnown: bounds[k] = known_bound_[k]; break;
        case BoundSource::kInput: bounds[k] = ctx.input(k + 1); break;
      }
    }
    fn_(ctx.input(0), bounds[0], bounds[1], ctx.output(0), count_, threads_);
    return Status::Ok();
  }

 private:
  enum class BoundSource { kNone, kKnown, kInput };

  Status ReadAttributeBounds(const CompileContext& ctx) {
    ASSIGN_OR_RETURN(float lo, ctx.node().GetFloat("min", std::numeric_limits<float>::lowest()));
    ASSIGN_OR_RETURN(float hi, ctx.node().GetFloat("max", std::numeric_limits<float>::max()));
    const DataType dtype = ctx.input(0).dtype;
    if (!IsFloatingPoint(dtype)) return UnsupportedType(ctx, 0, "float16, float, double");
    const float values[2] = {lo, hi};
    for (int k = 0; k < 2; ++k) {
      DispatchElementType(dtype, [&]<typename T>() {
        const T v = ConvertElement<T>(values[k]);
        std::memcpy(known_bound_[k], &v, sizeof v);
      });
      bound_source_[k] = BoundSource::kKnown;
    }
    return Status::Ok();
  }

  // Bound k (0 = min, 1 = max) from input k + 1.
  Status ReadInputBound(const CompileContext& ctx, int k) {
    const int input = k + 1;
    if (input >= ctx.num_inputs() || !ctx.has_input(input)) return Status::Ok();
    const TensorDesc& bound = ctx.input(input);
    const char* name = k == 0 ? "min" : "max";
    if (bound.dtype != ctx.input(0).dtype) {
      return InvalidModel(ctx.Describe() + ": " + name + " has element type " +
                          DataTypeName(bound.dtype) + " but input has " +
                          DataTypeName(ctx.input(0).dtype));
    }
    if (bound.num_elements() != 1) {
      return InvalidModel(ctx.Describe() + ": " + name + " must be a scalar, got shape " +
                          ShapeToString(bound.dims));
    }
    if (const Tensor* known = ctx.constant_input(input)) {
      std::memcpy(known_bound_[k], known->data(), DataTypeSize(bound.dtype));
      bound_source_[k] = BoundSource::kKnown;
    } else {
      bound_source_[k] = BoundSource::kInput;
    }
    return Status::Ok();
  }

  // Whether clipping maps 0 to 0: both bounds known now and around 0.
  bool KeepsZero(DataType dtype) const {
    for (int k = 0; k < 2; ++k) {
      if (bound_source_[k] == BoundSource::kInput) return false;
      if (bound_source_[k] == BoundSource::kNone) continue;
      double bound = 0.0;
      DispatchElementType(dtype, [&]<typename T>() {
        T v;
        std::memcpy(&v, known_bound_[k], sizeof v);
        bound = ConvertElement<double>(v);
      });
      if (k == 0 ? !(bound <= 0.0) : !(bound >= 0.0)) return false;
    }
    return true;
  }

  ClipFn fn_ = nullptr;
  BoundSource bound_source_[2] = {BoundSource::kNone, BoundSource::kNone};
  alignas(8) unsigned char known_bound_[2][8] = {};
  int threads_ = 1;
  int64_t count_ = 0;
};

}  // namespace

void RegisterClipKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kClip, MakeKernel<ClipKernel>);
}

}  // namespace bnfold::onednn
