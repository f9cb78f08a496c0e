// The vision family's pooling over regions, RoiAlign and MaxRoiPool, and
// MaxUnpool: C++ loops, registered by RegisterVisionKernels (vision.cc).
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

// ------------------------------------------------------------------ RoiAlign

// Y [R, C, oh, ow]: each bin averages (or maxes) sampling_ratio^2 bilinear
// samples (adaptive ceil(roi/bins) when 0) of X's plane batch_indices[r],
// as ONNX Runtime computes it: half_pixel shifts the box by -0.5 (opset 16
// default; opset 10 behaves as output_half_pixel, which also keeps the box
// at least 1 x 1), samples beyond one pixel outside the image count 0, and
// max takes the largest weighted corner of each sample.
struct RoiAlignLoop {
  int64_t rois = 0, channels = 0, height = 0, width = 0, batch = 0, out_h = 1, out_w = 1;
  int64_t sampling_ratio = 0;
  double spatial_scale = 1.0;
  bool half_pixel = true, max_mode = false;
  DataType index_type = DataType::kInt64;
};

template <DataType kType>
Status RunRoiAlign(const RoiAlignLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  const auto* rois = ctx.input_as<typename E::Storage>(1);
  const void* indices = ctx.input(2);
  auto* y = ctx.output_as<typename E::Storage>(0);
  const double offset = p.half_pixel ? 0.5 : 0.0;
  for (int64_t r = 0; r < p.rois; ++r) {
    const int64_t b = p.index_type == DataType::kInt64 ? static_cast<const int64_t*>(indices)[r]
                                                       : static_cast<const int32_t*>(indices)[r];
    if (b < 0 || b >= p.batch) {
      return InvalidArgument("RoiAlign: batch_indices[" + std::to_string(r) + "] = " +
                             std::to_string(b) + " is outside [0, " + std::to_string(p.batch) + ")");
    }
    auto roi = [&](int k) { return static_cast<double>(E::Load(rois[r * 4 + k])) * p.spatial_scale - offset; };
    const double x0 = roi(0), y0 = roi(1);
    double roi_w = roi(2) - x0, roi_h = roi(3) - y0;
    if (!p.half_pixel) {
      roi_w = std::max(roi_w, 1.0);
      roi_h = std::max(roi_h, 1.0);
    }
    const double bin_h = roi_h / static_cast<double>(p.out_h), bin_w = roi_w / static_cast<double>(p.out_w);
    const int64_t grid_h = p.sampling_ratio > 0 ? p.sampling_ratio
                                                : static_cast<int64_t>(std::ceil(roi_h / static_cast<double>(p.out_h)));
    const int64_t grid_w = p.sampling_ratio > 0 ? p.sampling_ratio
                                                : static_cast<int64_t>(std::ceil(roi_w / static_cast<double>(p.out_w)));
    const double count = static_cast<double>(std::max<int64_t>(grid_h * grid_w, 1));
    for (int64_t c = 0; c < p.channels; ++c) {
      const auto* plane = x + (b * p.channels + c) * p.height * p.width;
      auto at = [&](int64_t yy, int64_t xx) {
        return static_cast<double>(E::Load(plane[yy * p.width + xx]));
      };
      for (int64_t ph = 0; ph < p.out_h; ++ph) {
        for (int64_t pw = 0; pw < p.out_w; ++pw) {
          double acc = 0.0;
          bool first = true;
          for (int64_t iy = 0; iy < grid_h; ++iy) {
            for (int64_t ix = 0; ix < grid_w; ++ix) {
              double sy = y0 + ph * bin_h + (iy + 0.5) * bin_h / static_cast<double>(grid_h);
              double sx = x0 + pw * bin_w + (ix + 0.5) * bin_w / static_cast<double>(grid_w);
              double v = 0.0;
              if (!(sy < -1.0 || sy > p.height || sx < -1.0 || sx > p.width)) {
                sy = std::max(sy, 0.0);
                sx = std::max(sx, 0.0);
                int64_t ylo = static_cast<int64_t>(sy), xlo = static_cast<int64_t>(sx), yhi, xhi;
                if (ylo >= p.height - 1) {
                  yhi = ylo = p.height - 1;
                  sy = static_cast<double>(ylo);
                } else {
                  yhi = ylo + 1;
                }
                if (xlo >= p.width - 1) {
                  xhi = xlo = p.width - 1;
                  sx = static_cast<double>(xlo);
                } else {
                  xhi = xlo + 1;
                }
                const double ly = sy - ylo, lx = sx - xlo, hy = 1.0 - ly, hx = 1.0 - lx;
                const double t1 = hy * hx * at(ylo, xlo), t2 = hy * lx * at(ylo, xhi);
                const double t3 = ly * hx * at(yhi, xlo), t4 = ly * lx * at(yhi, xhi);
                v = p.max_mode ? std::max(std::max(t1, t2), std::max(t3, t4)) : t1 + t2 + t3 + t4;
              }
              if (p.max_mode) {
                acc = first ? v : std::max(acc, v);
              } else {
                acc += v;
              }
              first = false;
            }
          }
          if (!p.max_mode) acc /= count;
          y[((r * p.channels + c) * p.out_h + ph) * p.out_w + pw] =
              E::Store(static_cast<typename E::Compute>(acc));
        }
      }
    }
  }
  return Status::Ok();
}

class RoiAlignKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const ir::Node& node = ctx.node();
    const int64_t opset = node.opset();
    if (ctx.num_inputs() != 3) return InvalidModel(what + "expects inputs X, rois, batch_indices");
    const TensorDesc& x = ctx.input(0);
    const bool bf16 = opset >= 22;
    if ((x.dtype == DataType::kBfloat16 && !bf16) ||
        !DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() { fn_ = &RunRoiAlign<kType>; })) {
      return UnsupportedType(ctx, 0, bf16 ? "float16, float, double, bfloat16" : "float16, float, double");
    }
    if (ctx.input(1).dtype != x.dtype) return UnsupportedType(ctx, 1, DataTypeName(x.dtype));
    loop_.index_type = ctx.input(2).dtype;
    if (loop_.index_type != DataType::kInt64 && loop_.index_type != DataType::kInt32) {
      return UnsupportedType(ctx, 2, "int64");
    }
    if (x.dims.size() != 4) return InvalidModel(what + "X must be [N, C, H, W], got " + ShapeToString(x.dims));
    const TensorDesc& rois = ctx.input(1);
    if (rois.dims.size() != 2 || rois.dims[1] != 4) {
      return InvalidModel(what + "rois has shape " + ShapeToString(rois.dims) + ", expected [R, 4]");
    }
    if (ctx.input(2).dims != std::vector<int64_t>{rois.dims[0]}) {
      return InvalidModel(what + "batch_indices has shape " + ShapeToString(ctx.input(2).dims) +
                          ", expected [" + std::to_string(rois.dims[0]) + "]");
    }
    ASSIGN_OR_RETURN(const std::string mode, node.GetString("mode", "avg"));
    ASSIGN_OR_RETURN(const std::string transform,
                     node.GetString("coordinate_transformation_mode",
                                    opset >= 16 ? "half_pixel" : "output_half_pixel"));
    ASSIGN_OR_RETURN(loop_.out_h, node.GetInt("output_height", 1));
    ASSIGN_OR_RETURN(loop_.out_w, node.GetInt("output_width", 1));
    ASSIGN_OR_RETURN(loop_.sampling_ratio, node.GetInt("sampling_ratio", 0));
    ASSIGN_OR_RETURN(const float scale, node.GetFloat("spatial_scale", 1.0f));
    if (mode != "avg" && mode != "max") return InvalidModel(what + "mode '" + mode + "' is not avg or max");
    if (transform != "half_pixel" && transform != "output_half_pixel") {
      return InvalidModel(what + "coordinate_transformation_mode '" + transform + "' is not valid");
    }
    if (loop_.out_h < 1 || loop_.out_w < 1 || loop_.sampling_ratio < 0 || loop_.out_h > (1 << 20) ||
        loop_.out_w > (1 << 20)) {
      return InvalidModel(what + "output_height/width must be positive and sampling_ratio >= 0");
    }
    loop_.max_mode = mode == "max";
    loop_.half_pixel = transform == "half_pixel";
    loop_.spatial_scale = scale;
    loop_.rois = rois.dims[0];
    loop_.batch = x.dims[0];
    loop_.channels = x.dims[1];
    loop_.height = x.dims[2];
    loop_.width = x.dims[3];
    ctx.SetOutput(0, x.dtype, {loop_.rois, loop_.channels, loop_.out_h, loop_.out_w});
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override { return fn_(loop_, ctx); }

 private:
  RoiAlignLoop loop_;
  Status (*fn_)(const RoiAlignLoop&, ExecContext&) = nullptr;
};

// ---------------------------------------------------------------- MaxRoiPool

// MaxRoiPool: rois [R, 5] = (batch, x1, y1, x2, y2) scaled by spatial_scale
// and rounded; each of pooled_shape's bins takes the max of its pixels
// (floor/ceil bin edges, clipped to the image), 0 for an empty bin.
struct MaxRoiPoolLoop {
  int64_t rois = 0, batch = 0, channels = 0, height = 0, width = 0, out_h = 1, out_w = 1;
  double spatial_scale = 1.0;
};

template <DataType kType>
Status RunMaxRoiPool(const MaxRoiPoolLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  const auto* rois = ctx.input_as<typename E::Storage>(1);
  auto* y = ctx.output_as<typename E::Storage>(0);
  for (int64_t r = 0; r < p.rois; ++r) {
    auto v = [&](int k) { return static_cast<double>(E::Load(rois[r * 5 + k])); };
    const int64_t b = static_cast<int64_t>(v(0));
    if (b < 0 || b >= p.batch) {
      return InvalidArgument("MaxRoiPool: roi " + std::to_string(r) + " has batch index " +
                             std::to_string(b) + " outside [0, " + std::to_string(p.batch) + ")");
    }
    const int64_t x1 = static_cast<int64_t>(std::round(v(1) * p.spatial_scale));
    const int64_t y1 = static_cast<int64_t>(std::round(v(2) * p.spatial_scale));
    const int64_t x2 = static_cast<int64_t>(std::round(v(3) * p.spatial_scale));
    const int64_t y2 = static_cast<int64_t>(std::round(v(4) * p.spatial_scale));
    const double bin_h = static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1)) / p.out_h;
    const double bin_w = static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1)) / p.out_w;
    for (int64_t c = 0; c < p.channels; ++c) {
      const auto* plane = x + (b * p.channels + c) * p.height * p.width;
      for (int64_t ph = 0; ph < p.out_h; ++ph) {
        const int64_t h0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ph * bin_h)) + y1, 0, p.height);
        const int64_t h1 = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((ph + 1) * bin_h)) + y1, 0, p.height);
        for (int64_t pw = 0; pw < p.out_w; ++pw) {
          const int64_t w0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(pw * bin_w)) + x1, 0, p.width);
          const int64_t w1 = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((pw + 1) * bin_w)) + x1, 0, p.width);
          double best = 0.0;
          bool any = false;
          for (int64_t h = h0; h < h1; ++h) {
            for (int64_t w = w0; w < w1; ++w) {
              const double value = static_cast<double>(E::Load(plane[h * p.width + w]));
              if (!any || value > best) best = value;
              any = true;
            }
          }
          y[((r * p.channels + c) * p.out_h + ph) * p.out_w + pw] = E::Store(static_cast<typename E::Compute>(best));
        }
      }
    }
  }
  return Status::Ok();
}

class MaxRoiPoolKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const TensorDesc& x = ctx.input(0);
    if (ctx.num_inputs() != 2) return InvalidModel(what + "expects inputs X and rois");
    if (!DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() { fn_ = &RunMaxRoiPool<kType>; })) {
      return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    }
    if (ctx.input(1).dtype != x.dtype) return UnsupportedType(ctx, 1, DataTypeName(x.dtype));
    if (x.dims.size() != 4) return InvalidModel(what + "X must be [N, C, H, W]");
    const TensorDesc& rois = ctx.input(1);
    if (rois.dims.size() != 2 || rois.dims[1] != 5) {
      return InvalidModel(what + "rois has shape " + ShapeToString(rois.dims) + ", expected [R, 5]");
    }
    ASSIGN_OR_RETURN(const std::vector<int64_t> pooled, ctx.node().GetInts("pooled_shape", {}));
    ASSIGN_OR_RETURN(const float scale, ctx.node().GetFloat("spatial_scale", 1.0f));
    if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1 || pooled[0] > (1 << 20) || pooled[1] > (1 << 20)) {
      return InvalidModel(what + "pooled_shape must be two positive sizes");
    }
    loop_ = {rois.dims[0], x.dims[0], x.dims[1], x.dims[2], x.dims[3], pooled[0], pooled[1], scale};
    ctx.SetOutput(0, x.dtype, {loop_.rois, loop_.channels, loop_.out_h, loop_.out_w});
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override { return fn_(loop_, ctx); }

 private:
  MaxRoiPoolLoop loop_;
  Status (*fn_)(const MaxRoiPoolLoop&, ExecContext&) = nullptr;
};

// ----------------------------------------------------------------- MaxUnpool

// Y zero, then Y[I[i]] = X[i] (I: MaxPool's flat indices into the whole
// output). The default output size per spatial axis is (in - 1) * stride -
// pads + kernel; a given output_shape (known when the model is compiled)
// may be larger, and then, as in ONNX's reference, an index is decoded in
// the default shape and its coordinates placed in the given one.
class MaxUnpoolKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const ir::Node& node = ctx.node();
    if (ctx.num_inputs() < 2 || ctx.num_inputs() > 3) {
      return InvalidModel(what + "expects inputs X, I and an optional output_shape");
    }
    const TensorDesc& x = ctx.input(0);
    dtype_ = x.dtype;
    if (DataTypeSize(dtype_) == 0 || dtype_ == DataType::kBool) return UnsupportedType(ctx, 0, "numeric");
    if (ctx.input(1).dtype != DataType::kInt64) return UnsupportedType(ctx, 1, "int64");
    if (ctx.input(1).dims != x.dims) {
      return InvalidModel(what + "I has shape " + ShapeToString(ctx.input(1).dims) + ", X " + ShapeToString(x.dims));
    }
    if (x.dims.size() < 3) return InvalidModel(what + "X must have rank >= 3");
    const size_t n = x.dims.size() - 2;
    ASSIGN_OR_RETURN(const std::vector<int64_t> kernel, node.GetInts("kernel_shape", {}));
    ASSIGN_OR_RETURN(const std::vector<int64_t> strides, node.GetInts("strides", std::vector<int64_t>(n, 1)));
    ASSIGN_OR_RETURN(const std::vector<int64_t> pads, node.GetInts("pads", std::vector<int64_t>(2 * n, 0)));
    if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n) {
      return InvalidModel(what + "kernel_shape, strides and pads do not fit " + std::to_string(n) +
                          " spatial dims");
    }
    std::vector<int64_t> out = {x.dims[0], x.dims[1]};
    for (size_t d = 0; d < n; ++d) {
      if (kernel[d] < 1 || strides[d] < 1 || pads[d] < 0 || pads[d + n] < 0) {
        return InvalidModel(what + "kernel_shape and strides must be positive, pads non-negative");
      }
      out.push_back((x.dims[d + 2] - 1) * strides[d] - pads[d] - pads[d + n] + kernel[d]);
    }
    if (ctx.num_inputs() == 3 && ctx.has_input(2)) {
      ASSIGN_OR_RETURN(std::vector<int64_t> shape, ConstantInts(ctx, 2, "output_shape"));
      if (shape.size() != out.size() || shape[0] != out[0] || shape[1] != out[1]) {
        return InvalidModel(what + "output_shape " + ShapeToString(shape) + " does not fit X " +
                            ShapeToString(x.dims));
      }
      for (size_t d = 2; d < out.size(); ++d) {
        if (shape[d] < out[d]) {
          return InvalidModel(what + "output_shape " + ShapeToString(shape) +
                              " is smaller than the unpooled size " + ShapeToString(out));
        }
      }
      if (shape != out) default_dims_ = out;
      out = std::move(shape);
    }
    out_dims_ = out;
    ASSIGN_OR_RETURN(out_count_, ElementCount(ctx, out));
    ASSIGN_OR_RETURN(index_limit_, ElementCount(ctx, default_dims_.empty() ? out : default_dims_));
    in_count_ = x.num_elements();
    ctx.SetOutput(0, dtype_, out);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const size_t size = DataTypeSize(dtype_);
    const char* x = static_cast<const char*>(ctx.input(0));
    const int64_t* index = ctx.input_as<int64_t>(1);
    char* y = static_cast<char*>(ctx.output(0));
    std::memset(y, 0, size * static_cast<size_t>(out_count_));
    for (int64_t i = 0; i < in_count_; ++i) {
      if (index[i] < 0 || index[i] >= index_limit_) {
        return InvalidArgument("MaxUnpool: index " + std::to_string(index[i]) + " at " +
                               std::to_string(i) + " is outside the unpooled " +
                               std::to_string(index_limit_) + " elements");
      }
      int64_t at = index[i];
      if (!default_dims_.empty()) {
        // Coordinates in the default shape, row-major position in the given one.
        int64_t rest = at, stride = 1;
        at = 0;
        for (size_t d = default_dims_.size(); d-- > 0;) {
          at += (rest % default_dims_[d]) * stride;
          rest /= default_dims_[d];
          stride *= out_dims_[d];
        }
      }
      std::memcpy(y + size * at, x + size * i, size);
    }
    return Status::Ok();
  }

 private:
  DataType dtype_ = DataType::kFloat;
  int64_t in_count_ = 0, out_count_ = 0, index_limit_ = 0;
  std::vector<int64_t> out_dims_, default_dims_;  // default_dims_: empty unless they differ
};

}  // namespace

void RegisterVisionPoolKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kRoiAlign, MakeKernel<RoiAlignKernel>);
  registry.Register(ir::OpKind::kMaxRoiPool, MakeKernel<MaxRoiPoolKernel>);
  registry.Register(ir::OpKind::kMaxUnpool, MakeKernel<MaxUnpoolKernel>);
}

}  // namespace bnfold::onednn
