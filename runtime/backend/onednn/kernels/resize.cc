// Resize (opsets 10-19) and Upsample (7-10): nearest, N-linear and cubic
// interpolation with every coordinate transformation mode of the spec.
//
// Nearest is an index-table copy (axis_map.h), so it moves any dtype as raw
// bytes. Linear and cubic are separable: one pass per resized axis, each
// output row a weighted sum of at most 4 input rows, intermediates in the
// scratchpad in float (double for double and 32/64-bit integers). Per-axis
// tap tables are built at compile time when scales/sizes/roi are constants;
// when the model feeds them, the declared output shape fixes the plan and
// every run rebuilds the tables in its own state (see shape_operand.h).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <type_traits>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/half.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

constexpr int64_t kParallelElements = int64_t{1} << 14;

enum class Mode { kNearest, kLinear, kCubic };
enum class Coordinates {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
// kSimple is Resize-10/Upsample: floor when upsampling, ceil when
// downsampling (what those opsets' implementations did).
enum class Rounding { kSimple, kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
enum class AspectPolicy { kStretch, kNotLarger, kNotSmaller };

// One axis: input and output lengths, the scale the coordinates use, and
// the crop box (tf_crop_and_resize). `resized` is in * scale before
// flooring: align_corners and tf_crop_and_resize divide by it (as ONNX's
// reference implementation does when scales are given).
struct AxisGeometry {
  int64_t in = 0, out = 0;
  double scale = 1.0, resized = 0.0, roi_start = 0.0, roi_end = 1.0;
};

// Interpolation taps of one axis: for output index j, taps [j*T, (j+1)*T)
// of (input index, weight); `outside` marks outputs that take the
// extrapolation value.
struct AxisTaps {
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<uint8_t> outside;
  bool identity = false;
};

// Everything Execute reads that may depend on run-time operands.
struct ResizeTables : KernelState {
  std::vector<std::vector<int64_t>> nearest;  // per axis, element offsets
  std::vector<int64_t*> nearest_pointers;
  AxisMapCopy copy;
  std::vector<AxisTaps> taps;  // per interpolation pass axis
};

// Storage types for float16/bfloat16 so the templates tell them apart.
struct Half16 {
  uint16_t bits;
};
struct Brain16 {
  uint16_t bits;
};

template <typename Acc, typename S>
inline Acc Load(S v) {
  if constexpr (std::is_same_v<S, Half16>) return static_cast<Acc>(HalfToFloat(v.bits));
  else if constexpr (std::is_same_v<S, Brain16>) return static_cast<Acc>(Bfloat16ToFloat(v.bits));
  else return static_cast<Acc>(v);
}

template <typename D, typename Acc>
inline D Store(Acc v) {
  if constexpr (std::is_same_v<D, Half16>) {
    return Half16{FloatToHalf(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<D, Brain16>) {
    return Brain16{FloatToBfloat16(static_cast<float>(v))};
  } else if constexpr (std::is_floating_point_v<D>) {
    return static_cast<D>(v);
  } else {
    // Integers: round to nearest, saturate.
    const double r = std::nearbyint(static_cast<double>(v));
    if (std::isnan(r)) return D{0};
    if (r <= static_cast<double>(std::numeric_limits<D>::lowest())) {
      return std::numeric_limits<D>::lowest();
    }
    if (r >= static_cast<double>(std::numeric_limits<D>::max())) {
      return std::numeric_limits<D>::max();
    }
    return static_cast<D>(r);
  }
}

// The cubic convolution kernel with parameter A at distance t.
double CubicWeight(double t, double a) {
  t = std::fabs(t);
  if (t <= 1.0) return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
  if (t < 2.0) return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
  return 0.0;
}

// Output rows [first, end) of one separable pass: src viewed as
// [outer, in_len, inner], dst as [outer, out_len, inner]; output row (o, j)
// is the weighted sum of N input rows of block o.
template <int N, typename S, typename D, typename Acc>
void InterpolateRows(const S* src, D* dst, int64_t in_len, int64_t out_len, int64_t inner,
                     const AxisTaps& taps, D fill, int64_t first, int64_t end) {
  int64_t o = first / out_len, j = first % out_len;
  for (int64_t r = first; r < end; ++r) {
    D* d = dst + r * inner;
    if (taps.outside[j]) {
      std::fill(d, d + inner, fill);
    } else {
      const S* block = src + o * in_len * inner;
      const S* rows[N];
      Acc w[N];
      for (int t = 0; t < N; ++t) {
        rows[t] = block + taps.index[j * N + t] * inner;
        w[t] = static_cast<Acc>(taps.weight[j * N + t]);
      }
      for (int64_t i = 0; i < inner; ++i) {
        Acc sum = w[0] * Load<Acc>(rows[0][i]);
        for (int t = 1; t < N; ++t) sum += w[t] * Load<Acc>(rows[t][i]);
        d[i] = Store<D, Acc>(sum);
      }
    }
    if (++j == out_len) j = 0, ++o;
  }
}

// One separable pass, split into contiguous row ranges across threads.
template <int N, typename S, typename D, typename Acc>
void InterpolateAxis(const S* src, D* dst, int64_t outer, int64_t in_len, int64_t out_len,
                     int64_t inner, const AxisTaps& taps, double extrapolation, int threads) {
  const int64_t rows = outer * out_len;
  const D fill = Store<D, Acc>(static_cast<Acc>(extrapolation));
  if (rows * inner < kParallelElements || threads <= 1 || rows < 2) {
    InterpolateRows<N, S, D, Acc>(src, dst, in_len, out_len, inner, taps, fill, 0, rows);
    return;
  }
  const int team = static_cast<int>(std::min<int64_t>(threads, rows));
#pragma omp parallel num_threads(team)
  {
    const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
    InterpolateRows<N, S, D, Acc>(src, dst, in_len, out_len, inner, taps, fill, rows * t / n,
                                  rows * (t + 1) / n);
  }
}

class ResizeKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(ParseAttributes(ctx));
    const TensorDesc& x = ctx.input(0);
    in_dims_ = x.dims;
    const size_t rank = in_dims_.size();
    if (rank == 0 || rank > kMaxOperandLength) {
      return Unsupported(ctx.Describe() + ": rank " + std::to_string(rank));
    }
    ASSIGN_OR_RETURN(element_size_, MovableElementSize(ctx, 0));
    dtype_ = x.dtype;
    if (mode_ != Mode::kNearest && !DispatchNumeric(dtype_, []<typename T>() {}) &&
        !IsHalf(dtype_)) {
      return UnsupportedType(ctx, 0, "numeric types (linear and cubic modes)");
    }
    if (mode_ == Mode::kNearest) {
      ASSIGN_OR_RETURN(Tensor fill, Tensor::Allocate(dtype_, {}));
      fill.SetFromDouble(0, extrapolation_);
      std::memcpy(extrapolation_bytes_, fill.data(), fill.byte_size());
    }
    RETURN_IF_ERROR(ParseOperands(ctx));
    RETURN_IF_ERROR(ParseAxes(ctx));

    // Output dims: from constant operands, else as the model declares them.
    const bool constant = roi_.is_constant() && scales_.is_constant() && sizes_.is_constant();
    AxisGeometry geometry[kMaxOperandLength];
    if (constant) {
      RETURN_IF_ERROR(ResolveGeometry(roi_.values(), scales_.values(), sizes_.values(), geometry)
                          .WithContext(ctx.Describe()));
      for (size_t k = 0; k < rank; ++k) dims_.push_back(geometry[k].out);
    } else {
      ASSIGN_OR_RETURN(dims_, DeclaredOutputDims(ctx, 0, "scales, sizes and roi"));
      if (dims_.size() != rank) {
        return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
      }
    }
    RETURN_IF_ERROR(CheckOutputSize(ctx, dtype_, dims_));
    PlanPasses(ctx);
    threads_ = ctx.threads();
    if (constant) {
      tables_ = std::make_unique<ResizeTables>();
      SizeTables(*tables_);
      RETURN_IF_ERROR(FillTables(geometry, *tables_).WithContext(ctx.Describe()));
    }
    ctx.SetOutput(0, dtype_, dims_);
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine&) const override {
    if (tables_) return nullptr;
    auto state = std::make_unique<ResizeTables>();
    SizeTables(*state);
    return state;
  }

  Status Execute(ExecContext& ctx) const override {
    ResizeTables* tables = tables_.get();
    if (tables == nullptr) {
      tables = static_cast<ResizeTables*>(ctx.state());
      double roi[kMaxOperandLength], scales[kMaxOperandLength];
      int64_t sizes[kMaxOperandLength];
      AxisGeometry geometry[kMaxOperandLength];
      RETURN_IF_ERROR(AsInputError(ResolveGeometry(roi_.Read(ctx, roi), scales_.Read(ctx, scales),
                                                   sizes_.Read(ctx, sizes), geometry)));
      int64_t got[kMaxOperandLength];
      for (size_t k = 0; k < dims_.size(); ++k) got[k] = geometry[k].out;
      if (!std::equal(dims_.begin(), dims_.end(), got)) {
        return OperandMismatch("scales, sizes and roi", {got, dims_.size()}, dims_);
      }
      RETURN_IF_ERROR(AsInputError(FillTables(geometry, *tables)));
    }
    if (mode_ == Mode::kNearest) {
      tables->copy.Run(ctx.input(0), ctx.output(0), extrapolation_bytes_, threads_);
      return Status::Ok();
    }
    RunInterpolation(ctx, *tables);
    return Status::Ok();
  }

 private:
  static bool IsHalf(DataType t) { return t == DataType::kFloat16 || t == DataType::kBfloat16; }
  // Intermediates in double where float would lose the data's precision.
  bool DoubleAccumulator() const {
    return dtype_ == DataType::kDouble || dtype_ == DataType::kInt32 ||
           dtype_ == DataType::kUint32 || dtype_ == DataType::kInt64 ||
           dtype_ == DataType::kUint64;
  }
  int num_taps() const { return mode_ == Mode::kLinear ? 2 : 4; }

  Status ParseAttributes(CompileContext& ctx) {
    const ir::Node& node = ctx.node();
    upsample_ = node.kind() == ir::OpKind::kUpsample;
    legacy_ = upsample_ || node.opset() < 11;  // Resize-10 and Upsample
    if (upsample_ && node.opset() < 7) {
      return Unsupported(ctx.Describe() + ": Upsample before opset 7");
    }
    ASSIGN_OR_RETURN(const std::string mode, node.GetString("mode", "nearest"));
    if (mode == "nearest") mode_ = Mode::kNearest;
    else if (mode == "linear" || (upsample_ && mode == "bilinear")) mode_ = Mode::kLinear;
    else if (mode == "cubic" && !legacy_) mode_ = Mode::kCubic;
    else return InvalidModel(ctx.Describe() + ": unknown mode '" + mode + "'");
    if (legacy_) {
      coordinates_ = Coordinates::kAsymmetric;
      rounding_ = Rounding::kSimple;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(const std::string coordinates,
                     node.GetString("coordinate_transformation_mode", "half_pixel"));
    if (coordinates == "half_pixel") coordinates_ = Coordinates::kHalfPixel;
    else if (coordinates == "half_pixel_symmetric") coordinates_ = Coordinates::kHalfPixelSymmetric;
    else if (coordinates == "pytorch_half_pixel") coordinates_ = Coordinates::kPytorchHalfPixel;
    else if (coordinates == "align_corners") coordinates_ = Coordinates::kAlignCorners;
    else if (coordinates == "asymmetric") coordinates_ = Coordinates::kAsymmetric;
    else if (coordinates == "tf_half_pixel_for_nn") coordinates_ = Coordinates::kTfHalfPixelForNn;
    else if (coordinates == "tf_crop_and_resize") coordinates_ = Coordinates::kTfCropAndResize;
    else {
      return InvalidModel(ctx.Describe() + ": unknown coordinate_transformation_mode '" +
                          coordinates + "'");
    }
    ASSIGN_OR_RETURN(const std::string rounding,
                     node.GetString("nearest_mode", "round_prefer_floor"));
    if (rounding == "round_prefer_floor") rounding_ = Rounding::kRoundPreferFloor;
    else if (rounding == "round_prefer_ceil") rounding_ = Rounding::kRoundPreferCeil;
    else if (rounding == "floor") rounding_ = Rounding::kFloor;
    else if (rounding == "ceil") rounding_ = Rounding::kCeil;
    else return InvalidModel(ctx.Describe() + ": unknown nearest_mode '" + rounding + "'");
    ASSIGN_OR_RETURN(const float a, node.GetFloat("cubic_coeff_a", -0.75f));
    ASSIGN_OR_RETURN(const int64_t exclude_outside, node.GetInt("exclude_outside", 0));
    ASSIGN_OR_RETURN(const float extrapolation, node.GetFloat("extrapolation_value", 0.0f));
    ASSIGN_OR_RETURN(const int64_t antialias, node.GetInt("antialias", 0));
    ASSIGN_OR_RETURN(const std::string policy, node.GetString("keep_aspect_ratio_policy", "stretch"));
    cubic_a_ = a;
    exclude_outside_ = exclude_outside != 0;
    extrapolation_ = extrapolation;
    if (antialias != 0 && mode_ != Mode::kNearest) {
      return Unsupported(ctx.Describe() + ": antialias=1 is not supported");
    }
    if (policy == "stretch") policy_ = AspectPolicy::kStretch;
    else if (policy == "not_larger") policy_ = AspectPolicy::kNotLarger;
    else if (policy == "not_smaller") policy_ = AspectPolicy::kNotSmaller;
    else {
      return InvalidModel(ctx.Describe() + ": unknown keep_aspect_ratio_policy '" + policy + "'");
    }
    return Status::Ok();
  }

  // roi/scales/sizes by opset: Upsample-7 has a scales attribute; Resize-10
  // and Upsample-9 a scales input; Resize-11+ (roi, scales, sizes), any of
  // them omitted or empty.
  Status ParseOperands(CompileContext& ctx) {
    const ir::Node& node = ctx.node();
    if (upsample_ && node.opset() < 9) {
      ASSIGN_OR_RETURN(const std::vector<float> scales, node.GetFloats("scales", {}));
      scales_ = RealOperand(std::vector<double>(scales.begin(), scales.end()));
      return Status::Ok();
    }
    if (legacy_) {
      ASSIGN_OR_RETURN(scales_, RealOperand::FromInput(ctx, 1, "scales"));
      return Status::Ok();
    }
    if (coordinates_ == Coordinates::kTfCropAndResize && ctx.has_input(1)) {
      ASSIGN_OR_RETURN(roi_, RealOperand::FromInput(ctx, 1, "roi"));
    }
    if (ctx.has_input(2)) {
      ASSIGN_OR_RETURN(scales_, RealOperand::FromInput(ctx, 2, "scales"));
    }
    if (ctx.has_input(3)) {
      ASSIGN_OR_RETURN(sizes_, IntOperand::FromInput(ctx, 3, "sizes"));
    }
    if ((scales_.length() == 0) == (sizes_.length() == 0)) {
      return InvalidModel(ctx.Describe() + ": exactly one of scales and sizes must be given");
    }
    return Status::Ok();
  }

  Status ParseAxes(CompileContext& ctx) {
    const int64_t rank = static_cast<int64_t>(in_dims_.size());
    std::vector<int64_t> axes;
    if (!legacy_ && ctx.node().opset() >= 18) {
      ASSIGN_OR_RETURN(axes, ctx.node().GetInts("axes", {}));
    }
    if (axes.empty()) {
      axes.resize(rank);
      std::iota(axes.begin(), axes.end(), 0);
    }
    std::vector<bool> seen(rank, false);
    for (int64_t& axis : axes) {
      RETURN_IF_ERROR(NormalizeAxisAt(axis, rank, &axis).WithContext(ctx.Describe()));
      if (seen[axis]) return InvalidModel(ctx.Describe() + ": an axis is repeated");
      seen[axis] = true;
    }
    axes_ = std::move(axes);
    return Status::Ok();
  }

  // Per-axis geometry from the operands (bare errors, no allocation unless
  // failing).
  Status ResolveGeometry(std::span<const double> roi, std::span<const double> scales,
                         std::span<const int64_t> sizes, AxisGeometry* geometry) const {
    const size_t n = axes_.size();
    for (size_t k = 0; k < in_dims_.size(); ++k) {
      const double length = static_cast<double>(in_dims_[k]);
      geometry[k] = AxisGeometry{in_dims_[k], in_dims_[k], 1.0, length, 0.0, 1.0};
    }
    if (!scales.empty()) {
      if (scales.size() != n) {
        return InvalidModel(std::to_string(scales.size()) + " scales for " + std::to_string(n) +
                            " axes");
      }
      for (size_t j = 0; j < n; ++j) {
        AxisGeometry& g = geometry[axes_[j]];
        const double out = std::floor(static_cast<double>(g.in) * scales[j]);
        if (!(scales[j] > 0.0) || !(out < 9.0e15)) {
          return InvalidModel("scale " + std::to_string(scales[j]) + " is not usable");
        }
        g.scale = scales[j];
        g.resized = static_cast<double>(g.in) * scales[j];
        g.out = static_cast<int64_t>(out);
      }
    } else {
      if (sizes.size() != n) {
        return InvalidModel(std::to_string(sizes.size()) + " sizes for " + std::to_string(n) +
                            " axes");
      }
      double common = policy_ == AspectPolicy::kNotLarger ? HUGE_VAL : 0.0;
      for (size_t j = 0; j < n; ++j) {
        AxisGeometry& g = geometry[axes_[j]];
        if (sizes[j] < 0 || (g.in == 0 && sizes[j] != 0)) {
          return InvalidModel("size " + std::to_string(sizes[j]) + " does not fit axis " +
                              std::to_string(axes_[j]) + " of length " + std::to_string(g.in));
        }
        g.out = sizes[j];
        g.resized = static_cast<double>(sizes[j]);
        g.scale = g.in ? static_cast<double>(sizes[j]) / static_cast<double>(g.in) : 1.0;
        common = policy_ == AspectPolicy::kNotLarger ? std::min(common, g.scale)
                                                     : std::max(common, g.scale);
      }
      if (policy_ != AspectPolicy::kStretch) {
        for (size_t j = 0; j < n; ++j) {
          AxisGeometry& g = geometry[axes_[j]];
          g.scale = common;
          g.resized = common * static_cast<double>(g.in);
          g.out = static_cast<int64_t>(std::nearbyint(g.resized));
        }
      }
    }
    if (coordinates_ == Coordinates::kTfCropAndResize) {
      if (roi.size() != 2 * n) {
        return InvalidModel("roi has " + std::to_string(roi.size()) + " values for " +
                            std::to_string(n) + " axes");
      }
      for (size_t j = 0; j < n; ++j) {
        geometry[axes_[j]].roi_start = roi[j];
        geometry[axes_[j]].roi_end = roi[j + n];
      }
    }
    return Status::Ok();
  }

  // Input coordinate of output index j.
  double SourceCoordinate(const AxisGeometry& g, int64_t j) const {
    const double x = static_cast<double>(j), s = g.scale;
    const double in = static_cast<double>(g.in), out = g.resized;
    switch (coordinates_) {
      case Coordinates::kHalfPixel: return (x + 0.5) / s - 0.5;
      case Coordinates::kHalfPixelSymmetric: {
        const double adjustment = static_cast<double>(g.out) / out;
        const double offset = in / 2.0 * (1.0 - adjustment);
        return offset + (x + 0.5) / s - 0.5;
      }
      case Coordinates::kPytorchHalfPixel: return g.out > 1 ? (x + 0.5) / s - 0.5 : 0.0;
      case Coordinates::kAlignCorners: return out == 1.0 ? 0.0 : x * (in - 1.0) / (out - 1.0);
      case Coordinates::kAsymmetric: return x / s;
      case Coordinates::kTfHalfPixelForNn: return (x + 0.5) / s;
      case Coordinates::kTfCropAndResize:
        return out != 1.0 ? g.roi_start * (in - 1.0) +
                               x * (g.roi_end - g.roi_start) * (in - 1.0) / (out - 1.0)
                         : 0.5 * (g.roi_start + g.roi_end) * (in - 1.0);
    }
    return x;
  }

  bool Extrapolates(const AxisGeometry& g, double x) const {
    return coordinates_ == Coordinates::kTfCropAndResize &&
           (x < 0.0 || x > static_cast<double>(g.in) - 1.0);
  }

  int64_t NearestIndex(const AxisGeometry& g, double x) const {
    double i = 0;
    switch (rounding_) {
      case Rounding::kSimple: i = g.scale < 1.0 ? std::ceil(x) : std::floor(x); break;
      case Rounding::kRoundPreferFloor:
        i = x - std::floor(x) == 0.5 ? std::floor(x) : std::round(x);
        break;
      case Rounding::kRoundPreferCeil: i = std::floor(x + 0.5); break;
      case Rounding::kFloor: i = std::floor(x); break;
      case Rounding::kCeil: i = std::ceil(x); break;
    }
    return static_cast<int64_t>(std::clamp(i, 0.0, static_cast<double>(g.in - 1)));
  }

  // Orders the interpolation passes (the axes that may change, shrinking
  // ones first so intermediates stay small) and sizes the scratchpad.
  void PlanPasses(CompileContext& ctx) {
    if (mode_ == Mode::kNearest) return;
    pass_axes_ = axes_;
    auto ratio = [&](int64_t k) {
      return in_dims_[k] ? static_cast<double>(dims_[k]) / static_cast<double>(in_dims_[k]) : 1.0;
    };
    std::stable_sort(pass_axes_.begin(), pass_axes_.end(),
                     [&](int64_t a, int64_t b) { return ratio(a) < ratio(b); });
    // Skipping an identity axis (in == out) leaves every intermediate size
    // unchanged, so the largest one here bounds every run.
    std::vector<int64_t> current = in_dims_;
    int64_t largest = 0;
    for (size_t p = 0; p + 1 < pass_axes_.size(); ++p) {
      current[pass_axes_[p]] = dims_[pass_axes_[p]];
      int64_t count = 1;
      for (int64_t d : current) count *= d;
      largest = std::max(largest, count);
    }
    scratch_elements_ = largest;
    const size_t acc = DoubleAccumulator() ? sizeof(double) : sizeof(float);
    if (largest > 0) ctx.RequestScratchpad(2 * static_cast<size_t>(largest) * acc);
  }

  void SizeTables(ResizeTables& tables) const {
    if (mode_ == Mode::kNearest) {
      tables.nearest.resize(dims_.size());
      for (size_t k = 0; k < dims_.size(); ++k) {
        tables.nearest[k].resize(dims_[k]);
        tables.nearest_pointers.push_back(tables.nearest[k].data());
      }
      return;
    }
    tables.taps.resize(pass_axes_.size());
    for (size_t p = 0; p < pass_axes_.size(); ++p) {
      const size_t out = static_cast<size_t>(dims_[pass_axes_[p]]);
      tables.taps[p].index.resize(out * num_taps());
      tables.taps[p].weight.resize(out * num_taps());
      tables.taps[p].outside.resize(out);
    }
  }

  // Fills pre-sized tables from the geometry (allocation-free).
  Status FillTables(const AxisGeometry* geometry, ResizeTables& tables) const {
    if (mode_ == Mode::kNearest) {
      int64_t stride = 1;
      for (size_t k = dims_.size(); k-- > 0;) {
        const AxisGeometry& g = geometry[k];
        for (int64_t j = 0; j < g.out; ++j) {
          const double x = SourceCoordinate(g, j);
          tables.nearest[k][j] =
              Extrapolates(g, x) ? AxisMapCopy::kOutside : NearestIndex(g, x) * stride;
        }
        stride *= in_dims_[k];
      }
      return tables.copy.InitView(dims_.size(), tables.nearest_pointers.data(), dims_.data(),
                                  element_size_);
    }
    for (size_t p = 0; p < pass_axes_.size(); ++p) {
      FillTaps(geometry[pass_axes_[p]], tables.taps[p]);
    }
    return Status::Ok();
  }

  void FillTaps(const AxisGeometry& g, AxisTaps& taps) const {
    const int n = num_taps();
    taps.identity = g.in == g.out;
    for (int64_t j = 0; j < g.out; ++j) {
      const double x = SourceCoordinate(g, j);
      taps.outside[j] = Extrapolates(g, x);
      taps.identity = taps.identity && !taps.outside[j] && x == static_cast<double>(j);
      const double floor_x = std::floor(x);
      const double r = x - floor_x;
      const int64_t i0 = static_cast<int64_t>(floor_x) - (n == 4 ? 1 : 0);
      int64_t* index = &taps.index[j * n];
      double* weight = &taps.weight[j * n];
      double total = 0.0;
      for (int t = 0; t < n; ++t) {
        const int64_t i = i0 + t;
        if (n == 2) {
          weight[t] = t == 0 ? 1.0 - r : r;
        } else {
          weight[t] = CubicWeight(r - static_cast<double>(t - 1), cubic_a_);
          if (exclude_outside_ && (i < 0 || i >= g.in)) weight[t] = 0.0;
        }
        total += weight[t];
        // Taps past the edge read the edge, as the spec's edge padding does.
        index[t] = std::clamp<int64_t>(i, 0, std::max<int64_t>(g.in - 1, 0));
      }
      if (exclude_outside_ && total != 0.0) {
        for (int t = 0; t < n; ++t) weight[t] /= total;
      }
    }
  }

  void RunInterpolation(ExecContext& ctx, const ResizeTables& tables) const {
    auto run = [&]<typename T>() {
      if (DoubleAccumulator()) RunPasses<T, double>(ctx, tables);
      else RunPasses<T, float>(ctx, tables);
    };
    switch (dtype_) {
      case DataType::kFloat16: run.template operator()<Half16>(); break;
      case DataType::kBfloat16: run.template operator()<Brain16>(); break;
      default: DispatchNumeric(dtype_, run); break;
    }
  }

  template <typename T, typename Acc>
  void RunPasses(ExecContext& ctx, const ResizeTables& tables) const {
    size_t active[kMaxOperandLength], num_active = 0;
    for (size_t p = 0; p < pass_axes_.size(); ++p) {
      if (!tables.taps[p].identity) active[num_active++] = p;
    }
    const T* input = static_cast<const T*>(ctx.input(0));
    T* output = static_cast<T*>(ctx.output(0));
    if (num_active == 0) {
      int64_t count = 1;
      for (int64_t d : dims_) count *= d;
      if (count) std::memcpy(output, input, static_cast<size_t>(count) * sizeof(T));
      return;
    }
    Acc* buffers[2] = {static_cast<Acc*>(ctx.scratchpad()),
                       static_cast<Acc*>(ctx.scratchpad()) + scratch_elements_};
    int64_t current[kMaxOperandLength];
    std::copy(in_dims_.begin(), in_dims_.end(), current);
    const int64_t rank = static_cast<int64_t>(in_dims_.size());
    for (size_t a = 0; a < num_active; ++a) {
      const size_t p = active[a];
      const int64_t axis = pass_axes_[p];
      int64_t outer = 1, inner = 1;
      for (int64_t k = 0; k < axis; ++k) outer *= current[k];
      for (int64_t k = axis + 1; k < rank; ++k) inner *= current[k];
      const int64_t in_len = current[axis], out_len = dims_[axis];
      const bool first = a == 0, last = a + 1 == num_active;
      const AxisTaps& taps = tables.taps[p];
      const Acc* previous = buffers[(a + 1) % 2];  // written by pass a - 1
      Acc* next = buffers[a % 2];
      if (mode_ == Mode::kLinear) {
        Pass<2, T, Acc>(first, last, input, previous, next, output, outer, in_len, out_len, inner,
                        taps);
      } else {
        Pass<4, T, Acc>(first, last, input, previous, next, output, outer, in_len, out_len, inner,
                        taps);
      }
      current[axis] = out_len;
    }
  }

  // One pass from the input or the previous intermediate to the next
  // intermediate or the output.
  template <int N, typename T, typename Acc>
  void Pass(bool first, bool last, const T* input, const Acc* previous, Acc* next, T* output,
            int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
            const AxisTaps& taps) const {
    if (first && last) {
      InterpolateAxis<N, T, T, Acc>(input, output, outer, in_len, out_len, inner, taps,
                                    extrapolation_, threads_);
    } else if (first) {
      InterpolateAxis<N, T, Acc, Acc>(input, next, outer, in_len, out_len, inner, taps,
                                      extrapolation_, threads_);
    } else if (last) {
      InterpolateAxis<N, Acc, T, Acc>(previous, output, outer, in_len, out_len, inner, taps,
                                      extrapolation_, threads_);
    } else {
      InterpolateAxis<N, Acc, Acc, Acc>(previous, next, outer, in_len, out_len, inner, taps,
                                        extrapolation_, threads_);
    }
  }

  // Attributes.
  bool upsample_ = false, legacy_ = false;
  Mode mode_ = Mode::kNearest;
  Coordinates coordinates_ = Coordinates::kHalfPixel;
  Rounding rounding_ = Rounding::kRoundPreferFloor;
  AspectPolicy policy_ = AspectPolicy::kStretch;
  double cubic_a_ = -0.75;
  bool exclude_outside_ = false;
  double extrapolation_ = 0.0;
  // The extrapolation value in the data's type (nearest mode).
  alignas(16) unsigned char extrapolation_bytes_[16] = {};

  // Shapes and operands.
  DataType dtype_ = DataType::kUndefined;
  size_t element_size_ = 0;
  std::vector<int64_t> in_dims_, dims_, axes_;
  RealOperand roi_, scales_;
  IntOperand sizes_;

  // Execution plan.
  std::vector<int64_t> pass_axes_;  // interpolation passes, in order
  int64_t scratch_elements_ = 0;    // per intermediate buffer
  std::unique_ptr<ResizeTables> tables_;  // when the operands are constant
  int threads_ = 1;
};

}  // namespace

void RegisterResizeKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kResize, MakeKernel<ResizeKernel>);
  registry.Register(ir::OpKind::kUpsample, MakeKernel<ResizeKernel>);
}

}  // namespace bnfold::onednn
