// Normalization ops of the vision family (see vision.cc):
// LayerNormalization runs on oneDNN's layer_normalization over X viewed as
// (outer, X.dims[axis:]) for float with full-size Scale/B and both or neither
// statistic requested (the variance oneDNN writes becomes InvStdDev after
// it); other types, broadcast Scale/B and a single statistic use a C++ loop
// with double accumulation. GroupNormalization, MeanVarianceNormalization
// and LpNormalization are C++ loops.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Stores `v` as element i of a floating-type buffer (one statistic per row).
void StoreStatistic(void* data, DataType dtype, int64_t i, double v) {
  DispatchElement<kFloatingElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    static_cast<typename E::Storage*>(data)[i] = E::Store(static_cast<typename E::Compute>(v));
  });
}

// ------------------------------------------------------- LayerNormalization

// X viewed as (outer, inner): inner = X.dims[axis:] product. Scale and B
// broadcast to X.dims[axis:] (index maps when they are smaller).
struct LayerNormLoop {
  int64_t outer = 0, inner = 0;
  double epsilon = 1e-5;
  int threads = 1;
  DataType stash_type = DataType::kFloat;  // Mean and InvStdDev
  std::vector<int64_t> scale_index, bias_index;  // empty: element i is i
  bool has_bias = false;
  bool stats_from_variance = false;  // oneDNN path: output 2 holds the variance
};

enum LayerNormOutput { kLnY = 0, kLnMean = 1, kLnInvStdDev = 2 };

// Statistics in double, rounded to the stash type as ONNX's function body
// does (its stage one computes in stash_type), then Y from the rounded ones.
template <DataType kType>
void RunLayerNormLoop(const LayerNormLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  const auto* scale = ctx.input_as<typename E::Storage>(1);
  const auto* bias = p.has_bias ? ctx.input_as<typename E::Storage>(2) : nullptr;
  auto* y = ctx.output_as<typename E::Storage>(kLnY);
  void* mean_out = ctx.output(kLnMean);
  void* inv_out = ctx.output(kLnInvStdDev);
#pragma omp parallel for schedule(static) num_threads(p.threads) \
    if (p.outer > 1 && p.outer * p.inner > 32768)
  for (int64_t r = 0; r < p.outer; ++r) {
    const auto* xr = x + r * p.inner;
    auto* yr = y + r * p.inner;
    double sum = 0.0;
    for (int64_t i = 0; i < p.inner; ++i) sum += static_cast<double>(E::Load(xr[i]));
    const double mean = sum / static_cast<double>(p.inner);
    double squares = 0.0;
    for (int64_t i = 0; i < p.inner; ++i) {
      const double d = static_cast<double>(E::Load(xr[i])) - mean;
      squares += d * d;
    }
    const double inv = 1.0 / std::sqrt(squares / static_cast<double>(p.inner) + p.epsilon);
    if (mean_out) StoreStatistic(mean_out, p.stash_type, r, mean);
    if (inv_out) StoreStatistic(inv_out, p.stash_type, r, inv);
    for (int64_t i = 0; i < p.inner; ++i) {
      const int64_t si = p.scale_index.empty() ? i : p.scale_index[i];
      double v = (static_cast<double>(E::Load(xr[i])) - mean) * inv *
                 static_cast<double>(E::Load(scale[si]));
      if (bias) v += static_cast<double>(E::Load(bias[p.bias_index.empty() ? i : p.bias_index[i]]));
      yr[i] = E::Store(static_cast<typename E::Compute>(v));
    }
  }
}

class LayerNormKernel : public PrimitiveOrLoopKernel<LayerNormLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    if (ctx.num_inputs() < 2 || ctx.num_inputs() > 3 || !ctx.has_input(0) || !ctx.has_input(1)) {
      return InvalidModel(what + "expects inputs X, Scale and an optional B");
    }
    if (ctx.num_outputs() > 3) return InvalidModel(what + "has at most 3 outputs");
    const TensorDesc& x = ctx.input(0);
    if (!DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() {
          impl_.loop_fn = &RunLayerNormLoop<kType>;
        })) {
      return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    }
    const ir::Node& node = ctx.node();
    ASSIGN_OR_RETURN(const int64_t raw_axis, node.GetInt("axis", -1));
    ASSIGN_OR_RETURN(const float epsilon, node.GetFloat("epsilon", 1e-5f));
    ASSIGN_OR_RETURN(const int64_t stash, node.GetInt("stash_type", 1));
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    if (rank < 1) return InvalidModel(what + "X must have rank >= 1");
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, raw_axis, rank));
    if (!(epsilon >= 0.0f)) return InvalidModel(what + "epsilon must be non-negative");
    const DataType stash_type = static_cast<DataType>(stash);
    if (stash_type != DataType::kFloat && stash_type != DataType::kBfloat16 &&
        stash_type != DataType::kDouble && stash_type != DataType::kFloat16) {
      return InvalidModel(what + "stash_type " + std::to_string(stash) +
                          " is not a floating element type");
    }
    LayerNormLoop& p = impl_.loop;
    const std::vector<int64_t> normalized(x.dims.begin() + axis, x.dims.end());
    p.outer = 1;
    for (int64_t d = 0; d < axis; ++d) p.outer *= x.dims[d];
    p.inner = 1;
    for (int64_t d : normalized) p.inner *= d;
    p.epsilon = epsilon;
    p.threads = std::max(1, ctx.threads());
    p.stash_type = stash_type;
    p.has_bias = ctx.num_inputs() == 3 && ctx.has_input(2);
    for (int i = 1; i <= (p.has_bias ? 2 : 1); ++i) {
      const TensorDesc& t = ctx.input(i);
      if (t.dtype != x.dtype) return UnsupportedType(ctx, i, DataTypeName(x.dtype));
      // Unidirectional broadcast to the normalized dims X.dims[axis:].
      bool fits = t.dims.size() <= normalized.size();
      for (size_t k = 0; fits && k < t.dims.size(); ++k) {
        const int64_t want = normalized[normalized.size() - t.dims.size() + k];
        fits = t.dims[k] == want || t.dims[k] == 1;
      }
      if (!fits) {
        return InvalidModel(what + (i == 1 ? "Scale" : "B") + " has shape " +
                            ShapeToString(t.dims) + ", which does not broadcast to X.dims[axis:] " +
                            ShapeToString(normalized));
      }
      std::vector<int64_t>& index = i == 1 ? p.scale_index : p.bias_index;
      index.clear();
      if (t.num_elements() != p.inner) {
        const std::vector<int64_t> strides = BroadcastStrides(t.dims, normalized);
        index.resize(static_cast<size_t>(p.inner));
        std::vector<int64_t> pos(normalized.size(), 0);
        for (int64_t e = 0; e < p.inner; ++e) {
          int64_t at = 0;
          for (size_t k = 0; k < pos.size(); ++k) at += pos[k] * strides[k];
          index[static_cast<size_t>(e)] = at;
          for (size_t k = pos.size(); k-- > 0;) {
            if (++pos[k] < normalized[k]) break;
            pos[k] = 0;
          }
        }
      }
    }
    ctx.SetOutput(kLnY, x.dtype, x.dims);
    std::vector<int64_t> stat_dims = x.dims;
    for (int64_t d = axis; d < rank; ++d) stat_dims[d] = 1;
    for (int i = 1; i < ctx.num_outputs(); ++i) {
      if (ctx.has_output(i)) ctx.SetOutput(i, stash_type, stat_dims);
    }
    if (p.outer == 0) {
      empty_ = true;
      return Status::Ok();
    }
    const bool mean_wanted = ctx.num_outputs() > 1 && ctx.has_output(1);
    const bool inv_wanted = ctx.num_outputs() > 2 && ctx.has_output(2);
    if (x.dtype == DataType::kFloat && stash_type == DataType::kFloat && p.inner > 0 &&
        p.scale_index.empty() && p.bias_index.empty() && mean_wanted == inv_wanted) {
      TryOneDnn(ctx, mean_wanted);
    }
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    if (empty_) return Status::Ok();
    impl_.Execute(ctx);
    if (impl_.use_primitive && impl_.loop.stats_from_variance) {
      // oneDNN wrote the variance where InvStdDev goes.
      float* inv = ctx.output_as<float>(kLnInvStdDev);
      const float eps = static_cast<float>(impl_.loop.epsilon);
      for (int64_t r = 0; r < impl_.loop.outer; ++r) inv[r] = 1.0f / std::sqrt(inv[r] + eps);
    }
    return Status::Ok();
  }

 private:
  // oneDNN's layer_normalization over (outer, inner); with the statistics
  // requested it runs forward_training, writing the mean to Mean and the
  // variance to InvStdDev (turned into 1/sqrt(var + eps) after it).
  void TryOneDnn(CompileContext& ctx, bool stats) {
    LayerNormLoop& p = impl_.loop;
    const dnnl::memory::desc src = PlainDesc(DataType::kFloat, {p.outer, p.inner});
    const dnnl::memory::desc stat_md = PlainDesc(DataType::kFloat, {p.outer});
    const dnnl::memory::desc channel_md = PlainDesc(DataType::kFloat, {p.inner});
    const bool bias = p.has_bias;
    p.stats_from_variance = impl_.TryPrimitive([&] {
      auto flags = dnnl::normalization_flags::use_scale;
      if (bias) flags = flags | dnnl::normalization_flags::use_shift;
      dnnl::layer_normalization_forward::desc desc(
          stats ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, src,
          stat_md, static_cast<float>(p.epsilon), flags);
      dnnl::layer_normalization_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(),
                                                           ctx.engine());
      impl_.runner = PrimitiveRunner(dnnl::layer_normalization_forward(pd));
      impl_.runner.BindInput(DNNL_ARG_SRC, 0, src);
      impl_.runner.BindInput(DNNL_ARG_SCALE, 1, channel_md);
      if (bias) impl_.runner.BindInput(DNNL_ARG_SHIFT, 2, channel_md);
      impl_.runner.BindOutput(DNNL_ARG_DST, kLnY, src);
      if (stats) {
        impl_.runner.BindOutput(DNNL_ARG_MEAN, kLnMean, stat_md);
        impl_.runner.BindOutput(DNNL_ARG_VARIANCE, kLnInvStdDev, stat_md);
      }
      impl_.runner.BindScratchpad(pd.scratchpad_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
    }) && stats;
  }
};

// ------------------------------------------------ MeanVarianceNormalization

// Y = (X - mean) / (sqrt(var) + 1e-9) over `axes` (default N, H, W), as
// ONNX's function body computes it (population variance E[x^2] - E[x]^2).
struct MvnLoop {
  std::vector<int64_t> dims;
  std::vector<bool> reduced;
  int threads = 1;
};

template <DataType kType>
void RunMvnLoop(const MvnLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  auto* y = ctx.output_as<typename E::Storage>(0);
  // Each kept-axes position is one group: its elements are the reduced
  // positions. Walk every element once, grouping by the kept coordinates.
  const size_t rank = p.dims.size();
  int64_t total = 1, groups = 1;
  for (size_t d = 0; d < rank; ++d) {
    total *= p.dims[d];
    if (!p.reduced[d]) groups *= p.dims[d];
  }
  if (total == 0) return;
  const int64_t per_group = total / groups;
  std::vector<int64_t> group_of(static_cast<size_t>(total));
  std::vector<int64_t> pos(rank, 0);
  for (int64_t e = 0; e < total; ++e) {
    int64_t g = 0;
    for (size_t d = 0; d < rank; ++d) {
      if (!p.reduced[d]) g = g * p.dims[d] + pos[d];
    }
    group_of[static_cast<size_t>(e)] = g;
    for (size_t d = rank; d-- > 0;) {
      if (++pos[d] < p.dims[d]) break;
      pos[d] = 0;
    }
  }
  std::vector<double> sum(static_cast<size_t>(groups), 0.0), squares(sum);
  for (int64_t e = 0; e < total; ++e) {
    const double v = static_cast<double>(E::Load(x[e]));
    sum[group_of[e]] += v;
    squares[group_of[e]] += v * v;
  }
  for (int64_t g = 0; g < groups; ++g) {
    const double mean = sum[g] / per_group;
    const double var = std::max(0.0, squares[g] / per_group - mean * mean);
    sum[g] = mean;
    squares[g] = std::sqrt(var) + 1e-9;
  }
  for (int64_t e = 0; e < total; ++e) {
    const int64_t g = group_of[e];
    y[e] = E::Store(static_cast<typename E::Compute>(
        (static_cast<double>(E::Load(x[e])) - sum[g]) / squares[g]));
  }
}

class MvnKernel : public LoopKernel<MvnLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    const bool bfloat16_allowed = ctx.node().opset() >= 13;
    if ((x.dtype == DataType::kBfloat16 && !bfloat16_allowed) ||
        !DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() {
          fn_ = &RunMvnLoop<kType>;
        })) {
      return UnsupportedType(ctx, 0, bfloat16_allowed ? "float16, float, double, bfloat16"
                                                      : "float16, float, double");
    }
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    ASSIGN_OR_RETURN(const std::vector<int64_t> axes,
                     ctx.node().GetInts("axes", std::vector<int64_t>{0, 2, 3}));
    loop_.dims = x.dims;
    loop_.reduced.assign(x.dims.size(), false);
    for (int64_t a : axes) {
      ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, a, rank));
      if (loop_.reduced[axis]) {
        return InvalidModel(ctx.Describe() + ": axis " + std::to_string(a) + " is repeated");
      }
      loop_.reduced[axis] = true;
    }
    loop_.threads = std::max(1, ctx.threads());
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }
};


// ------------------------------------------ GroupNormalization, LpNormalization

// GroupNormalization: X [N, C, ...] normalised per (n, group of C/G
// channels) with double statistics; scale and bias per group (opset 18) or
// per channel (opset 21).
struct GroupNormLoop {
  int64_t batch = 0, channels = 0, groups = 1, inner = 0;
  double epsilon = 1e-5;
  bool per_channel = true;
};

template <DataType kType>
void RunGroupNorm(const GroupNormLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  const auto* scale = ctx.input_as<typename E::Storage>(1);
  const auto* bias = ctx.input_as<typename E::Storage>(2);
  auto* y = ctx.output_as<typename E::Storage>(0);
  const int64_t per_group = p.channels / p.groups, span = per_group * p.inner;
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t g = 0; g < p.groups; ++g) {
      const int64_t base = (n * p.channels + g * per_group) * p.inner;
      double sum = 0.0, squares = 0.0;
      for (int64_t i = 0; i < span; ++i) sum += static_cast<double>(E::Load(x[base + i]));
      const double mean = span ? sum / static_cast<double>(span) : 0.0;
      for (int64_t i = 0; i < span; ++i) {
        const double d = static_cast<double>(E::Load(x[base + i])) - mean;
        squares += d * d;
      }
      const double inv = 1.0 / std::sqrt((span ? squares / static_cast<double>(span) : 0.0) + p.epsilon);
      for (int64_t c = 0; c < per_group; ++c) {
        const int64_t k = p.per_channel ? g * per_group + c : g;
        const double s = static_cast<double>(E::Load(scale[k])), b = static_cast<double>(E::Load(bias[k]));
        for (int64_t i = 0; i < p.inner; ++i) {
          const int64_t at = base + c * p.inner + i;
          y[at] = E::Store(static_cast<typename E::Compute>((static_cast<double>(E::Load(x[at])) - mean) * inv * s + b));
        }
      }
    }
  }
}

class GroupNormKernel : public LoopKernel<GroupNormLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const ir::Node& node = ctx.node();
    if (ctx.num_inputs() != 3 || !ctx.has_input(1) || !ctx.has_input(2)) {
      return InvalidModel(what + "expects inputs X, scale, bias");
    }
    const TensorDesc& x = ctx.input(0);
    if (!DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() { fn_ = &RunGroupNorm<kType>; })) {
      return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    }
    if (x.dims.size() < 2) return InvalidModel(what + "X must have rank >= 2 (N x C x ...)");
    if (node.FindAttribute("num_groups") == nullptr) return InvalidModel(what + "attribute 'num_groups' is required");
    ASSIGN_OR_RETURN(loop_.groups, node.GetInt("num_groups", 1));
    ASSIGN_OR_RETURN(const float epsilon, node.GetFloat("epsilon", 1e-5f));
    loop_.batch = x.dims[0];
    loop_.channels = x.dims[1];
    if (loop_.groups < 1 || loop_.channels % loop_.groups != 0) {
      return InvalidModel(what + "num_groups " + std::to_string(loop_.groups) +
                          " does not divide the " + std::to_string(loop_.channels) + " channels");
    }
    loop_.per_channel = node.opset() >= 21;
    const int64_t params = loop_.per_channel ? loop_.channels : loop_.groups;
    for (int i = 1; i < 3; ++i) {
      if (ctx.input(i).dtype != x.dtype) return UnsupportedType(ctx, i, DataTypeName(x.dtype));
      if (ctx.input(i).dims != std::vector<int64_t>{params}) {
        return InvalidModel(what + (i == 1 ? "scale" : "bias") + " has shape " +
                            ShapeToString(ctx.input(i).dims) + ", expected [" + std::to_string(params) +
                            "] (" + (loop_.per_channel ? "one per channel" : "one per group") + ")");
      }
    }
    loop_.epsilon = epsilon;
    loop_.inner = 1;
    for (size_t d = 2; d < x.dims.size(); ++d) loop_.inner *= x.dims[d];
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }
};

// LpNormalization: x / ||x||_p along `axis` (p 1 or 2); a zero norm leaves
// the (zero) values as they are.
struct LpNormLoop {
  int64_t outer = 0, len = 0, inner = 0;
  int64_t p = 2;
};

template <DataType kType>
void RunLpNorm(const LpNormLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  auto* y = ctx.output_as<typename E::Storage>(0);
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < p.inner; ++i) {
      const int64_t base = o * p.len * p.inner + i;
      double norm = 0.0;
      for (int64_t k = 0; k < p.len; ++k) {
        const double v = static_cast<double>(E::Load(x[base + k * p.inner]));
        norm += p.p == 1 ? std::abs(v) : v * v;
      }
      if (p.p == 2) norm = std::sqrt(norm);
      for (int64_t k = 0; k < p.len; ++k) {
        const double v = static_cast<double>(E::Load(x[base + k * p.inner]));
        y[base + k * p.inner] = E::Store(static_cast<typename E::Compute>(norm == 0.0 ? v : v / norm));
      }
    }
  }
}

class LpNormKernel : public LoopKernel<LpNormLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    if (!DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() { fn_ = &RunLpNorm<kType>; })) {
      return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    }
    ASSIGN_OR_RETURN(const int64_t raw_axis, ctx.node().GetInt("axis", -1));
    ASSIGN_OR_RETURN(loop_.p, ctx.node().GetInt("p", 2));
    if (loop_.p != 1 && loop_.p != 2) return InvalidModel(ctx.Describe() + ": p must be 1 or 2");
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    if (rank < 1) return InvalidModel(ctx.Describe() + ": input must have rank >= 1");
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, raw_axis, rank));
    loop_.outer = 1;
    loop_.inner = 1;
    for (int64_t d = 0; d < axis; ++d) loop_.outer *= x.dims[d];
    for (int64_t d = axis + 1; d < rank; ++d) loop_.inner *= x.dims[d];
    loop_.len = x.dims[axis];
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }
};

}  // namespace

void RegisterVisionNormKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kLayerNormalization, MakeKernel<LayerNormKernel>);
  registry.Register(ir::OpKind::kMeanVarianceNormalization, MakeKernel<MvnKernel>);
  registry.Register(ir::OpKind::kGroupNormalization, MakeKernel<GroupNormKernel>);
  registry.Register(ir::OpKind::kLpNormalization, MakeKernel<LpNormKernel>);
}

}  // namespace bnfold::onednn
