// The math family's ops that make a tensor: EyeLike (a diagonal), Range
// (an arithmetic sequence), OneHot (a new axis from indices). C++ loops;
// registered by RegisterMathKernels (math.cc).
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

// ---------------------------------------------------------------- EyeLike

// A 2-D tensor of input's shape with ones on diagonal k (k > 0 above the
// main one), zeros elsewhere; element type `dtype` (default: the input's).
class EyeLikeKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    const TensorDesc& x = ctx.input(0);
    if (x.dims.size() != 2) {
      return InvalidModel(ctx.Describe() + ": input must be 2-D, got shape " +
                          ShapeToString(x.dims));
    }
    ASSIGN_OR_RETURN(int64_t dtype, ctx.node().GetInt("dtype", static_cast<int64_t>(x.dtype)));
    ASSIGN_OR_RETURN(k_, ctx.node().GetInt("k", 0));
    dtype_ = static_cast<DataType>(dtype);
    DispatchElementTypeOrBool(dtype_, [&]<typename T>() {
      const T one = ConvertElement<T>(1.0f);
      std::memcpy(one_, &one, sizeof one);
    });
    element_size_ = DataTypeSize(dtype_);
    if (!DispatchElementTypeOrBool(dtype_, []<typename T>() {})) {
      return Unsupported(ctx.Describe() + ": dtype " + std::to_string(dtype) + " (" +
                         DataTypeName(dtype_) + ") is not a numeric type or bool");
    }
    rows_ = x.dims[0];
    cols_ = x.dims[1];
    ctx.AcceptInputLayout(0);  // only the dims are read
    ctx.SetOutput(0, dtype_, x.dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    auto* out = static_cast<unsigned char*>(ctx.output(0));
    std::memset(out, 0, static_cast<size_t>(rows_ * cols_) * element_size_);
    for (int64_t i = std::max<int64_t>(0, -k_); i < rows_ && i + k_ < cols_; ++i) {
      std::memcpy(out + static_cast<size_t>(i * cols_ + i + k_) * element_size_, one_,
                  element_size_);
    }
    return Status::Ok();
  }

 private:
  DataType dtype_ = DataType::kUndefined;
  int64_t k_ = 0;
  alignas(8) unsigned char one_[8] = {};
  size_t element_size_ = 0;
  int64_t rows_ = 0, cols_ = 0;
};


// ---------------------------------------------------------------- Range

// One element of a numeric tensor as a double.
double ScalarAsDouble(const void* data, DataType dtype) {
  double v = 0.0;
  DispatchElementType(dtype, [&]<typename T>() {
    v = ConvertElement<double>(*static_cast<const T*>(data));
  });
  return v;
}

// Elements of arange(start, limit, delta): max(ceil((limit - start) /
// delta), 0); error for delta 0.
StatusOr<int64_t> RangeLength(double start, double limit, double delta) {
  if (delta == 0.0) return InvalidArgument("delta is 0");
  const double n = std::ceil((limit - start) / delta);
  if (!(n > 0.0)) return int64_t{0};
  if (n > static_cast<double>(int64_t{1} << 40)) {
    return InvalidArgument("the range has " + std::to_string(n) + " elements");
  }
  return static_cast<int64_t>(n);
}

using RangeFn = void (*)(double start, double delta, int64_t n, void* out);

template <typename T>
void RunRange(double start, double delta, int64_t n, void* out) {
  T* y = static_cast<T*>(out);
  if constexpr (kIsInteger<T>) {
    const int64_t s = static_cast<int64_t>(start), d = static_cast<int64_t>(delta);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(s + i * d);
  } else {
    using C = ComputeType<T>;
    // As numpy's arange: start + i * delta in the output's type.
    const C s = static_cast<C>(start), d = static_cast<C>(delta);
    for (int64_t i = 0; i < n; ++i) y[i] = ConvertElement<T>(s + static_cast<C>(i) * d);
  }
}

// Range(start, limit, delta): the length is planned from the inputs when
// they are known now, else from the model's declared output shape and
// checked on every run.
class RangeKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() != 3) {
      return InvalidModel(ctx.Describe() + ": needs inputs start, limit and delta");
    }
    const DataType dtype = ctx.input(0).dtype;
    for (int i = 0; i < 3; ++i) {
      if (!ctx.has_input(i)) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) + " is missing");
      }
      if (ctx.input(i).dtype != dtype) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) + " has element type " +
                            DataTypeName(ctx.input(i).dtype) + " but start has " +
                            DataTypeName(dtype));
      }
      if (ctx.input(i).num_elements() != 1) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) +
                            " must be a scalar, got shape " + ShapeToString(ctx.input(i).dims));
      }
    }
    DispatchElementType(dtype, [&]<typename T>() { fn_ = &RunRange<T>; });
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, "the numeric types");
    dtype_ = dtype;
    bool known = true;
    for (int i = 0; i < 3; ++i) {
      if (const Tensor* t = ctx.constant_input(i)) {
        values_[i] = ScalarAsDouble(t->data(), dtype);
      } else {
        known = false;
      }
    }
    if (known) {
      StatusOr<int64_t> n = RangeLength(values_[0], values_[1], values_[2]);
      if (!n.ok()) return InvalidModel(ctx.Describe() + ": " + n.status().message());
      length_ = *n;
      known_ = true;
    } else {
      ASSIGN_OR_RETURN(std::vector<int64_t> dims,
                       DeclaredOutputDims(ctx, 0, "start, limit and delta"));
      if (dims.size() != 1) {
        return InvalidModel(ctx.Describe() + ": the declared output shape " +
                            ShapeToString(dims) + " is not 1-D");
      }
      length_ = dims[0];
    }
    ctx.SetOutput(0, dtype, {length_});
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    double v[3] = {values_[0], values_[1], values_[2]};
    if (!known_) {
      for (int i = 0; i < 3; ++i) v[i] = ScalarAsDouble(ctx.input(i), dtype_);
      StatusOr<int64_t> n = RangeLength(v[0], v[1], v[2]);
      if (!n.ok()) return AsInputError(n.status());
      if (*n != length_) {
        const int64_t got = *n, planned = length_;
        return AsInputError(OperandMismatch("the range", {&got, 1}, {&planned, 1}));
      }
    }
    fn_(v[0], v[2], length_, ctx.output(0));
    return Status::Ok();
  }

 private:
  RangeFn fn_ = nullptr;
  DataType dtype_ = DataType::kUndefined;
  double values_[3] = {0.0, 0.0, 0.0};
  bool known_ = false;
  int64_t length_ = 0;
};


// ---------------------------------------------------------------- OneHot

// OneHot(indices, depth, values = [off, on]): a new axis of `depth` at
// `axis`; on where the (truncated, negative-from-the-end) index matches,
// off elsewhere, also for indices out of range.
using OneHotFn = void (*)(const void* indices, DataType index_type, const void* values,
                          void* out, AxisGeometry g);

template <typename V>
void RunOneHot(const void* indices, DataType index_type, const void* values, void* out,
               AxisGeometry g) {
  const V* v = static_cast<const V*>(values);
  V* y = static_cast<V*>(out);
  const V off = v[0], on = v[1];
  const int64_t depth = g.len;
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t i = 0; i < g.inner; ++i) {
      const int64_t at = o * g.inner + i;
      int64_t index = 0;
      DispatchElementType(index_type, [&]<typename T>() {
        index = ConvertElement<int64_t>(static_cast<const T*>(indices)[at]);
      });
      if (index < 0) index += depth;
      for (int64_t d = 0; d < depth; ++d) y[(o * depth + d) * g.inner + i] = d == index ? on : off;
    }
  }
}

class OneHotKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
      return InvalidModel(ctx.Describe() + ": needs inputs indices, depth and values");
    }
    const TensorDesc& indices = ctx.input(0);
    index_type_ = indices.dtype;
    depth_type_ = ctx.input(1).dtype;
    for (int i = 0; i < 2; ++i) {
      if (!DispatchElementType(ctx.input(i).dtype, []<typename T>() {})) {
        return UnsupportedType(ctx, i, "the numeric types");
      }
    }
    if (ctx.input(1).num_elements() != 1) {
      return InvalidModel(ctx.Describe() + ": depth must have one element, got shape " +
                          ShapeToString(ctx.input(1).dims));
    }
    if (ctx.input(2).num_elements() != 2) {
      return InvalidModel(ctx.Describe() + ": values must have two elements, got shape " +
                          ShapeToString(ctx.input(2).dims));
    }
    const DataType value_type = ctx.input(2).dtype;
    switch (DataTypeSize(value_type)) {
      case 1: fn_ = &RunOneHot<uint8_t>; break;
      case 2: fn_ = &RunOneHot<uint16_t>; break;
      case 4: fn_ = &RunOneHot<uint32_t>; break;
      case 8: fn_ = &RunOneHot<uint64_t>; break;
      default: return UnsupportedType(ctx, 2, "the numeric types and bool");
    }
    const int64_t out_rank = static_cast<int64_t>(indices.dims.size()) + 1;
    ASSIGN_OR_RETURN(int64_t raw_axis, ctx.node().GetInt("axis", -1));
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, raw_axis, out_rank));
    depth_known_ = ctx.constant_input(1) != nullptr;
    std::vector<int64_t> out_dims;
    if (depth_known_) {
      const int64_t depth = DepthOf(ctx.constant_input(1)->data());
      if (depth < 1) {
        return InvalidModel(ctx.Describe() + ": depth must be positive, got " +
                            std::to_string(depth));
      }
      out_dims = indices.dims;
      out_dims.insert(out_dims.begin() + axis, depth);
    } else {
      ASSIGN_OR_RETURN(out_dims, DeclaredOutputDims(ctx, 0, "depth"));
      if (static_cast<int64_t>(out_dims.size()) != out_rank) {
        return InvalidModel(ctx.Describe() + ": the declared output shape " +
                            ShapeToString(out_dims) + " does not have rank " +
                            std::to_string(out_rank));
      }
    }
    geometry_ = GeometryAround(out_dims, static_cast<size_t>(axis));
    ctx.SetOutput(0, value_type, out_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    if (!depth_known_) {
      const int64_t depth = DepthOf(ctx.input(1));
      if (depth != geometry_.len) {
        return AsInputError(OperandMismatch("depth", {&depth, 1}, {&geometry_.len, 1}));
      }
    }
    fn_(ctx.input(0), index_type_, ctx.input(2), ctx.output(0), geometry_);
    return Status::Ok();
  }

 private:
  int64_t DepthOf(const void* data) const {
    int64_t depth = 0;
    DispatchElementType(depth_type_, [&]<typename T>() {
      depth = ConvertElement<int64_t>(*static_cast<const T*>(data));
    });
    return depth;
  }

  OneHotFn fn_ = nullptr;
  DataType index_type_ = DataType::kUndefined, depth_type_ = DataType::kUndefined;
  bool depth_known_ = false;
  AxisGeometry geometry_;
};

}  // namespace

void RegisterMathGeneratorKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kEyeLike, MakeKernel<EyeLikeKernel>);
  registry.Register(ir::OpKind::kRange, MakeKernel<RangeKernel>);
  registry.Register(ir::OpKind::kOneHot, MakeKernel<OneHotKernel>);
}

}  // namespace bnfold::onednn
