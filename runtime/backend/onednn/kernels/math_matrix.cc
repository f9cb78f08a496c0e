// The math family's ops on the innermost matrices of a tensor: Trilu, Det
// and Einsum (its equation parser is support/einsum_equation.h). C++ loops;
// registered by RegisterMathKernels (math.cc).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/einsum_equation.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/math_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

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
    std::vector<int64_t> size(kEinsumEllipsisLabel + 64, -1);
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

void RegisterMathMatrixKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kTrilu, MakeKernel<TriluKernel>);
  registry.Register(ir::OpKind::kDet, MakeKernel<DetKernel>);
  registry.Register(ir::OpKind::kEinsum, MakeKernel<EinsumKernel>);
}

}  // namespace bnfold::onednn
