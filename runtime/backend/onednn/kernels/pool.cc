// Pooling: MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool.
//
// float32 (and int8/uint8 MaxPool) runs on oneDNN's pooling_v2 primitive in
// the layout the input arrives in, so blocked activations stay blocked
// between convolutions. The ONNX output shape is computed here per spec and
// oneDNN is given the right padding that yields exactly that shape:
// ceil_mode extends the right padding, which oneDNN's max and
// exclude-padding average ignore. What oneDNN cannot express runs as a C++
// loop on the plain layout: the Indices output, count_include_pad with a
// ceil_mode-extended last window, the other element types, shapes oneDNN
// refuses.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

enum class PoolKind { kMax, kAverage };

// Pooling over the spatial dims, per ONNX: explicit pads, output sizes.
struct PoolGeometry {
  std::vector<int64_t> in, out, kernel, strides, dilations, pad_begin, pad_end;
};

int64_t EffectiveKernel(int64_t kernel, int64_t dilation) { return (kernel - 1) * dilation + 1; }

// Reads kernel_shape/strides/dilations/pads/auto_pad/ceil_mode and computes
// the ONNX output size of each spatial dim.
Status ComputeGeometry(const CompileContext& ctx, const std::vector<int64_t>& spatial_in,
                       bool allow_dilations, bool allow_ceil_mode, PoolGeometry* g) {
  const ir::Node& node = ctx.node();
  const size_t n = spatial_in.size();
  const std::vector<int64_t> ones(n, 1);
  ASSIGN_OR_RETURN(g->kernel, node.GetInts("kernel_shape", {}));
  ASSIGN_OR_RETURN(g->strides, node.GetInts("strides", ones));
  ASSIGN_OR_RETURN(g->dilations, node.GetInts("dilations", ones));
  ASSIGN_OR_RETURN(std::vector<int64_t> pads, node.GetInts("pads", std::vector<int64_t>(2 * n, 0)));
  ASSIGN_OR_RETURN(std::string auto_pad, node.GetString("auto_pad", "NOTSET"));
  ASSIGN_OR_RETURN(int64_t ceil_mode, node.GetInt("ceil_mode", 0));
  const std::string what = ctx.Describe() + ": ";
  if (g->kernel.size() != n) {
    return InvalidModel(what + "kernel_shape has " + std::to_string(g->kernel.size()) +
                        " values for " + std::to_string(n) + " spatial dims");
  }
  if (g->strides.size() != n || g->dilations.size() != n || pads.size() != 2 * n) {
    return InvalidModel(what + "strides/dilations need " + std::to_string(n) +
                        " values and pads " + std::to_string(2 * n));
  }
  if (!allow_dilations && g->dilations != ones) {
    return InvalidModel(what + "dilations are not an attribute of this op at opset " +
                        std::to_string(node.opset()));
  }
  if (!allow_ceil_mode && ceil_mode != 0) {
    return InvalidModel(what + "ceil_mode is not an attribute of this op at opset " +
                        std::to_string(node.opset()));
  }
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER") {
    return InvalidModel(what + "unknown auto_pad '" + auto_pad + "'");
  }
  g->in = spatial_in;
  g->out.assign(n, 0);
  g->pad_begin.assign(pads.begin(), pads.begin() + n);
  g->pad_end.assign(pads.begin() + n, pads.end());
  for (size_t d = 0; d < n; ++d) {
    const int64_t k = g->kernel[d], s = g->strides[d], dil = g->dilations[d];
    if (k < 1 || s < 1 || dil < 1 || g->pad_begin[d] < 0 || g->pad_end[d] < 0) {
      return InvalidModel(what + "kernel_shape, strides and dilations must be positive and "
                          "pads non-negative");
    }
    if (k > (int64_t{1} << 32) || dil > (int64_t{1} << 32)) {
      return InvalidModel(what + "kernel_shape/dilations too large");
    }
    const int64_t effective = EffectiveKernel(k, dil);
    const int64_t in = spatial_in[d];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g->out[d] = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (g->out[d] - 1) * s + effective - in);
      const int64_t small = total / 2, big = total - small;
      g->pad_begin[d] = auto_pad == "SAME_UPPER" ? small : big;
      g->pad_end[d] = auto_pad == "SAME_UPPER" ? big : small;
      continue;
    }
    if (auto_pad == "VALID") g->pad_begin[d] = g->pad_end[d] = 0;
    const int64_t span = in + g->pad_begin[d] + g->pad_end[d] - effective;
    if (span < 0) {
      return InvalidModel(what + "the pooling window (" + std::to_string(effective) +
                          ") is larger than the padded input (" +
                          std::to_string(in + g->pad_begin[d] + g->pad_end[d]) + ") on spatial dim " +
                          std::to_string(d));
    }
    int64_t out = span / s + 1;
    if (ceil_mode && span % s != 0) {
      ++out;
      // A last window starting in the right padding is dropped (PyTorch,
      // ONNX Runtime, and the ONNX reference since 1.16).
      if ((out - 1) * s >= in + g->pad_begin[d]) --out;
    }
    g->out[d] = out;
  }
  return Status::Ok();
}

// The C++ loop's view: up to three spatial dims, front-padded with unit dims
// so one loop nest serves 1-D, 2-D and 3-D pooling.
struct PoolLoop {
  PoolKind kind = PoolKind::kMax;
  int64_t planes = 0;  // N * C
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1}, strides{1, 1, 1},
      dilations{1, 1, 1}, pad_begin{0, 0, 0}, pad_end{0, 0, 0};
  bool count_include_pad = false;
  bool column_major_indices = false;  // MaxPool storage_order = 1
  int threads = 1;                    // the session's thread count
};

template <DataType kType>
void RunPoolLoop(const PoolLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  using Compute = typename E::Compute;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  auto* y = ctx.output_as<typename E::Storage>(0);
  int64_t* indices = ctx.output_as<int64_t>(1);
  const int64_t in_size = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_size = p.out[0] * p.out[1] * p.out[2];
  const Compute lowest = std::numeric_limits<Compute>::has_infinity
                             ? -std::numeric_limits<Compute>::infinity()
                             : std::numeric_limits<Compute>::lowest();
  const bool parallel = p.planes > 1 && p.planes * out_size * p.kernel[0] * p.kernel[1] * p.kernel[2] > 32768;
#pragma omp parallel for schedule(static) num_threads(p.threads) if (parallel)
  for (int64_t plane = 0; plane < p.planes; ++plane) {
    const auto* xp = x + plane * in_size;
    auto* yp = y + plane * out_size;
    int64_t o = 0;
    for (int64_t o0 = 0; o0 < p.out[0]; ++o0) {
      for (int64_t o1 = 0; o1 < p.out[1]; ++o1) {
        for (int64_t o2 = 0; o2 < p.out[2]; ++o2, ++o) {
          const std::array<int64_t, 3> pos{o0, o1, o2};
          // Per dim: window start, the kernel taps inside the input, and the
          // taps inside the explicitly padded input (count_include_pad).
          std::array<int64_t, 3> start, lo, hi;
          int64_t padded_count = 1;
          for (int d = 0; d < 3; ++d) {
            start[d] = pos[d] * p.strides[d] - p.pad_begin[d];
            const int64_t dil = p.dilations[d];
            lo[d] = start[d] >= 0 ? 0 : (-start[d] + dil - 1) / dil;
            const int64_t limit = p.in[d] - start[d];  // taps with offset < limit are inside
            hi[d] = limit <= 0 ? 0 : std::min(p.kernel[d], (limit + dil - 1) / dil);
            const int64_t padded_limit = p.in[d] + p.pad_end[d] - start[d];
            padded_count *= std::clamp<int64_t>((padded_limit + dil - 1) / dil, 0, p.kernel[d]);
          }
          if (p.kind == PoolKind::kMax) {
            Compute best = lowest;
            int64_t best_at = -1;
            for (int64_t k0 = lo[0]; k0 < hi[0]; ++k0) {
              const int64_t i0 = start[0] + k0 * p.dilations[0];
              for (int64_t k1 = lo[1]; k1 < hi[1]; ++k1) {
                const int64_t i1 = start[1] + k1 * p.dilations[1];
                for (int64_t k2 = lo[2]; k2 < hi[2]; ++k2) {
                  const int64_t i2 = start[2] + k2 * p.dilations[2];
                  const int64_t at = (i0 * p.in[1] + i1) * p.in[2] + i2;
                  const Compute v = E::Load(xp[at]);
                  if (best_at < 0 || v > best) {
                    best = v;
                    best_at = p.column_major_indices ? i0 + p.in[0] * (i1 + p.in[1] * i2) : at;
                  }
                }
              }
            }
            yp[o] = E::Store(best);
            if (indices) indices[plane * out_size + o] = best_at < 0 ? -1 : plane * in_size + best_at;
          } else {
            double sum = 0.0;
            int64_t count = 0;
            for (int64_t k0 = lo[0]; k0 < hi[0]; ++k0) {
              const int64_t i0 = start[0] + k0 * p.dilations[0];
              for (int64_t k1 = lo[1]; k1 < hi[1]; ++k1) {
                const int64_t i1 = start[1] + k1 * p.dilations[1];
                for (int64_t k2 = lo[2]; k2 < hi[2]; ++k2) {
                  const int64_t i2 = start[2] + k2 * p.dilations[2];
                  sum += static_cast<double>(E::Load(xp[(i0 * p.in[1] + i1) * p.in[2] + i2]));
                  ++count;
                }
              }
            }
            const int64_t divisor = p.count_include_pad ? padded_count : count;
            yp[o] = E::Store(static_cast<Compute>(divisor > 0 ? sum / divisor : 0.0));
          }
        }
      }
    }
  }
}

class PoolKernel : public PrimitiveOrLoopKernel<PoolLoop> {
 public:
  PoolKernel(PoolKind kind, bool global) : kind_(kind), global_(global) {}

  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    const int64_t opset = ctx.node().opset();
    RETURN_IF_ERROR(CheckType(ctx, x.dtype, opset));
    const size_t min_rank = global_ ? 2 : 3;
    if (x.dims.size() < min_rank) {
      return InvalidModel(ctx.Describe() + ": input has rank " + std::to_string(x.dims.size()) +
                          ", expected N x C x D1 x ... (rank >= " + std::to_string(min_rank) + ")");
    }
    const std::vector<int64_t> spatial_in(x.dims.begin() + 2, x.dims.end());
    PoolGeometry g;
    bool count_include_pad = false;
    int64_t storage_order = 0;
    if (global_) {
      g.in = g.kernel = spatial_in;
      g.out = g.strides = g.dilations = std::vector<int64_t>(spatial_in.size(), 1);
      g.pad_begin = g.pad_end = std::vector<int64_t>(spatial_in.size(), 0);
      for (int64_t d : spatial_in) {
        if (d == 0) return InvalidModel(ctx.Describe() + ": global pooling over an empty dim");
      }
    } else {
      const bool dilations = kind_ == PoolKind::kMax ? opset >= 10 : opset >= 19;
      RETURN_IF_ERROR(ComputeGeometry(ctx, spatial_in, dilations, opset >= 10, &g));
      if (kind_ == PoolKind::kAverage && opset >= 7) {
        ASSIGN_OR_RETURN(int64_t include, ctx.node().GetInt("count_include_pad", 0));
        count_include_pad = include != 0;
      }
      if (kind_ == PoolKind::kMax && opset >= 8) {
        ASSIGN_OR_RETURN(storage_order, ctx.node().GetInt("storage_order", 0));
        if (storage_order != 0 && storage_order != 1) {
          return InvalidModel(ctx.Describe() + ": storage_order must be 0 or 1");
        }
      }
    }
    const bool want_indices = kind_ == PoolKind::kMax && ctx.has_output(1);
    if (want_indices && opset < 8) {
      return InvalidModel(ctx.Describe() + ": the Indices output exists from opset 8");
    }
    std::vector<int64_t> out_dims{x.dims[0], x.dims[1]};
    out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
    int64_t out_elements = 1;
    for (int64_t d : out_dims) out_elements *= d;
    if (out_elements == 0) {
      empty_ = true;
      ctx.SetOutput(0, x.dtype, out_dims);
      if (want_indices) ctx.SetOutput(1, DataType::kInt64, out_dims);
      return Status::Ok();
    }

    // oneDNN's padding: ONNX's left padding, and the right padding that makes
    // oneDNN's floor formula give the ONNX output size.
    std::vector<int64_t> onednn_pad_end(g.out.size());
    bool window_extended = false;
    // oneDNN visits every tap of a window, padding included, while the C++
    // loop visits only the taps inside the input: a window longer than its
    // input (kernel_shape 2^31 with auto_pad SAME pads by 2^30 on each
    // side) would take oneDNN hours for a few outputs.
    bool window_within_input = true;
    for (size_t d = 0; d < g.out.size(); ++d) {
      const int64_t needed = (g.out[d] - 1) * g.strides[d] +
                             EffectiveKernel(g.kernel[d], g.dilations[d]) - g.in[d] - g.pad_begin[d];
      onednn_pad_end[d] = std::max<int64_t>(needed, 0);
      window_extended = window_extended || needed > g.pad_end[d];
      window_within_input = window_within_input && g.kernel[d] <= g.in[d];
    }
    const bool onednn_type = x.dtype == DataType::kFloat ||
                             (kind_ == PoolKind::kMax &&
                              (x.dtype == DataType::kInt8 || x.dtype == DataType::kUint8));
    if (onednn_type && !want_indices && !(count_include_pad && window_extended) &&
        window_within_input && x.dims.size() <= 5) {
      if (TryOneDnn(ctx, g, onednn_pad_end, count_include_pad, out_dims)) return Status::Ok();
    }

    // The C++ loop on the plain layout.
    impl_.loop.kind = kind_;
    impl_.loop.planes = x.dims[0] * x.dims[1];
    impl_.loop.count_include_pad = count_include_pad;
    impl_.loop.column_major_indices = storage_order == 1;
    impl_.loop.threads = std::max(1, ctx.threads());
    if (global_ && g.in.size() > 3) {
      // Global pooling ignores the spatial structure: one flat window.
      int64_t size = 1;
      for (int64_t d : g.in) size *= d;
      g = PoolGeometry{{size}, {1}, {size}, {1}, {1}, {0}, {0}};
    }
    if (g.in.size() > 3) {
      return Unsupported(ctx.Describe() + ": pooling over " + std::to_string(g.in.size()) +
                         " spatial dims (at most 3 are supported)");
    }
    const size_t offset = 3 - g.in.size();
    for (size_t d = 0; d < g.in.size(); ++d) {
      impl_.loop.in[offset + d] = g.in[d];
      impl_.loop.out[offset + d] = g.out[d];
      impl_.loop.kernel[offset + d] = g.kernel[d];
      impl_.loop.strides[offset + d] = g.strides[d];
      impl_.loop.dilations[offset + d] = g.dilations[d];
      impl_.loop.pad_begin[offset + d] = g.pad_begin[d];
      impl_.loop.pad_end[offset + d] = g.pad_end[d];
    }
    if (x.dtype == DataType::kInt8) {
      impl_.loop_fn = &RunPoolLoop<DataType::kInt8>;
    } else if (x.dtype == DataType::kUint8) {
      impl_.loop_fn = &RunPoolLoop<DataType::kUint8>;
    } else {
      DispatchElement<kFloatingElements>(x.dtype,
                              [&]<DataType kType>() { impl_.loop_fn = &RunPoolLoop<kType>; });
    }
    ctx.SetOutput(0, x.dtype, out_dims);
    if (want_indices) ctx.SetOutput(1, DataType::kInt64, out_dims);
    return Status::Ok();
  }

 private:
  Status CheckType(const CompileContext& ctx, DataType dtype, int64_t opset) const {
    switch (dtype) {
      case DataType::kFloat:
      case DataType::kDouble:
      case DataType::kFloat16: return Status::Ok();
      case DataType::kBfloat16:
        if (opset >= 22) return Status::Ok();
        break;
      case DataType::kInt8:
      case DataType::kUint8:
        if (kind_ == PoolKind::kMax && !global_ && opset >= 12) return Status::Ok();
        break;
      default: break;
    }
    const bool int8 = kind_ == PoolKind::kMax && !global_ && opset >= 12;
    return UnsupportedType(ctx, 0,
                           std::string("float16, float, double") + (opset >= 22 ? ", bfloat16" : "") +
                               (int8 ? ", int8, uint8" : ""));
  }

  // Builds the oneDNN primitive; false (and nothing declared) when oneDNN
  // refuses this configuration.
  bool TryOneDnn(CompileContext& ctx, const PoolGeometry& g, const std::vector<int64_t>& pad_end,
                 bool count_include_pad, const std::vector<int64_t>& out_dims) {
    const TensorDesc& x = ctx.input(0);
    const dnnl::memory::desc src = x.ToMemoryDesc();
    const dnnl::memory::desc dst =
        x.is_plain() ? PlainDesc(x.dtype, out_dims)
                     : dnnl::memory::desc(dnnl::memory::dims(out_dims.begin(), out_dims.end()),
                                          ToDnnlType(x.dtype), dnnl::memory::format_tag::any);
    dnnl::memory::dims dilations;
    for (int64_t d : g.dilations) dilations.push_back(d - 1);  // oneDNN counts gaps
    const dnnl::algorithm algorithm =
        kind_ == PoolKind::kMax ? dnnl::algorithm::pooling_max
        : count_include_pad     ? dnnl::algorithm::pooling_avg_include_padding
                                : dnnl::algorithm::pooling_avg_exclude_padding;
    return impl_.TryPrimitive([&] {
      dnnl::pooling_v2_forward::desc desc(
          dnnl::prop_kind::forward_inference, algorithm, src, dst,
          dnnl::memory::dims(g.strides.begin(), g.strides.end()),
          dnnl::memory::dims(g.kernel.begin(), g.kernel.end()), dilations,
          dnnl::memory::dims(g.pad_begin.begin(), g.pad_begin.end()),
          dnnl::memory::dims(pad_end.begin(), pad_end.end()));
      dnnl::pooling_v2_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
      impl_.runner = PrimitiveRunner(dnnl::pooling_v2_forward(pd));
      impl_.runner.BindInput(DNNL_ARG_SRC, 0, src);
      impl_.runner.BindOutput(DNNL_ARG_DST, 0, pd.dst_desc());
      impl_.runner.BindScratchpad(pd.scratchpad_desc());
      ctx.AcceptInputLayout(0);
      ctx.SetOutput(0, x.dtype, out_dims, x.is_plain() ? dnnl::memory::desc() : pd.dst_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
    });
  }

  PoolKind kind_;
  bool global_;
};

std::unique_ptr<Kernel> MakeMaxPool() { return std::make_unique<PoolKernel>(PoolKind::kMax, false); }
std::unique_ptr<Kernel> MakeAveragePool() {
  return std::make_unique<PoolKernel>(PoolKind::kAverage, false);
}
std::unique_ptr<Kernel> MakeGlobalMaxPool() {
  return std::make_unique<PoolKernel>(PoolKind::kMax, true);
}
std::unique_ptr<Kernel> MakeGlobalAveragePool() {
  return std::make_unique<PoolKernel>(PoolKind::kAverage, true);
}

}  // namespace

void RegisterPoolKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kMaxPool, MakeMaxPool);
  registry.Register(ir::OpKind::kAveragePool, MakeAveragePool);
  registry.Register(ir::OpKind::kGlobalMaxPool, MakeGlobalMaxPool);
  registry.Register(ir::OpKind::kGlobalAveragePool, MakeGlobalAveragePool);
}

}  // namespace bnfold::onednn
