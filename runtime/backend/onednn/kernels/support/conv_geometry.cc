#include "runtime/backend/onednn/kernels/support/conv_geometry.h"

#include <string>

#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Attribute values beyond this are refused: they can only be mistakes and
// would overflow the shape arithmetic.
constexpr int64_t kMaxAttributeValue = int64_t{1} << 31;

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct CommonAttrs {
  AutoPad auto_pad = AutoPad::kNotSet;
  int64_t group = 1;
  std::vector<int64_t> kernel, strides, dilations, pads;
};

std::string ListToString(const std::vector<int64_t>& v) { return ShapeToString(v); }

// `name` must hold `count` values, each in [min_value, kMaxAttributeValue].
StatusOr<std::vector<int64_t>> GetPerAxis(const CompileContext& ctx, const char* name,
                                          size_t count, int64_t fallback, int64_t min_value) {
  ASSIGN_OR_RETURN(std::vector<int64_t> v,
                   ctx.node().GetInts(name, std::vector<int64_t>(count, fallback)));
  if (v.size() != count) {
    return InvalidModel(ctx.Describe() + ": attribute '" + name + "' has " +
                        std::to_string(v.size()) + " values, expected " + std::to_string(count));
  }
  for (int64_t x : v) {
    if (x < min_value || x > kMaxAttributeValue) {
      return InvalidModel(ctx.Describe() + ": attribute '" + name + "' " + ListToString(v) +
                          " has a value out of range (minimum " + std::to_string(min_value) + ")");
    }
  }
  return v;
}

// Parses the attributes Conv and ConvTranspose share. `w_dims` gives the
// kernel's spatial size.
StatusOr<CommonAttrs> ParseCommon(const CompileContext& ctx, const std::vector<int64_t>& x_dims,
                                  const std::vector<int64_t>& w_dims) {
  if (x_dims.size() < 3 || x_dims.size() > 5) {
    return Unsupported(ctx.Describe() + ": input X has shape " + ShapeToString(x_dims) +
                       "; supported: 1 to 3 spatial dimensions [N, C, d1, ...]");
  }
  if (w_dims.size() != x_dims.size()) {
    return InvalidModel(ctx.Describe() + ": weight W has shape " + ShapeToString(w_dims) +
                        ", expected rank " + std::to_string(x_dims.size()) + " like X " +
                        ShapeToString(x_dims));
  }
  const size_t spatial = x_dims.size() - 2;
  CommonAttrs attrs;
  ASSIGN_OR_RETURN(std::string auto_pad, ctx.node().GetString("auto_pad", "NOTSET"));
  if (auto_pad == "NOTSET") {
    attrs.auto_pad = AutoPad::kNotSet;
  } else if (auto_pad == "SAME_UPPER") {
    attrs.auto_pad = AutoPad::kSameUpper;
  } else if (auto_pad == "SAME_LOWER") {
    attrs.auto_pad = AutoPad::kSameLower;
  } else if (auto_pad == "VALID") {
    attrs.auto_pad = AutoPad::kValid;
  } else {
    return InvalidModel(ctx.Describe() + ": auto_pad '" + auto_pad +
                        "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  ASSIGN_OR_RETURN(attrs.group, ctx.node().GetInt("group", 1));
  if (attrs.group < 1 || attrs.group > kMaxAttributeValue) {
    return InvalidModel(ctx.Describe() + ": group " + std::to_string(attrs.group) +
                        " must be positive");
  }
  const std::vector<int64_t> w_kernel(w_dims.begin() + 2, w_dims.end());
  for (int64_t k : w_kernel) {
    if (k < 1) {
      return InvalidModel(ctx.Describe() + ": weight W has shape " + ShapeToString(w_dims) +
                          " with an empty kernel");
    }
  }
  ASSIGN_OR_RETURN(attrs.kernel, GetPerAxis(ctx, "kernel_shape", spatial, 1, 1));
  if (ctx.node().FindAttribute("kernel_shape") == nullptr) attrs.kernel = w_kernel;
  if (attrs.kernel != w_kernel) {
    return InvalidModel(ctx.Describe() + ": kernel_shape " + ListToString(attrs.kernel) +
                        " does not match weight W of shape " + ShapeToString(w_dims));
  }
  ASSIGN_OR_RETURN(attrs.strides, GetPerAxis(ctx, "strides", spatial, 1, 1));
  ASSIGN_OR_RETURN(attrs.dilations, GetPerAxis(ctx, "dilations", spatial, 1, 1));
  ASSIGN_OR_RETURN(attrs.pads, GetPerAxis(ctx, "pads", 2 * spatial, 0, 0));
  // auto_pad other than NOTSET decides the padding; explicit pads are then
  // ignored, as ONNX Runtime does.
  if (attrs.auto_pad != AutoPad::kNotSet) attrs.pads.assign(2 * spatial, 0);
  return attrs;
}

int64_t EffectiveKernel(int64_t kernel, int64_t dilation) { return (kernel - 1) * dilation + 1; }

void Fill(ConvGeometry& g, const CommonAttrs& a) {
  g.group = a.group;
  g.kernel = a.kernel;
  g.strides = a.strides;
  g.dilations = a.dilations;
  const size_t spatial = a.kernel.size();
  g.pads_begin.assign(a.pads.begin(), a.pads.begin() + spatial);
  g.pads_end.assign(a.pads.begin() + spatial, a.pads.end());
}

}  // namespace

std::vector<int64_t> ConvGeometry::DnnlDilations() const {
  std::vector<int64_t> d;
  for (int64_t x : dilations) d.push_back(x - 1);
  return d;
}

StatusOr<ConvGeometry> ComputeConvGeometry(const CompileContext& ctx,
                                           const std::vector<int64_t>& x_dims,
                                           const std::vector<int64_t>& w_dims) {
  ASSIGN_OR_RETURN(CommonAttrs a, ParseCommon(ctx, x_dims, w_dims));
  ConvGeometry g;
  Fill(g, a);
  g.in_channels = x_dims[1];
  g.out_channels = w_dims[0];
  if (w_dims[1] * a.group != g.in_channels || g.out_channels % a.group != 0) {
    return InvalidModel(ctx.Describe() + ": weight W of shape " + ShapeToString(w_dims) +
                        " does not fit X of shape " + ShapeToString(x_dims) + " with group " +
                        std::to_string(a.group) + " (expected [M, C/group, ...] with M divisible by group)");
  }
  g.output_dims = {x_dims[0], g.out_channels};
  for (size_t i = 0; i < g.kernel.size(); ++i) {
    const int64_t in = x_dims[i + 2], s = g.strides[i];
    const int64_t k = EffectiveKernel(g.kernel[i], g.dilations[i]);
    if (a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower) {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + k - in);
      g.pads_begin[i] = a.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      g.pads_end[i] = total - g.pads_begin[i];
    }
    const int64_t padded = in + g.pads_begin[i] + g.pads_end[i];
    if (padded < k) {
      return InvalidModel(ctx.Describe() + ": spatial axis " + std::to_string(i) + " of X " +
                          ShapeToString(x_dims) + " (padded to " + std::to_string(padded) +
                          ") is smaller than the dilated kernel (" + std::to_string(k) + ")");
    }
    g.output_dims.push_back((padded - k) / s + 1);
  }
  return g;
}

StatusOr<ConvGeometry> ComputeConvTransposeGeometry(const CompileContext& ctx,
                                                    const std::vector<int64_t>& x_dims,
                                                    const std::vector<int64_t>& w_dims) {
  ASSIGN_OR_RETURN(CommonAttrs a, ParseCommon(ctx, x_dims, w_dims));
  ConvGeometry g;
  Fill(g, a);
  const size_t spatial = g.kernel.size();
  g.in_channels = x_dims[1];
  g.out_channels = w_dims[1] * a.group;
  if (w_dims[0] != g.in_channels || g.in_channels % a.group != 0) {
    return InvalidModel(ctx.Describe() + ": weight W of shape " + ShapeToString(w_dims) +
                        " does not fit X of shape " + ShapeToString(x_dims) + " with group " +
                        std::to_string(a.group) + " (expected [C, M/group, ...] with C divisible by group)");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> output_padding,
                   GetPerAxis(ctx, "output_padding", spatial, 0, 0));
  // output_shape lists the spatial dims, or (as some exporters write it) all
  // of [N, M, spatial...].
  ASSIGN_OR_RETURN(std::vector<int64_t> output_shape, ctx.node().GetInts("output_shape", {}));
  if (output_shape.size() == spatial + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (!output_shape.empty() && output_shape.size() != spatial) {
    return InvalidModel(ctx.Describe() + ": output_shape " + ListToString(output_shape) +
                        " does not have one value per spatial axis (" + std::to_string(spatial) + ")");
  }
  g.output_dims = {x_dims[0], g.out_channels};
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t in = x_dims[i + 2], s = g.strides[i];
    const int64_t k = EffectiveKernel(g.kernel[i], g.dilations[i]);
    // The size before any padding is removed.
    const int64_t full = s * (in - 1) + output_padding[i] + k;
    int64_t out;
    const bool explicit_shape = !output_shape.empty();
    if (explicit_shape || a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower) {
      out = explicit_shape ? output_shape[i] : in * s;
      if (out < 1 || out > kMaxAttributeValue) {
        return InvalidModel(ctx.Describe() + ": output size " + std::to_string(out) +
                            " on spatial axis " + std::to_string(i) + " is out of range");
      }
      // The padding that yields `out`, split as the ONNX spec's Python
      // pseudo-code does (floor division): SAME_UPPER puts the odd element at
      // the end, everything else at the start; a negative total (a larger
      // output) grows the end.
      const int64_t total = full - out;
      const int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      if (a.auto_pad == AutoPad::kSameUpper) {
        g.pads_begin[i] = half;
      } else {
        g.pads_begin[i] = total - half;
      }
    } else {
      out = full - g.pads_begin[i] - g.pads_end[i];
      if (out < 1) {
        return InvalidModel(ctx.Describe() + ": pads " + ListToString(a.pads) +
                            " leave no output on spatial axis " + std::to_string(i));
      }
    }
    // oneDNN has no output_padding: the end padding absorbs it (and may go
    // negative, which oneDNN treats as extra output).
    g.pads_end[i] = s * (in - 1) + k - g.pads_begin[i] - out;
    g.output_dims.push_back(out);
  }
  return g;
}

}  // namespace bnfold::onednn
