// BatchNormalization, InstanceNormalization, LRN.
//
// BatchNormalization in inference mode (opset >= 14 training_mode=0; opset
// 1/6 is_test=1; opset 7/9 when only Y is requested) runs on oneDNN's
// batch_normalization_forward with the given statistics (use_global_stats)
// and scale/shift, in whatever layout X arrives in. Training mode normalises
// with the batch's own statistics in a C++ loop (double accumulation) and
// fills the optional outputs:
//   running_mean = mean * momentum + batch_mean * (1 - momentum), same for
//   var, with the batch's population (biased) variance as ONNX specifies;
//   opsets < 14 also have saved_mean / saved_var: the batch mean and
//   variance.
// spatial=0 (opsets < 9) keeps one statistic per activation (C x D1 x ...):
// the same computation with C*D1*... channels and no spatial extent.
//
// InstanceNormalization normalises each (n, c) plane in a C++ loop. LRN runs
// on oneDNN's lrn_across_channels when the window is symmetric (odd size),
// where its formula equals ONNX's (both divide alpha by size); even sizes,
// whose ONNX window is one longer after the channel than before it, and
// other element types use a C++ loop.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Element i of a floating-type buffer as a double (per-channel parameters:
// a switch per element is cheap next to the work per channel).
double LoadAsDouble(const void* data, DataType dtype, int64_t i) {
  double v = 0.0;
  DispatchElement<kFloatingElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    v = static_cast<double>(E::Load(static_cast<const typename E::Storage*>(data)[i]));
  });
  return v;
}

void StoreFromDouble(void* data, DataType dtype, int64_t i, double v) {
  DispatchElement<kFloatingElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    static_cast<typename E::Storage*>(data)[i] = E::Store(static_cast<typename E::Compute>(v));
  });
}

// ---------------------------------------------------------------- BatchNorm

// X viewed as (batch, channels, inner); one statistic per channel.
struct BatchNormLoop {
  int64_t batch = 0, channels = 0, inner = 0;
  double epsilon = 1e-5, momentum = 0.9;
  bool training = false;
  int threads = 1;  // the session's thread count for the OpenMP loop
  DataType scale_type = DataType::kFloat;  // scale and B
  DataType stats_type = DataType::kFloat;  // mean and var (and their outputs)
};

enum BatchNormInput { kX = 0, kScale = 1, kBias = 2, kMean = 3, kVar = 4 };
// Outputs: Y, then running mean/var, then (opsets < 14) saved mean/var.
enum BatchNormOutput { kY = 0, kRunningMean = 1, kRunningVar = 2, kSavedMean = 3, kSavedVar = 4 };

template <DataType kType>
void RunBatchNormLoop(const BatchNormLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(kX);
  auto* y = ctx.output_as<typename E::Storage>(kY);
  const int64_t count = p.batch * p.inner;
#pragma omp parallel for schedule(static) num_threads(p.threads) \
    if (p.channels > 1 && p.batch * p.channels * p.inner > 32768)
  for (int64_t c = 0; c < p.channels; ++c) {
    double mean, var;
    if (p.training) {
      double sum = 0.0;
      for (int64_t n = 0; n < p.batch; ++n) {
        const auto* xc = x + (n * p.channels + c) * p.inner;
        for (int64_t i = 0; i < p.inner; ++i) sum += static_cast<double>(E::Load(xc[i]));
      }
      mean = count ? sum / count : 0.0;
      double squares = 0.0;
      for (int64_t n = 0; n < p.batch; ++n) {
        const auto* xc = x + (n * p.channels + c) * p.inner;
        for (int64_t i = 0; i < p.inner; ++i) {
          const double d = static_cast<double>(E::Load(xc[i])) - mean;
          squares += d * d;
        }
      }
      var = count ? squares / count : 0.0;
      const double input_mean = LoadAsDouble(ctx.input(kMean), p.stats_type, c);
      const double input_var = LoadAsDouble(ctx.input(kVar), p.stats_type, c);
      if (void* out = ctx.output(kRunningMean)) {
        StoreFromDouble(out, p.stats_type, c, input_mean * p.momentum + mean * (1.0 - p.momentum));
      }
      if (void* out = ctx.output(kRunningVar)) {
        StoreFromDouble(out, p.stats_type, c, input_var * p.momentum + var * (1.0 - p.momentum));
      }
      if (void* out = ctx.output(kSavedMean)) StoreFromDouble(out, p.stats_type, c, mean);
      if (void* out = ctx.output(kSavedVar)) StoreFromDouble(out, p.stats_type, c, var);
    } else {
      mean = LoadAsDouble(ctx.input(kMean), p.stats_type, c);
      var = LoadAsDouble(ctx.input(kVar), p.stats_type, c);
    }
    const double scale =
        LoadAsDouble(ctx.input(kScale), p.scale_type, c) / std::sqrt(var + p.epsilon);
    const double shift = LoadAsDouble(ctx.input(kBias), p.scale_type, c) - mean * scale;
    for (int64_t n = 0; n < p.batch; ++n) {
      const int64_t base = (n * p.channels + c) * p.inner;
      for (int64_t i = 0; i < p.inner; ++i) {
        const double v = static_cast<double>(E::Load(x[base + i])) * scale + shift;
        y[base + i] = E::Store(static_cast<typename E::Compute>(v));
      }
    }
  }
}

class BatchNormKernel : public PrimitiveOrLoopKernel<BatchNormLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const ir::Node& node = ctx.node();
    const int64_t opset = node.opset();
    const std::string what = ctx.Describe() + ": ";
    if (ctx.num_inputs() != 5) {
      return InvalidModel(what + "expects 5 inputs (X, scale, B, mean, var), got " +
                          std::to_string(ctx.num_inputs()));
    }
    for (int i = 0; i < 5; ++i) {
      if (!ctx.has_input(i)) return InvalidModel(what + "input " + std::to_string(i) + " is missing");
    }
    const ir::BatchNormAttrs& attrs = node.attrs<ir::BatchNormAttrs>();
    const float epsilon = attrs.epsilon, momentum = attrs.momentum;
    const int64_t spatial = attrs.spatial ? 1 : 0;
    const bool training = ir::GetBatchNormMode(node).training;
    if (!(epsilon >= 0.0f)) return InvalidModel(what + "epsilon must be non-negative");

    const TensorDesc& x = ctx.input(kX);
    if (!IsElementIn<kFloatingElements>(x.dtype) || (x.dtype == DataType::kBfloat16 && opset < 14)) {
      return UnsupportedType(ctx, kX, opset >= 14 ? "float16, float, double, bfloat16"
                                                  : "float16, float, double");
    }
    // Before opset 15 every input has X's type; from 15 scale/B share one
    // floating type and mean/var another.
    const DataType scale_type = ctx.input(kScale).dtype, stats_type = ctx.input(kMean).dtype;
    if (ctx.input(kBias).dtype != scale_type || ctx.input(kVar).dtype != stats_type ||
        !IsElementIn<kFloatingElements>(scale_type) || !IsElementIn<kFloatingElements>(stats_type) ||
        (opset < 15 && (scale_type != x.dtype || stats_type != x.dtype))) {
      return InvalidModel(what + "scale/B (" + DataTypeName(scale_type) + ") and mean/var (" +
                          DataTypeName(stats_type) + ") types do not fit X (" +
                          DataTypeName(x.dtype) + ") at opset " + std::to_string(opset));
    }
    if (x.dims.size() < 2) {
      return InvalidModel(what + "X must have rank >= 2 (N x C x ...), got rank " +
                          std::to_string(x.dims.size()));
    }
    int64_t inner = 1;
    for (size_t d = 2; d < x.dims.size(); ++d) inner *= x.dims[d];
    impl_.loop.batch = x.dims[0];
    impl_.loop.channels = spatial ? x.dims[1] : x.dims[1] * inner;
    impl_.loop.inner = spatial ? inner : 1;
    impl_.loop.epsilon = epsilon;
    impl_.loop.momentum = momentum;
    impl_.loop.training = training;
    impl_.loop.threads = std::max(1, ctx.threads());
    impl_.loop.scale_type = scale_type;
    impl_.loop.stats_type = stats_type;
    static const char* const kNames[] = {"X", "scale", "B", "mean", "var"};
    for (int i = 1; i < 5; ++i) {
      if (ctx.input(i).num_elements() != impl_.loop.channels) {
        return InvalidModel(what + kNames[i] + " has shape " + ShapeToString(ctx.input(i).dims) +
                            ", expected " + std::to_string(impl_.loop.channels) + " values (" +
                            (spatial ? "one per channel" : "one per activation, spatial=0") + ")");
      }
    }

    ctx.SetOutput(kY, x.dtype, x.dims);
    const int max_outputs = opset < 14 ? 5 : 3;
    if (ctx.num_outputs() > max_outputs) {
      return InvalidModel(what + "has " + std::to_string(ctx.num_outputs()) +
                          " outputs, at most " + std::to_string(max_outputs) + " at this opset");
    }
    for (int i = 1; i < ctx.num_outputs(); ++i) {
      if (!ctx.has_output(i)) continue;
      if (!training) {
        return InvalidModel(what + "output " + std::to_string(i) +
                            " (running/saved statistics) is only produced in training mode");
      }
      ctx.SetOutput(i, stats_type, ctx.input(kMean).dims);
    }
    if (x.num_elements() == 0 && !training) {
      empty_ = true;
      return Status::Ok();
    }

    const bool all_f32 = x.dtype == DataType::kFloat && scale_type == DataType::kFloat &&
                         stats_type == DataType::kFloat;
    if (!training && all_f32 && x.num_elements() > 0 && (x.dims.size() <= 5 || !spatial) &&
        TryOneDnn(ctx, spatial != 0)) {
      return Status::Ok();
    }
    DispatchElement<kFloatingElements>(x.dtype,
                            [&]<DataType kType>() { impl_.loop_fn = &RunBatchNormLoop<kType>; });
    return Status::Ok();
  }

 private:
  // Inference on oneDNN; spatial=0 views X as (N, C*D1*...), which turns
  // per-activation statistics into per-channel ones.
  bool TryOneDnn(CompileContext& ctx, bool spatial) {
    const TensorDesc& x = ctx.input(kX);
    const dnnl::memory::desc src =
        spatial ? x.ToMemoryDesc() : PlainDesc(x.dtype, {impl_.loop.batch, impl_.loop.channels});
    const dnnl::memory::desc channel_md = PlainDesc(DataType::kFloat, {impl_.loop.channels});
    return impl_.TryPrimitive([&] {
      dnnl::batch_normalization_forward::desc desc(
          dnnl::prop_kind::forward_inference, src, static_cast<float>(impl_.loop.epsilon),
          dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
              dnnl::normalization_flags::use_shift);
      dnnl::batch_normalization_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(),
                                                           ctx.engine());
      impl_.runner = PrimitiveRunner(dnnl::batch_normalization_forward(pd));
      impl_.runner.BindInput(DNNL_ARG_SRC, kX, src);
      impl_.runner.BindInput(DNNL_ARG_SCALE, kScale, channel_md);
      impl_.runner.BindInput(DNNL_ARG_SHIFT, kBias, channel_md);
      impl_.runner.BindInput(DNNL_ARG_MEAN, kMean, channel_md);
      impl_.runner.BindInput(DNNL_ARG_VARIANCE, kVar, channel_md);
      impl_.runner.BindOutput(DNNL_ARG_DST, kY, pd.dst_desc());
      impl_.runner.BindScratchpad(pd.scratchpad_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
      if (spatial) ctx.AcceptInputLayout(kX);
      if (spatial && !x.is_plain()) ctx.SetOutput(kY, x.dtype, x.dims, pd.dst_desc());
    });
  }
};

// ------------------------------------------------------ InstanceNormalization

struct InstanceNormLoop {
  int64_t batch = 0, channels = 0, inner = 0;
  double epsilon = 1e-5;
  int threads = 1;
};

template <DataType kType>
void RunInstanceNormLoop(const InstanceNormLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  const auto* scale = ctx.input_as<typename E::Storage>(1);
  const auto* bias = ctx.input_as<typename E::Storage>(2);
  auto* y = ctx.output_as<typename E::Storage>(0);
  const int64_t planes = p.batch * p.channels;
#pragma omp parallel for schedule(static) num_threads(p.threads) \
    if (planes > 1 && planes * p.inner > 32768)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const auto* xp = x + plane * p.inner;
    auto* yp = y + plane * p.inner;
    double sum = 0.0;
    for (int64_t i = 0; i < p.inner; ++i) sum += static_cast<double>(E::Load(xp[i]));
    const double mean = sum / p.inner;
    double squares = 0.0;
    for (int64_t i = 0; i < p.inner; ++i) {
      const double d = static_cast<double>(E::Load(xp[i])) - mean;
      squares += d * d;
    }
    const int64_t c = plane % p.channels;
    const double factor =
        static_cast<double>(E::Load(scale[c])) / std::sqrt(squares / p.inner + p.epsilon);
    const double shift = static_cast<double>(E::Load(bias[c])) - mean * factor;
    for (int64_t i = 0; i < p.inner; ++i) {
      yp[i] = E::Store(static_cast<typename E::Compute>(
          static_cast<double>(E::Load(xp[i])) * factor + shift));
    }
  }
}

class InstanceNormKernel : public LoopKernel<InstanceNormLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    if (ctx.num_inputs() != 3 || !ctx.has_input(1) || !ctx.has_input(2)) {
      return InvalidModel(what + "expects 3 inputs (input, scale, B)");
    }
    const TensorDesc& x = ctx.input(0);
    const bool bfloat16_allowed = ctx.node().opset() >= 22;
    if ((x.dtype == DataType::kBfloat16 && !bfloat16_allowed) ||
        !DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() {
          fn_ = &RunInstanceNormLoop<kType>;
        })) {
      return UnsupportedType(ctx, 0, bfloat16_allowed ? "float16, float, double, bfloat16"
                                                      : "float16, float, double");
    }
    if (x.dims.size() < 3) {
      return InvalidModel(what + "input must have rank >= 3 (N x C x D1 x ...), got rank " +
                          std::to_string(x.dims.size()));
    }
    for (int i = 1; i < 3; ++i) {
      if (ctx.input(i).dtype != x.dtype) return UnsupportedType(ctx, i, DataTypeName(x.dtype));
      if (ctx.input(i).num_elements() != x.dims[1] || ctx.input(i).dims.size() != 1) {
        return InvalidModel(what + (i == 1 ? "scale" : "B") + " has shape " +
                            ShapeToString(ctx.input(i).dims) + ", expected [" +
                            std::to_string(x.dims[1]) + "]");
      }
    }
    ASSIGN_OR_RETURN(float epsilon, ctx.node().GetFloat("epsilon", 1e-5f));
    loop_.batch = x.dims[0];
    loop_.channels = x.dims[1];
    loop_.inner = 1;
    for (size_t d = 2; d < x.dims.size(); ++d) loop_.inner *= x.dims[d];
    loop_.epsilon = epsilon;
    loop_.threads = std::max(1, ctx.threads());
    if (loop_.inner == 0) loop_.batch = 0;  // empty planes: nothing to compute
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }
};

// ---------------------------------------------------------------------- LRN

struct LrnLoop {
  int64_t batch = 0, channels = 0, inner = 0;
  int64_t size = 1;
  double alpha = 1e-4, beta = 0.75, bias = 1.0;
  int threads = 1;
};

template <DataType kType>
void RunLrnLoop(const LrnLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  auto* y = ctx.output_as<typename E::Storage>(0);
  // The ONNX window: floor((size-1)/2) channels before, ceil((size-1)/2) after.
  const int64_t before = (p.size - 1) / 2, after = p.size - 1 - before;
  const int64_t total = p.batch * p.channels;
#pragma omp parallel for schedule(static) num_threads(p.threads) \
    if (total > 1 && total * p.inner * p.size > 32768)
  for (int64_t nc = 0; nc < total; ++nc) {
    const int64_t n = nc / p.channels, c = nc % p.channels;
    const int64_t first = std::max<int64_t>(0, c - before);
    const int64_t last = std::min<int64_t>(p.channels - 1, c + after);
    for (int64_t i = 0; i < p.inner; ++i) {
      double square_sum = 0.0;
      for (int64_t k = first; k <= last; ++k) {
        const double v = static_cast<double>(E::Load(x[(n * p.channels + k) * p.inner + i]));
        square_sum += v * v;
      }
      const int64_t at = nc * p.inner + i;
      const double out = static_cast<double>(E::Load(x[at])) /
                         std::pow(p.bias + p.alpha / p.size * square_sum, p.beta);
      y[at] = E::Store(static_cast<typename E::Compute>(out));
    }
  }
}

class LrnKernel : public PrimitiveOrLoopKernel<LrnLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    const bool bfloat16_allowed = ctx.node().opset() >= 13;
    if ((x.dtype == DataType::kBfloat16 && !bfloat16_allowed) ||
        !DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() {
          impl_.loop_fn = &RunLrnLoop<kType>;
        })) {
      return UnsupportedType(ctx, 0, bfloat16_allowed ? "float16, float, double, bfloat16"
                                                      : "float16, float, double");
    }
    if (x.dims.size() < 3) {
      return InvalidModel(ctx.Describe() + ": input must have rank >= 3 (N x C x D1 x ...), got rank " +
                          std::to_string(x.dims.size()));
    }
    const ir::Node& node = ctx.node();
    if (node.FindAttribute("size") == nullptr) {
      return InvalidModel(ctx.Describe() + ": attribute 'size' is required");
    }
    ASSIGN_OR_RETURN(impl_.loop.size, node.GetInt("size", 1));
    ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 1e-4f));
    ASSIGN_OR_RETURN(float beta, node.GetFloat("beta", 0.75f));
    ASSIGN_OR_RETURN(float bias, node.GetFloat("bias", 1.0f));
    if (impl_.loop.size < 1) return InvalidModel(ctx.Describe() + ": size must be positive");
    impl_.loop.alpha = alpha;
    impl_.loop.beta = beta;
    impl_.loop.bias = bias;
    impl_.loop.threads = std::max(1, ctx.threads());
    impl_.loop.batch = x.dims[0];
    impl_.loop.channels = x.dims[1];
    impl_.loop.inner = 1;
    for (size_t d = 2; d < x.dims.size(); ++d) impl_.loop.inner *= x.dims[d];
    ctx.SetOutput(0, x.dtype, x.dims);
    if (x.num_elements() == 0) return Status::Ok();
    if (x.dtype == DataType::kFloat && impl_.loop.size % 2 == 1 && x.dims.size() <= 5) {
      TryOneDnn(ctx);
    }
    return Status::Ok();
  }

 private:
  void TryOneDnn(CompileContext& ctx) {
    const TensorDesc& x = ctx.input(0);
    const dnnl::memory::desc src = x.ToMemoryDesc();
    impl_.TryPrimitive([&] {
      // oneDNN's across-channel LRN: src / (k + alpha / size * sum)^beta
      // over [c - (size-1)/2, c + (size-1)/2]: ONNX's formula for odd size.
      dnnl::lrn_forward::desc desc(dnnl::prop_kind::forward_inference,
                                   dnnl::algorithm::lrn_across_channels, src, impl_.loop.size,
                                   static_cast<float>(impl_.loop.alpha),
                                   static_cast<float>(impl_.loop.beta),
                                   static_cast<float>(impl_.loop.bias));
      dnnl::lrn_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
      impl_.runner = PrimitiveRunner(dnnl::lrn_forward(pd));
      impl_.runner.BindInput(DNNL_ARG_SRC, 0, src);
      impl_.runner.BindOutput(DNNL_ARG_DST, 0, pd.dst_desc());
      impl_.runner.BindScratchpad(pd.scratchpad_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
      ctx.AcceptInputLayout(0);
      if (!x.is_plain()) ctx.SetOutput(0, x.dtype, x.dims, pd.dst_desc());
    });
  }
};

}  // namespace

void RegisterNormalizationKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kBatchNormalization, MakeKernel<BatchNormKernel>);
  registry.Register(ir::OpKind::kInstanceNormalization, MakeKernel<InstanceNormKernel>);
  registry.Register(ir::OpKind::kLRN, MakeKernel<LrnKernel>);
}

}  // namespace bnfold::onednn
