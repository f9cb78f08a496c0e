// Kernels of the element-wise math, matrix and generator ops (the
// BNFOLD_OPS_MATH family in runtime/ir/op_kind.h). The element-wise
// functions (Sin ... Gelu) are unary kernels in activation.cc and CastLike
// is in cast.cc; this file holds the ops with a structure of their own:
// Size, Trilu, CumSum, Hardmax, Det, Einsum, EyeLike, Range, OneHot. They
// are C++ loops: oneDNN has no primitive for any of them.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
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

// ---------------------------------------------------------------- Trilu

// Trilu: keeps the upper (upper=1: j - i >= k) or lower (j - i <= k)
// triangle of each innermost matrix and zeroes the rest; any element type
// (the loop moves bytes). k is an optional int64 scalar input, known now
// or read at run time.
class TriluKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    const TensorDesc& x = ctx.input(0);
    if (x.dims.size() < 2) {
      return InvalidModel(ctx.Describe() + ": input must have rank >= 2, got shape " +
                          ShapeToString(x.dims));
    }
    element_size_ = DataTypeSize(x.dtype);
    if (element_size_ == 0) return UnsupportedType(ctx, 0, "the numeric types and bool");
    ASSIGN_OR_RETURN(int64_t upper, ctx.node().GetInt("upper", 1));
    upper_ = upper != 0;
    if (ctx.num_inputs() > 1 && ctx.has_input(1)) {
      if (ctx.input(1).dtype != DataType::kInt64 || ctx.input(1).num_elements() != 1) {
        return InvalidModel(ctx.Describe() + ": k must be an int64 scalar, got " +
                            DataTypeName(ctx.input(1).dtype) + " " +
                            ShapeToString(ctx.input(1).dims));
      }
      ASSIGN_OR_RETURN(k_, IntOperand::FromInput(ctx, 1, "k"));
    } else {
      k_ = IntOperand({0});
    }
    rows_ = x.dims[x.dims.size() - 2];
    cols_ = x.dims.back();
    matrices_ = rows_ * cols_ == 0 ? 0 : x.num_elements() / (rows_ * cols_);
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    int64_t buffer[kMaxOperandLength];
    const int64_t k = k_.Read(ctx, buffer)[0];
    const auto* in = static_cast<const unsigned char*>(ctx.input(0));
    auto* out = static_cast<unsigned char*>(ctx.output(0));
    const size_t row_bytes = static_cast<size_t>(cols_) * element_size_;
    for (int64_t m = 0; m < matrices_; ++m) {
      for (int64_t i = 0; i < rows_; ++i) {
        const size_t offset = static_cast<size_t>(m * rows_ + i) * row_bytes;
        // Columns [begin, end) are kept: j >= i + k (upper) or j <= i + k.
        const int64_t edge = std::clamp<int64_t>(upper_ ? i + k : i + k + 1, 0, cols_);
        const int64_t begin = upper_ ? edge : 0;
        const int64_t end = upper_ ? cols_ : edge;
        std::memset(out + offset, 0, row_bytes);
        std::memcpy(out + offset + begin * element_size_, in + offset + begin * element_size_,
                    static_cast<size_t>(end - begin) * element_size_);
      }
    }
    return Status::Ok();
  }

 private:
  bool upper_ = true;
  IntOperand k_;
  size_t element_size_ = 0;
  int64_t rows_ = 0, cols_ = 0, matrices_ = 0;
};

// ---------------------------------------------------------------- CumSum

// Dims around an axis: `outer` blocks of `len` steps of `inner` elements.
struct AxisGeometry {
  int64_t outer = 1, len = 1, inner = 1;
};

AxisGeometry GeometryAround(const std::vector<int64_t>& dims, size_t axis) {
  AxisGeometry g;
  for (size_t d = 0; d < axis; ++d) g.outer *= dims[d];
  g.len = dims[axis];
  for (size_t d = axis + 1; d < dims.size(); ++d) g.inner *= dims[d];
  return g;
}

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

// ---------------------------------------------------------------- Det

// Determinants of the innermost M x M matrices by LU decomposition with
// partial pivoting, in double.
using DetFn = void (*)(const void* in, void* out, int64_t count, int64_t m);

template <typename T>
void RunDet(const void* in, void* out, int64_t count, int64_t m) {
  const T* x = static_cast<const T*>(in);
  T* y = static_cast<T*>(out);
  std::vector<double> a(static_cast<size_t>(m * m));
  for (int64_t b = 0; b < count; ++b) {
    for (int64_t i = 0; i < m * m; ++i) a[i] = static_cast<double>(Load(x[b * m * m + i]));
    double det = 1.0;
    for (int64_t c = 0; c < m && det != 0.0; ++c) {
      int64_t pivot = c;
      for (int64_t r = c + 1; r < m; ++r) {
        if (std::fabs(a[r * m + c]) > std::fabs(a[pivot * m + c])) pivot = r;
      }
      if (a[pivot * m + c] == 0.0) {
        det = 0.0;
        break;
      }
      if (pivot != c) {
        for (int64_t k = 0; k < m; ++k) std::swap(a[c * m + k], a[pivot * m + k]);
        det = -det;
      }
      det *= a[c * m + c];
      for (int64_t r = c + 1; r < m; ++r) {
        const double f = a[r * m + c] / a[c * m + c];
        for (int64_t k = c; k < m; ++k) a[r * m + k] -= f * a[c * m + k];
      }
    }
    y[b] = ConvertElement<T>(det);
  }
}

class DetKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(RequireInput0(ctx));
    const TensorDesc& x = ctx.input(0);
    DispatchElementType(x.dtype, [&]<typename T>() {
      if constexpr (kIsFloating<T>) fn_ = &RunDet<T>;
    });
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    const size_t rank = x.dims.size();
    if (rank < 2 || x.dims[rank - 1] != x.dims[rank - 2]) {
      return InvalidModel(ctx.Describe() + ": input must be [..., M, M], got shape " +
                          ShapeToString(x.dims));
    }
    m_ = x.dims.back();
    const std::vector<int64_t> out_dims(x.dims.begin(), x.dims.end() - 2);
    ASSIGN_OR_RETURN(count_, ElementCount(ctx, out_dims));
    ctx.SetOutput(0, x.dtype, out_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    fn_(ctx.input(0), ctx.output(0), count_, m_);
    return Status::Ok();
  }

 private:
  DetFn fn_ = nullptr;
  int64_t count_ = 0, m_ = 0;
};

// ---------------------------------------------------------------- Einsum

// A parsed equation: for each input and the output, the label of each axis.
// Letters are labels 0-51; the axes an ellipsis stands for get labels from
// 52 on, right-aligned across the inputs (they broadcast).
struct EinsumEquation {
  std::vector<std::vector<int>> inputs;
  std::vector<int> output;
};

constexpr int kEllipsisLabel = 52;

int LetterLabel(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= 'A' && c <= 'Z') return c - 'A';
  return -1;
}

// One term's labels; `ellipsis_rank` axes for "..." (when present).
StatusOr<std::vector<int>> ParseTerm(const std::string& term, int64_t rank, bool is_output,
                                     int64_t max_ellipsis, int64_t* ellipsis_rank) {
  std::vector<int> labels;
  int64_t letters = 0;
  bool has_ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term.compare(i, 3, "...") == 0) {
      if (has_ellipsis) return InvalidArgument("term '" + term + "' has two ellipses");
      has_ellipsis = true;
      i += 2;
    } else if (LetterLabel(term[i]) >= 0) {
      ++letters;
    } else {
      return InvalidArgument("term '" + term + "' has the character '" + term[i] + "'");
    }
  }
  const int64_t ellipsis = is_output ? max_ellipsis : rank - letters;
  if (!is_output && (has_ellipsis ? ellipsis < 0 : ellipsis != 0)) {
    return InvalidArgument("term '" + term + "' does not match an input of rank " +
                           std::to_string(rank));
  }
  if (ellipsis_rank != nullptr) *ellipsis_rank = has_ellipsis ? ellipsis : 0;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term.compare(i, 3, "...") == 0) {
      // Right-aligned: this term's ellipsis axes are the last of the widest.
      for (int64_t e = 0; e < ellipsis; ++e) {
        labels.push_back(kEllipsisLabel + static_cast<int>(max_ellipsis - ellipsis + e));
      }
      i += 2;
    } else {
      labels.push_back(LetterLabel(term[i]));
    }
  }
  return labels;
}

StatusOr<EinsumEquation> ParseEinsum(std::string equation,
                                     const std::vector<std::vector<int64_t>>& dims) {
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != dims.size()) {
    return InvalidArgument("the equation has " + std::to_string(terms.size()) +
                           " input terms for " + std::to_string(dims.size()) + " inputs");
  }
  // The widest ellipsis first, so every term can right-align to it.
  int64_t max_ellipsis = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t e = 0;
    RETURN_IF_ERROR(ParseTerm(terms[i], static_cast<int64_t>(dims[i].size()), false, 0, &e).status());
    max_ellipsis = std::max(max_ellipsis, e);
  }
  if (max_ellipsis > 64) return InvalidArgument("an ellipsis stands for more than 64 axes");
  EinsumEquation eq;
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t e = 0;
    ASSIGN_OR_RETURN(std::vector<int> labels,
                     ParseTerm(terms[i], static_cast<int64_t>(dims[i].size()), false, max_ellipsis, &e));
    eq.inputs.push_back(std::move(labels));
  }
  if (arrow != std::string::npos) {
    ASSIGN_OR_RETURN(eq.output,
                     ParseTerm(equation.substr(arrow + 2), 0, true, max_ellipsis, nullptr));
    std::vector<int> seen;
    for (int label : eq.output) {
      if (std::find(seen.begin(), seen.end(), label) != seen.end()) {
        return InvalidArgument("the output repeats a label");
      }
      bool in_inputs = false;
      for (const std::vector<int>& in : eq.inputs) {
        in_inputs = in_inputs || std::find(in.begin(), in.end(), label) != in.end();
      }
      if (!in_inputs) return InvalidArgument("an output label is in no input");
      seen.push_back(label);
    }
  } else {
    // Implicit output: the ellipsis axes, then the letters used once, in
    // alphabetical order.
    for (int64_t e = 0; e < max_ellipsis; ++e) eq.output.push_back(kEllipsisLabel + static_cast<int>(e));
    int counts[kEllipsisLabel] = {};
    for (const std::vector<int>& in : eq.inputs) {
      for (int label : in) {
        if (label < kEllipsisLabel) ++counts[label];
      }
    }
    for (int label = 0; label < kEllipsisLabel; ++label) {
      if (counts[label] == 1) eq.output.push_back(label);
    }
  }
  return eq;
}

// The sum over the labels not in the output of the product of the inputs,
// each read through per-label strides (a label repeated in one input, a
// diagonal, adds its axes' strides; a broadcast axis has stride 0).
struct EinsumPlan {
  std::vector<int64_t> out_dims, sum_dims;
  // [input][k]: stride along output dim k, then along summed dim k.
  std::vector<std::vector<int64_t>> out_strides, sum_strides;
};

using EinsumFn = void (*)(const EinsumPlan& plan, const std::vector<const void*>& inputs,
                          void* out);

template <typename T>
void RunEinsum(const EinsumPlan& plan, const std::vector<const void*>& inputs, void* out) {
  using Acc = std::conditional_t<kIsInteger<T>, uint64_t, double>;
  T* y = static_cast<T*>(out);
  const size_t n = inputs.size();
  int64_t total = 1, sum_total = 1;
  for (int64_t d : plan.out_dims) total *= d;
  for (int64_t d : plan.sum_dims) sum_total *= d;
  std::vector<int64_t> base(n), offset(n), index;
  for (int64_t o = 0; o < total; ++o) {
    // Offsets of output element o.
    std::fill(base.begin(), base.end(), 0);
    int64_t rest = o;
    for (size_t d = plan.out_dims.size(); d-- > 0;) {
      const int64_t i = rest % plan.out_dims[d];
      rest /= plan.out_dims[d];
      for (size_t k = 0; k < n; ++k) base[k] += i * plan.out_strides[k][d];
    }
    Acc acc = 0;
    index.assign(plan.sum_dims.size(), 0);
    offset = base;
    for (int64_t s = 0; s < sum_total; ++s) {
      Acc product = 1;
      for (size_t k = 0; k < n; ++k) {
        const T v = static_cast<const T*>(inputs[k])[offset[k]];
        if constexpr (kIsInteger<T>) {
          product *= static_cast<Acc>(v);
        } else {
          product *= static_cast<double>(Load(v));
        }
      }
      acc += product;
      for (size_t d = plan.sum_dims.size(); d-- > 0;) {
        for (size_t k = 0; k < n; ++k) offset[k] += plan.sum_strides[k][d];
        if (++index[d] < plan.sum_dims[d]) break;
        for (size_t k = 0; k < n; ++k) offset[k] -= plan.sum_strides[k][d] * plan.sum_dims[d];
        index[d] = 0;
      }
    }
    if constexpr (kIsInteger<T>) {
      y[o] = static_cast<T>(acc);
    } else {
      y[o] = ConvertElement<T>(acc);
    }
  }
}

// Einsum by its definition: one loop over every label (a C++ loop; the
// suite's and exporters' equations are small). Sums accumulate in double
// for floating types, wrap around for integers.
class EinsumKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() < 1) return InvalidModel(ctx.Describe() + ": needs at least one input");
    const DataType dtype = ctx.input(0).dtype;
    std::vector<std::vector<int64_t>> dims;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i) || ctx.input(i).dtype != dtype) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) +
                            " is missing or does not have input 0's element type");
      }
      dims.push_back(ctx.input(i).dims);
    }
    DispatchElementType(dtype, [&]<typename T>() { fn_ = &RunEinsum<T>; });
    if (fn_ == nullptr) return UnsupportedType(ctx, 0, "the numeric types");
    ASSIGN_OR_RETURN(std::string equation, ctx.node().GetString("equation", ""));
    StatusOr<EinsumEquation> eq = ParseEinsum(equation, dims);
    if (!eq.ok()) {
      return InvalidModel(ctx.Describe() + ": equation '" + equation + "': " +
                          eq.status().message());
    }
    // Each label's size: equal wherever it appears, or 1 (broadcast).
    std::vector<int64_t> size(kEllipsisLabel + 64, -1);
    for (size_t i = 0; i < dims.size(); ++i) {
      for (size_t a = 0; a < dims[i].size(); ++a) {
        int64_t& s = size[eq->inputs[i][a]];
        const int64_t d = dims[i][a];
        if (s == -1 || s == 1) {
          s = d;
        } else if (d != s && d != 1) {
          return InvalidModel(ctx.Describe() + ": equation '" + equation + "': a label has sizes " +
                              std::to_string(s) + " and " + std::to_string(d));
        }
      }
    }
    std::vector<int> summed;
    for (size_t i = 0; i < dims.size(); ++i) {
      for (int label : eq->inputs[i]) {
        if (std::find(eq->output.begin(), eq->output.end(), label) == eq->output.end() &&
            std::find(summed.begin(), summed.end(), label) == summed.end()) {
          summed.push_back(label);
        }
      }
    }
    auto strides_for = [&](size_t i, const std::vector<int>& labels) {
      const std::vector<int64_t> row_major = RowMajorStrides(dims[i]);
      std::vector<int64_t> strides(labels.size(), 0);
      for (size_t k = 0; k < labels.size(); ++k) {
        for (size_t a = 0; a < dims[i].size(); ++a) {
          if (eq->inputs[i][a] == labels[k] && dims[i][a] != 1) strides[k] += row_major[a];
        }
      }
      return strides;
    };
    plan_ = EinsumPlan();
    for (int label : eq->output) plan_.out_dims.push_back(std::max<int64_t>(size[label], 1));
    for (int label : summed) plan_.sum_dims.push_back(std::max<int64_t>(size[label], 1));
    for (size_t i = 0; i < dims.size(); ++i) {
      plan_.out_strides.push_back(strides_for(i, eq->output));
      plan_.sum_strides.push_back(strides_for(i, summed));
    }
    ASSIGN_OR_RETURN(int64_t total, ElementCount(ctx, plan_.out_dims));
    (void)total;
    ctx.SetOutput(0, dtype, plan_.out_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    std::vector<const void*> inputs;
    for (size_t i = 0; i < plan_.out_strides.size(); ++i) inputs.push_back(ctx.input(static_cast<int>(i)));
    fn_(plan_, inputs, ctx.output(0));
    return Status::Ok();
  }

 private:
  EinsumFn fn_ = nullptr;
  EinsumPlan plan_;
};

}  // namespace

void RegisterMathKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kSize, MakeKernel<SizeKernel>);
  registry.Register(ir::OpKind::kTrilu, MakeKernel<TriluKernel>);
  registry.Register(ir::OpKind::kCumSum, MakeKernel<CumSumKernel>);
  registry.Register(ir::OpKind::kHardmax, MakeKernel<HardmaxKernel>);
  registry.Register(ir::OpKind::kEyeLike, MakeKernel<EyeLikeKernel>);
  registry.Register(ir::OpKind::kRange, MakeKernel<RangeKernel>);
  registry.Register(ir::OpKind::kOneHot, MakeKernel<OneHotKernel>);
  registry.Register(ir::OpKind::kDet, MakeKernel<DetKernel>);
  registry.Register(ir::OpKind::kEinsum, MakeKernel<EinsumKernel>);
}

}  // namespace bnfold::onednn
