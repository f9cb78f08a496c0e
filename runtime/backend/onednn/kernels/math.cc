// Kernels of the element-wise math, matrix and generator ops (the
// BNFOLD_OPS_MATH family in runtime/ir/op_kind.h). The element-wise
// functions (Sin ... Gelu) are unary kernels in activation.cc and CastLike
// is in cast.cc; the ops with a structure of their own are C++ loops
// (oneDNN has no primitive for any of them), in three files: this one holds
// Size and the ops along one axis (CumSum, Hardmax), math_matrix.cc the
// ops on innermost matrices (Trilu, Det, Einsum), math_generator.cc the ops
// that make a tensor (EyeLike, Range, OneHot). RegisterMathKernels
// registers all three.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/math_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// ---------------------------------------------------------------- Size

// Size: the input's element count, known once the plan has its dims.
class SizeKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    ASSIGN_OR_RETURN(int64_t count, ElementCount(ctx, ctx.input(0).dims));
    ctx.AcceptInputLayout(0);  // only the dims are read
    ASSIGN_OR_RETURN(Tensor size, Tensor::Allocate(DataType::kInt64, {}));
    *size.data_as<int64_t>() = count;
    ctx.SetConstantOutput(0, std::move(size));
    return Status::Ok();
  }
  Status Execute(ExecContext&) const override { return Status::Ok(); }
};


// ---------------------------------------------------------------- CumSum

// Running sums along the axis; floating types add in their compute type
// (float for the 16-bit ones, as numpy's cumsum adds in the array's type),
// integers wrap around.
using CumSumFn = void (*)(const void* in, void* out, AxisGeometry g, bool exclusive, bool reverse);

template <typename T>
void RunCumSum(const void* in, void* out, AxisGeometry g, bool exclusive, bool reverse) {
  using Acc = std::conditional_t<kIsInteger<T>, uint64_t, ComputeType<T>>;
  const T* x = static_cast<const T*>(in);
  T* y = static_cast<T*>(out);
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t i = 0; i < g.inner; ++i) {
      Acc acc = 0;
      for (int64_t s = 0; s < g.len; ++s) {
        const int64_t step = reverse ? g.len - 1 - s : s;
        const int64_t at = (o * g.len + step) * g.inner + i;
        Acc v;
        if constexpr (kIsInteger<T>) {
          v = static_cast<Acc>(x[at]);
        } else {
          v = Load(x[at]);
        }
        if (!exclusive) acc += v;
        if constexpr (kIsInteger<T>) {
          y[at] = static_cast<T>(acc);
        } else {
          y[at] = ConvertElement<T>(acc);
        }
        if (exclusive) acc += v;
      }
    }
  }
}

class CumSumKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
      return InvalidModel(ctx.Describe() + ": needs inputs x and axis");
    }
    const TensorDesc& x = ctx.input(0);
    DispatchElementType(x.dtype, [&]<typename T>() { fn_ = &RunCumSum<T>; });
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, "the numeric types");
    if (x.dims.empty()) {
      return InvalidModel(ctx.Describe() + ": x must have rank >= 1, got a scalar");
    }
    if (ctx.input(1).num_elements() != 1) {
      return InvalidModel(ctx.Describe() + ": axis must be a scalar, got shape " +
                          ShapeToString(ctx.input(1).dims));
    }
    ASSIGN_OR_RETURN(axis_, IntOperand::FromInput(ctx, 1, "axis"));
    if (axis_.is_constant()) {
      ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, axis_.values()[0], x.dims.size()));
      axis_ = IntOperand({axis});
    }
    ASSIGN_OR_RETURN(int64_t exclusive, ctx.node().GetInt("exclusive", 0));
    ASSIGN_OR_RETURN(int64_t reverse, ctx.node().GetInt("reverse", 0));
    exclusive_ = exclusive != 0;
    reverse_ = reverse != 0;
    dims_ = x.dims;
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    int64_t buffer[kMaxOperandLength];
    int64_t axis = axis_.Read(ctx, buffer)[0];
    RETURN_IF_ERROR(AsInputError(
        NormalizeAxisAt(axis, static_cast<int64_t>(dims_.size()), &axis).WithContext("axis")));
    fn_(ctx.input(0), ctx.output(0), GeometryAround(dims_, static_cast<size_t>(axis)), exclusive_,
        reverse_);
    return Status::Ok();
  }

 private:
  CumSumFn fn_ = nullptr;
  IntOperand axis_;
  std::vector<int64_t> dims_;
  bool exclusive_ = false, reverse_ = false;
};


// ---------------------------------------------------------------- Hardmax

// 1 at the first maximum of each line along the axis (NaN counts as the
// maximum, as numpy's argmax), 0 elsewhere.
using HardmaxFn = void (*)(const void* in, void* out, AxisGeometry g);

template <typename T>
void RunHardmax(const void* in, void* out, AxisGeometry g) {
  const T* x = static_cast<const T*>(in);
  T* y = static_cast<T*>(out);
  const T zero = ConvertElement<T>(0.0f), one = ConvertElement<T>(1.0f);
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t i = 0; i < g.inner; ++i) {
      const int64_t base = o * g.len * g.inner + i;
      int64_t best = 0;
      auto best_value = Load(x[base]);
      for (int64_t s = 0; s < g.len; ++s) {
        const auto v = Load(x[base + s * g.inner]);
        if (std::isnan(best_value)) break;
        if (v > best_value || std::isnan(v)) best = s, best_value = v;
      }
      for (int64_t s = 0; s < g.len; ++s) y[base + s * g.inner] = s == best ? one : zero;
    }
  }
}

// Hardmax < 13 flattens the input to 2-D at `axis` (default 1) and works
// on the rows; Hardmax 13 works along `axis` (default -1).
class HardmaxKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    const TensorDesc& x = ctx.input(0);
    DispatchElementType(x.dtype, [&]<typename T>() {
      if constexpr (kIsFloating<T>) fn_ = &RunHardmax<T>;
    });
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    const bool legacy = ctx.node().opset() < 13;
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    ASSIGN_OR_RETURN(int64_t raw_axis, ctx.node().GetInt("axis", legacy ? 1 : -1));
    if (legacy) {
      if (raw_axis < -rank || raw_axis > rank) {
        return InvalidModel(ctx.Describe() + ": axis " + std::to_string(raw_axis) +
                            " is out of range for rank " + std::to_string(rank));
      }
      const int64_t axis = raw_axis < 0 ? raw_axis + rank : raw_axis;
      geometry_ = {1, 1, 1};
      for (int64_t d = 0; d < rank; ++d) (d < axis ? geometry_.outer : geometry_.len) *= x.dims[d];
    } else {
      if (rank == 0) return InvalidModel(ctx.Describe() + ": input must have rank >= 1");
      ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, raw_axis, rank));
      geometry_ = GeometryAround(x.dims, static_cast<size_t>(axis));
    }
    if (x.num_elements() == 0) geometry_ = {0, 0, 0};
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    fn_(ctx.input(0), ctx.output(0), geometry_);
    return Status::Ok();
  }

 private:
  HardmaxFn fn_ = nullptr;
  AxisGeometry geometry_;
};

}  // namespace

void RegisterMathKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kSize, MakeKernel<SizeKernel>);
  registry.Register(ir::OpKind::kCumSum, MakeKernel<CumSumKernel>);
  registry.Register(ir::OpKind::kHardmax, MakeKernel<HardmaxKernel>);
  RegisterMathMatrixKernels(registry);
  RegisterMathGeneratorKernels(registry);
}

}  // namespace bnfold::onednn
