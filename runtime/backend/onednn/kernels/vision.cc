// Kernels of the normalization, pooling and vision ops (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file), in four files:
// - here: GridSample, and the family's registration;
// - vision_pool.cc: RoiAlign, MaxRoiPool (pooling over regions) and
//   MaxUnpool;
// - vision_norm.cc: LayerNormalization (oneDNN layer_normalization for
//   float, a loop otherwise), GroupNormalization, MeanVarianceNormalization,
//   LpNormalization;
// - vision_window.cc: LpPool, GlobalLpPool, Col2Im, CenterCropPad.
// All but LayerNormalization's oneDNN path are C++ loops. NonMaxSuppression
// is missing: its output size depends on the data, which the kernel
// contract (output shapes fixed at compile time) cannot express yet.
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

// vision_pool.cc, vision_norm.cc and vision_window.cc.
void RegisterVisionPoolKernels(KernelRegistry& registry);
void RegisterVisionNormKernels(KernelRegistry& registry);
void RegisterVisionWindowKernels(KernelRegistry& registry);
void RegisterVisionNmsKernels(KernelRegistry& registry);

namespace {

// ---------------------------------------------------------------- GridSample

// X [N, C, D1..Dr] sampled at grid [N, O1..Or, r] (normalized coordinates
// in [-1, 1], innermost first: x, y, z); Y [N, C, O1..Or]. As ONNX's
// reference and ONNX Runtime: coordinates are denormalized (align_corners:
// -1 and 1 are the corner pixels' centres, else their outer edges), rounded
// half to even for nearest, moved into range for border (not for cubic)
// and reflection padding, then taps outside the image read 0 (zeros), the nearest edge
// (border) or the reflected pixel (reflection). Linear is N-linear over 2^r
// taps; cubic (r = 2 only) uses 4 x 4 taps with A = -0.75.
enum class GridMode { kNearest, kLinear, kCubic };
enum class GridPadding { kZeros, kBorder, kReflection };

struct GridSampleLoop {
  int64_t batch = 0, channels = 0;
  std::vector<int64_t> in;   // D1..Dr
  std::vector<int64_t> out;  // O1..Or
  GridMode mode = GridMode::kLinear;
  GridPadding padding = GridPadding::kZeros;
  bool align_corners = false;
  int threads = 1;
};

double GridReflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0.0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

void CubicCoefficients(double t, double c[4]) {
  constexpr double A = -0.75;
  const double x0 = t + 1.0, x1 = t, x2 = 1.0 - t, x3 = 2.0 - t;
  c[0] = ((A * x0 - 5.0 * A) * x0 + 8.0 * A) * x0 - 4.0 * A;
  c[1] = ((A + 2.0) * x1 - (A + 3.0)) * x1 * x1 + 1.0;
  c[2] = ((A + 2.0) * x2 - (A + 3.0)) * x2 * x2 + 1.0;
  c[3] = ((A * x3 - 5.0 * A) * x3 + 8.0 * A) * x3 - 4.0 * A;
}

template <DataType kType>
void RunGridSampleLoop(const GridSampleLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  const auto* grid = ctx.input_as<typename E::Storage>(1);
  auto* y = ctx.output_as<typename E::Storage>(0);
  const size_t r = p.in.size();
  int64_t in_plane = 1, out_plane = 1;
  for (size_t d = 0; d < r; ++d) {
    in_plane *= p.in[d];
    out_plane *= p.out[d];
  }
  // Per axis d (outermost first), the image extent and its coordinate range.
  std::vector<double> lo(r), hi(r);
  for (size_t d = 0; d < r; ++d) {
    lo[d] = p.align_corners ? 0.0 : -0.5;
    hi[d] = p.align_corners ? static_cast<double>(p.in[d] - 1) : static_cast<double>(p.in[d]) - 0.5;
  }
  // Offset of tap `idx` (per axis, outermost first) in a plane; -1 reads 0.
  auto tap = [&](const int64_t* idx) -> int64_t {
    int64_t at = 0;
    for (size_t d = 0; d < r; ++d) {
      int64_t i = idx[d];
      if (i < 0 || i >= p.in[d]) {
        if (p.padding == GridPadding::kZeros) return -1;
        if (p.padding == GridPadding::kBorder) {
          i = std::clamp<int64_t>(i, 0, p.in[d] - 1);
        } else {
          i = static_cast<int64_t>(GridReflect(static_cast<double>(i), lo[d], hi[d]));
          i = std::clamp<int64_t>(i, 0, p.in[d] - 1);
        }
      }
      at = at * p.in[d] + i;
    }
    return at;
  };
#pragma omp parallel for schedule(static) num_threads(p.threads) \
    if (p.batch * out_plane > 4096)
  for (int64_t no = 0; no < p.batch * out_plane; ++no) {
    const int64_t n = no / out_plane, o = no % out_plane;
    double coord[3];
    const auto* g = grid + (n * out_plane + o) * static_cast<int64_t>(r);
    for (size_t d = 0; d < r; ++d) {
      // The grid's last axis is innermost-first (x, y, z).
      const double v = static_cast<double>(E::Load(g[r - 1 - d]));
      const double len = static_cast<double>(p.in[d]);
      double c = p.align_corners ? (v + 1.0) / 2.0 * (len - 1.0) : ((v + 1.0) * len - 1.0) / 2.0;
      if (p.mode == GridMode::kNearest) c = std::nearbyint(c);
      if (c < lo[d] || c > hi[d]) {
        // Cubic clamps its taps, not the point (ONNX Runtime's behaviour).
        if (p.padding == GridPadding::kBorder && p.mode != GridMode::kCubic) {
          c = std::clamp(c, 0.0, len - 1.0);
        }
        if (p.padding == GridPadding::kReflection) c = GridReflect(c, lo[d], hi[d]);
      }
      coord[d] = c;
    }
    const auto* xn = x + n * p.channels * in_plane;
    auto* yn = y + n * p.channels * out_plane + o;
    auto pixel = [&](int64_t at, int64_t ch) {
      return at < 0 ? 0.0 : static_cast<double>(E::Load(xn[ch * in_plane + at]));
    };
    if (p.mode == GridMode::kNearest) {
      int64_t idx[3];
      for (size_t d = 0; d < r; ++d) idx[d] = static_cast<int64_t>(coord[d]);
      const int64_t at = tap(idx);
      for (int64_t ch = 0; ch < p.channels; ++ch) {
        yn[ch * out_plane] = E::Store(static_cast<typename E::Compute>(pixel(at, ch)));
      }
    } else if (p.mode == GridMode::kLinear) {
      int64_t base[3];
      double frac[3];
      for (size_t d = 0; d < r; ++d) {
        base[d] = static_cast<int64_t>(std::floor(coord[d]));
        frac[d] = coord[d] - static_cast<double>(base[d]);
      }
      const int corners = 1 << r;
      int64_t taps[8];
      double weights[8];
      for (int k = 0; k < corners; ++k) {
        int64_t idx[3];
        double w = 1.0;
        for (size_t d = 0; d < r; ++d) {
          const bool upper = (k >> (r - 1 - d)) & 1;
          idx[d] = base[d] + (upper ? 1 : 0);
          w *= upper ? frac[d] : 1.0 - frac[d];
        }
        taps[k] = tap(idx);
        weights[k] = w;
      }
      for (int64_t ch = 0; ch < p.channels; ++ch) {
        double v = 0.0;
        for (int k = 0; k < corners; ++k) v += weights[k] * pixel(taps[k], ch);
        yn[ch * out_plane] = E::Store(static_cast<typename E::Compute>(v));
      }
    } else {
      const int64_t y0 = static_cast<int64_t>(std::floor(coord[0])) - 1;
      const int64_t x0 = static_cast<int64_t>(std::floor(coord[1])) - 1;
      double cy[4], cx[4];
      CubicCoefficients(coord[0] - static_cast<double>(y0) - 1.0, cy);
      CubicCoefficients(coord[1] - static_cast<double>(x0) - 1.0, cx);
      int64_t taps[16];
      for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 4; ++j) {
          const int64_t idx[2] = {y0 + i, x0 + j};
          taps[i * 4 + j] = tap(idx);
        }
      }
      for (int64_t ch = 0; ch < p.channels; ++ch) {
        double v = 0.0;
        for (int i = 0; i < 4; ++i) {
          double row = 0.0;
          for (int j = 0; j < 4; ++j) row += cx[j] * pixel(taps[i * 4 + j], ch);
          v += cy[i] * row;
        }
        yn[ch * out_plane] = E::Store(static_cast<typename E::Compute>(v));
      }
    }
  }
}

class GridSampleKernel : public LoopKernel<GridSampleLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const int64_t opset = ctx.node().opset();
    if (ctx.num_inputs() != 2) return InvalidModel(what + "expects inputs X and grid");
    const TensorDesc& x = ctx.input(0);
    const TensorDesc& grid = ctx.input(1);
    const bool bf16 = opset >= 22;
    if ((x.dtype == DataType::kBfloat16 && !bf16) ||
        !DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() {
          fn_ = &RunGridSampleLoop<kType>;
        })) {
      return UnsupportedType(ctx, 0, bf16 ? "float16, float, double, bfloat16" : "float16, float, double");
    }
    if (grid.dtype != x.dtype) return UnsupportedType(ctx, 1, DataTypeName(x.dtype));
    const size_t rank = x.dims.size();
    if (rank < 3 || rank > 5 || (opset < 20 && rank != 4)) {
      return Unsupported(what + "X has shape " + ShapeToString(x.dims) + "; supported: " +
                         (opset < 20 ? "[N, C, H, W]" : "1 to 3 spatial dimensions"));
    }
    const size_t r = rank - 2;
    if (grid.dims.size() != rank || grid.dims[0] != x.dims[0] || grid.dims[rank - 1] != static_cast<int64_t>(r)) {
      return InvalidModel(what + "grid has shape " + ShapeToString(grid.dims) + ", expected [" +
                          std::to_string(x.dims[0]) + ", O1.." + ", " + std::to_string(r) + "]");
    }
    ASSIGN_OR_RETURN(const std::string mode, ctx.node().GetString("mode", opset >= 20 ? "linear" : "bilinear"));
    ASSIGN_OR_RETURN(const std::string padding, ctx.node().GetString("padding_mode", "zeros"));
    ASSIGN_OR_RETURN(const int64_t align, ctx.node().GetInt("align_corners", 0));
    if (mode == "nearest") {
      loop_.mode = GridMode::kNearest;
    } else if (mode == (opset >= 20 ? "linear" : "bilinear")) {
      loop_.mode = GridMode::kLinear;
    } else if (mode == (opset >= 20 ? "cubic" : "bicubic")) {
      loop_.mode = GridMode::kCubic;
      if (r != 2) return Unsupported(what + "cubic mode needs 2 spatial dimensions");
    } else {
      return InvalidModel(what + "mode '" + mode + "' is not valid at opset " + std::to_string(opset));
    }
    if (padding == "zeros") {
      loop_.padding = GridPadding::kZeros;
    } else if (padding == "border") {
      loop_.padding = GridPadding::kBorder;
    } else if (padding == "reflection") {
      loop_.padding = GridPadding::kReflection;
    } else {
      return InvalidModel(what + "padding_mode '" + padding + "' is not zeros, border or reflection");
    }
    loop_.align_corners = align != 0;
    loop_.batch = x.dims[0];
    loop_.channels = x.dims[1];
    loop_.in.assign(x.dims.begin() + 2, x.dims.end());
    loop_.out.assign(grid.dims.begin() + 1, grid.dims.end() - 1);
    loop_.threads = std::max(1, ctx.threads());
    std::vector<int64_t> out_dims = {x.dims[0], x.dims[1]};
    out_dims.insert(out_dims.end(), loop_.out.begin(), loop_.out.end());
    bool empty_image = false;
    for (int64_t d : loop_.in) empty_image |= d == 0;
    if (empty_image && loop_.padding != GridPadding::kZeros) {
      return InvalidModel(what + "X has an empty spatial axis; only zeros padding can sample it");
    }
    ctx.SetOutput(0, x.dtype, out_dims);
    return Status::Ok();
  }
};

}  // namespace

void RegisterVisionKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kGridSample, MakeKernel<GridSampleKernel>);
  RegisterVisionPoolKernels(registry);
  RegisterVisionNormKernels(registry);
  RegisterVisionWindowKernels(registry);
  RegisterVisionNmsKernels(registry);
}

}  // namespace bnfold::onednn
