// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
// ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp.
//
// The axes are an attribute before opset 13 (ReduceSum) / 18 (the others)
// and an optional input after; an input must be known when the model is
// compiled (a constant, or an empty tensor whose shape alone says "no
// axes"), since the output shape depends on it. Empty axes reduce over every
// dim unless noop_with_empty_axes is set: then nothing is reduced, and each
// element is "reduced" alone (|x| for L1, x^2 for SumSquare, log x for
// LogSum, as the ONNX reference does). float32 runs on oneDNN's reduction
// primitive (ReduceLogSum as a sum with a log post-op); the other types,
// ReduceLogSumExp, and shapes oneDNN refuses (e.g. empty dims) in a C++ loop
// that accumulates sums in double (floating) or 64-bit integers, and
// ReduceLogSumExp as max + log(sum(exp(x - max))) so large inputs do not
// overflow.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

// Whether reducing one element gives it back unchanged.
bool IdentityOnOne(ReduceOp op) {
  return op == ReduceOp::kSum || op == ReduceOp::kMean || op == ReduceOp::kMax ||
         op == ReduceOp::kMin || op == ReduceOp::kProd || op == ReduceOp::kLogSumExp;
}

// The C++ loop's plan: walk the input in row-major order and fold each
// element into the accumulator of its output element.
struct ReduceLoop {
  std::vector<int64_t> in_dims;
  std::vector<int64_t> out_strides;  // per input dim; 0 on reduced dims
  int64_t out_elements = 0;
  int64_t reduced_count = 0;  // input elements per output element
};

// Max/min accumulate in the element's compute type; L2, LogSum and
// LogSumExp in double; the sums and products of floating types in double,
// of integers in 64 bits.
template <DataType kType, ReduceOp kOp>
struct Accumulator {
  using Compute = typename Element<kType>::Compute;
  using Wide = std::conditional_t<Element<kType>::kFloating, double,
                                  std::conditional_t<std::is_signed_v<Compute>, int64_t, uint64_t>>;
  using Type = std::conditional_t<
      kOp == ReduceOp::kMax || kOp == ReduceOp::kMin, Compute,
      std::conditional_t<kOp == ReduceOp::kL2 || kOp == ReduceOp::kLogSum ||
                             kOp == ReduceOp::kLogSumExp,
                         double, Wide>>;
};

template <typename T>
bool IsNan(T v) {
  if constexpr (std::numeric_limits<T>::has_quiet_NaN) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// Calls fn(out, in) for every input element `in` (row-major) and the output
// element `out` it folds into. `index` holds rank entries.
template <typename Fn>
void Walk(const ReduceLoop& r, int64_t* index, Fn&& fn) {
  const size_t rank = r.in_dims.size();
  if (rank == 0) {
    fn(int64_t{0}, int64_t{0});
    return;
  }
  // Odometer over all dims but the last; the last is a tight loop.
  const int64_t last = r.in_dims[rank - 1];
  const int64_t last_stride = r.out_strides[rank - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d) rows *= r.in_dims[d];
  std::fill(index, index + rank, 0);
  int64_t out_base = 0, in = 0;
  for (int64_t row = 0; row < rows && last > 0; ++row) {
    for (int64_t j = 0; j < last; ++j) fn(out_base + j * last_stride, in + j);
    in += last;
    // Advance the odometer over dims [0, rank - 1).
    for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
      out_base += r.out_strides[d];
      if (++index[d] < r.in_dims[d]) break;
      out_base -= r.out_strides[d] * r.in_dims[d];
      index[d] = 0;
    }
  }
}

template <DataType kType, ReduceOp kOp>
void RunReduceLoop(const ReduceLoop& r, ExecContext& ctx) {
  using E = Element<kType>;
  using Acc = typename Accumulator<kType, kOp>::Type;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  auto* y = ctx.output_as<typename E::Storage>(0);
  // Scratchpad: the accumulators, LogSumExp's maxima, then the odometer's
  // index.
  char* scratch = static_cast<char*>(ctx.scratchpad());
  Acc* acc = reinterpret_cast<Acc*>(scratch);
  double* max = reinterpret_cast<double*>(scratch + r.out_elements * sizeof(uint64_t));
  int64_t* index = reinterpret_cast<int64_t*>(scratch + 2 * r.out_elements * sizeof(uint64_t));

  Acc identity{};
  if constexpr (kOp == ReduceOp::kMax) {
    identity = std::numeric_limits<Acc>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                      : std::numeric_limits<Acc>::lowest();
  } else if constexpr (kOp == ReduceOp::kMin) {
    identity = std::numeric_limits<Acc>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                      : std::numeric_limits<Acc>::max();
  } else if constexpr (kOp == ReduceOp::kProd) {
    identity = 1;
  }
  std::fill(acc, acc + r.out_elements, identity);

  if constexpr (kOp == ReduceOp::kLogSumExp) {
    std::fill(max, max + r.out_elements, -std::numeric_limits<double>::infinity());
    Walk(r, index, [&](int64_t o, int64_t i) {
      const double v = E::Load(x[i]);
      if (v > max[o] || std::isnan(v)) max[o] = v;
    });
  }
  Walk(r, index, [&](int64_t o, int64_t i) {
    const Acc v = static_cast<Acc>(E::Load(x[i]));
    Acc& a = acc[o];
    if constexpr (kOp == ReduceOp::kMax) {
      if (v > a || IsNan(v)) a = v;
    } else if constexpr (kOp == ReduceOp::kMin) {
      if (v < a || IsNan(v)) a = v;
    } else if constexpr (kOp == ReduceOp::kProd) {
      a *= v;
    } else if constexpr (kOp == ReduceOp::kL1) {
      if constexpr (std::is_signed_v<Acc>) a += v < 0 ? -v : v;
      else a += v;
    } else if constexpr (kOp == ReduceOp::kL2 || kOp == ReduceOp::kSumSquare) {
      a += v * v;
    } else if constexpr (kOp == ReduceOp::kLogSumExp) {
      if (std::isfinite(max[o])) a += std::exp(v - max[o]);
    } else {
      a += v;
    }
  });

  for (int64_t i = 0; i < r.out_elements; ++i) {
    Acc result = acc[i];
    if constexpr (kOp == ReduceOp::kMean) {
      if constexpr (std::is_floating_point_v<Acc>) {
        result = acc[i] / static_cast<Acc>(r.reduced_count);
      } else {
        // Integer mean truncates toward zero, as numpy's mean followed by a
        // cast does.
        const Acc count = static_cast<Acc>(r.reduced_count);
        result = count ? acc[i] / count : 0;
      }
    } else if constexpr (kOp == ReduceOp::kL2) {
      result = std::sqrt(acc[i]);
    } else if constexpr (kOp == ReduceOp::kLogSum) {
      result = std::log(acc[i]);
    } else if constexpr (kOp == ReduceOp::kLogSumExp) {
      // An infinite or NaN maximum is the result itself (all -inf or empty:
      // -inf; any +inf: +inf; any NaN: NaN).
      result = std::isfinite(max[i]) ? std::log(acc[i]) + max[i] : max[i];
    }
    y[i] = E::Store(static_cast<typename E::Compute>(result));
  }
}

using ReduceLoopFn = void (*)(const ReduceLoop&, ExecContext&);

template <DataType kType>
ReduceLoopFn PickLoop(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return &RunReduceLoop<kType, ReduceOp::kSum>;
    case ReduceOp::kMean: return &RunReduceLoop<kType, ReduceOp::kMean>;
    case ReduceOp::kMax: return &RunReduceLoop<kType, ReduceOp::kMax>;
    case ReduceOp::kMin: return &RunReduceLoop<kType, ReduceOp::kMin>;
    case ReduceOp::kProd: return &RunReduceLoop<kType, ReduceOp::kProd>;
    case ReduceOp::kL1: return &RunReduceLoop<kType, ReduceOp::kL1>;
    case ReduceOp::kL2: return &RunReduceLoop<kType, ReduceOp::kL2>;
    case ReduceOp::kSumSquare: return &RunReduceLoop<kType, ReduceOp::kSumSquare>;
    case ReduceOp::kLogSum: return &RunReduceLoop<kType, ReduceOp::kLogSum>;
    case ReduceOp::kLogSumExp: return &RunReduceLoop<kType, ReduceOp::kLogSumExp>;
  }
  return nullptr;
}

class ReduceKernel : public Kernel {
 public:
  explicit ReduceKernel(ReduceOp op) : op_(op) {}

  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    RETURN_IF_ERROR(CheckType(ctx, x.dtype));
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReadAxes(ctx));
    ASSIGN_OR_RETURN(int64_t keepdims, ctx.node().GetInt("keepdims", 1));
    int64_t noop_with_empty_axes = 0;
    if (AxesFromInput(ctx)) {
      ASSIGN_OR_RETURN(noop_with_empty_axes, ctx.node().GetInt("noop_with_empty_axes", 0));
    }

    // With noop_with_empty_axes and no axes, nothing is reduced.
    std::vector<bool> reduced(rank, axes.empty() && !noop_with_empty_axes);
    for (int64_t a : axes) {
      if (a < -rank || a >= rank) {
        return InvalidModel(ctx.Describe() + ": axis " + std::to_string(a) +
                            " is out of range for rank " + std::to_string(rank));
      }
      const int64_t axis = a < 0 ? a + rank : a;
      if (reduced[axis]) {
        return InvalidModel(ctx.Describe() + ": axis " + std::to_string(a) + " is repeated");
      }
      reduced[axis] = true;
    }

    std::vector<int64_t> kept_dims, out_dims;  // kept_dims: reduced dims as 1
    int64_t reduced_count = 1, out_elements = 1;
    for (int64_t d = 0; d < rank; ++d) {
      kept_dims.push_back(reduced[d] ? 1 : x.dims[d]);
      if (reduced[d]) reduced_count *= x.dims[d];
      if (!reduced[d] || keepdims) out_dims.push_back(kept_dims.back());
      out_elements *= kept_dims.back();
    }
    ctx.SetOutput(0, x.dtype, out_dims);
    if (out_elements == 0) return Status::Ok();  // nothing to compute
    if (reduced_count == 1 && IdentityOnOne(op_)) {
      // Reducing dims of size 1 changes no value.
      copy_bytes_ = x.byte_size();
      return Status::Ok();
    }
    if (x.dtype == DataType::kFloat && reduced_count > 0 && op_ != ReduceOp::kLogSumExp &&
        TryOneDnn(ctx, kept_dims)) {
      return Status::Ok();
    }

    // The loop's dims: size-1 dims dropped, runs of reduced dims and runs
    // of contiguous kept dims merged.
    const std::vector<int64_t> kept_strides = RowMajorStrides(kept_dims);
    impl_.loop = ReduceLoop{};
    for (int64_t d = 0; d < rank; ++d) {
      if (x.dims[d] == 1) continue;
      const int64_t stride = reduced[d] ? 0 : kept_strides[d];
      if (!impl_.loop.in_dims.empty() && (impl_.loop.out_strides.back() == 0) == (stride == 0) &&
          (stride == 0 || impl_.loop.out_strides.back() == stride * x.dims[d])) {
        impl_.loop.in_dims.back() *= x.dims[d];
        impl_.loop.out_strides.back() = stride;
      } else {
        impl_.loop.in_dims.push_back(x.dims[d]);
        impl_.loop.out_strides.push_back(stride);
      }
    }
    impl_.loop.out_elements = out_elements;
    impl_.loop.reduced_count = reduced_count;
    DispatchElement<kAllElements>(x.dtype, [&]<DataType kType>() { impl_.loop_fn = PickLoop<kType>(op_); });
    ctx.RequestScratchpad((2 * static_cast<size_t>(out_elements) + impl_.loop.in_dims.size()) *
                          sizeof(uint64_t));
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return impl_.CreateState(engine);
  }

  Status Execute(ExecContext& ctx) const override {
    if (copy_bytes_) {
      std::memcpy(ctx.output(0), ctx.input(0), copy_bytes_);
    } else if (impl_.use_primitive || impl_.loop_fn) {
      impl_.Execute(ctx);
    }
    return Status::Ok();
  }

 private:
  bool AxesFromInput(const CompileContext& ctx) const {
    return ctx.node().opset() >= (op_ == ReduceOp::kSum ? 13 : 18);
  }

  StatusOr<std::vector<int64_t>> ReadAxes(const CompileContext& ctx) const {
    if (!AxesFromInput(ctx)) return ctx.node().GetInts("axes", {});
    if (ctx.num_inputs() < 2 || !ctx.has_input(1)) return std::vector<int64_t>{};
    const TensorDesc& axes = ctx.input(1);
    if (axes.dtype != DataType::kInt64) return UnsupportedType(ctx, 1, "int64");
    if (axes.dims.size() != 1) {
      return InvalidModel(ctx.Describe() + ": axes must be a 1-D tensor");
    }
    if (axes.num_elements() == 0) return std::vector<int64_t>{};
    return ConstantInts(ctx, 1, "axes");
  }

  Status CheckType(const CompileContext& ctx, DataType dtype) const {
    const int64_t opset = ctx.node().opset();
    const bool max_or_min = op_ == ReduceOp::kMax || op_ == ReduceOp::kMin;
    switch (dtype) {
      case DataType::kFloat:
      case DataType::kDouble:
      case DataType::kFloat16:
      case DataType::kInt32:
      case DataType::kInt64:
      case DataType::kUint32:
      case DataType::kUint64: return Status::Ok();
      case DataType::kBfloat16:
        if (opset >= 13) return Status::Ok();
        break;
      case DataType::kInt8:
      case DataType::kUint8:
        if (max_or_min && opset >= 12) return Status::Ok();
        break;
      case DataType::kBool:
        if (max_or_min && opset >= 20) return Status::Ok();
        break;
      default: break;
    }
    std::string expected = "float16, float, double, int32, int64, uint32, uint64";
    if (opset >= 13) expected += ", bfloat16";
    if (max_or_min && opset >= 12) expected += ", int8, uint8";
    if (max_or_min && opset >= 20) expected += ", bool";
    return UnsupportedType(ctx, 0, expected);
  }

  // oneDNN's reduction (dst keeps the reduced dims as 1: the same bytes as
  // the keepdims=0 output); false when oneDNN refuses the shape.
  bool TryOneDnn(CompileContext& ctx, const std::vector<int64_t>& kept_dims) {
    const TensorDesc& x = ctx.input(0);
    using dnnl::algorithm;
    algorithm alg = algorithm::reduction_sum;
    float p = 0.0f;
    switch (op_) {
      case ReduceOp::kSum:
      case ReduceOp::kLogSum: alg = algorithm::reduction_sum; break;
      case ReduceOp::kMean: alg = algorithm::reduction_mean; break;
      case ReduceOp::kMax: alg = algorithm::reduction_max; break;
      case ReduceOp::kMin: alg = algorithm::reduction_min; break;
      case ReduceOp::kProd: alg = algorithm::reduction_mul; break;
      case ReduceOp::kL1: alg = algorithm::reduction_norm_lp_sum, p = 1.0f; break;
      case ReduceOp::kL2: alg = algorithm::reduction_norm_lp_sum, p = 2.0f; break;
      case ReduceOp::kSumSquare: alg = algorithm::reduction_norm_lp_power_p_sum, p = 2.0f; break;
      case ReduceOp::kLogSumExp: return false;  // the loop's max-shifted form
    }
    const dnnl::memory::desc src = PlainDesc(x.dtype, x.dims);
    const dnnl::memory::desc dst = PlainDesc(x.dtype, kept_dims);
    return impl_.TryPrimitive([&] {
      dnnl::reduction::desc desc(alg, src, dst, p, 0.0f);
      dnnl::primitive_attr attr = DefaultPrimitiveAttr();
      if (op_ == ReduceOp::kLogSum) {
        dnnl::post_ops log;
        log.append_eltwise(1.0f, algorithm::eltwise_log, 0.0f, 0.0f);
        attr.set_post_ops(log);
      }
      dnnl::reduction::primitive_desc pd(desc, attr, ctx.engine());
      impl_.runner = PrimitiveRunner(dnnl::reduction(pd));
      impl_.runner.BindInput(DNNL_ARG_SRC, 0, src);
      impl_.runner.BindOutput(DNNL_ARG_DST, 0, dst);
      impl_.runner.BindScratchpad(pd.scratchpad_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
    });
  }

  ReduceOp op_;
  size_t copy_bytes_ = 0;
  PrimitiveOrLoop<ReduceLoop> impl_;
};

template <ReduceOp kOp>
std::unique_ptr<Kernel> MakeReduce() {
  return std::make_unique<ReduceKernel>(kOp);
}

}  // namespace

void RegisterReduceKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kReduceSum, MakeReduce<ReduceOp::kSum>);
  registry.Register(ir::OpKind::kReduceMean, MakeReduce<ReduceOp::kMean>);
  registry.Register(ir::OpKind::kReduceMax, MakeReduce<ReduceOp::kMax>);
  registry.Register(ir::OpKind::kReduceMin, MakeReduce<ReduceOp::kMin>);
  registry.Register(ir::OpKind::kReduceProd, MakeReduce<ReduceOp::kProd>);
  registry.Register(ir::OpKind::kReduceL1, MakeReduce<ReduceOp::kL1>);
  registry.Register(ir::OpKind::kReduceL2, MakeReduce<ReduceOp::kL2>);
  registry.Register(ir::OpKind::kReduceSumSquare, MakeReduce<ReduceOp::kSumSquare>);
  registry.Register(ir::OpKind::kReduceLogSum, MakeReduce<ReduceOp::kLogSum>);
  registry.Register(ir::OpKind::kReduceLogSumExp, MakeReduce<ReduceOp::kLogSumExp>);
}

}  // namespace bnfold::onednn
