// The quantization family's convolutions: QLinearConv and ConvInteger,
// exact integer loops (see quantize.cc for why not oneDNN); registered by
// RegisterQuantKernels (quantize.cc).
#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/conv_geometry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/quant_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// ------------------------------------------------ QLinearConv, ConvInteger

// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, optional int32 B; w's scale and zero point per-tensor or per
// output channel. ConvInteger: x, w, optional x_zero_point (per-tensor) and
// w_zero_point (per-tensor or per output channel); int32 output.
class QuantConvKernel : public Kernel {
 public:
  explicit QuantConvKernel(bool quantized) : quantized_(quantized) {}

  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    w_in_ = quantized_ ? 3 : 1;
    if (quantized_ && (ctx.num_inputs() < 8 || !ctx.has_input(1) || !ctx.has_input(4) ||
                       !ctx.has_input(6) || !ctx.has_input(7))) {
      return InvalidModel(what + "expects inputs x, x_scale, x_zero_point, w, w_scale, "
                                 "w_zero_point, y_scale, y_zero_point and an optional B");
    }
    if (!quantized_ && (ctx.num_inputs() < 2 || ctx.num_inputs() > 4)) {
      return InvalidModel(what + "expects inputs x, w and optional zero points");
    }
    x_.dtype = ctx.input(0).dtype;
    w_.dtype = ctx.input(w_in_).dtype;
    if (!Is8Bit(x_.dtype)) return UnsupportedType(ctx, 0, "int8, uint8");
    if (!Is8Bit(w_.dtype)) return UnsupportedType(ctx, w_in_, "int8, uint8");
    x_dims_ = ctx.input(0).dims;
    w_dims_ = ctx.input(w_in_).dims;
    ASSIGN_OR_RETURN(geometry_, ComputeConvGeometry(ctx, x_dims_, w_dims_));
    const int64_t channels = geometry_.out_channels;
    x_.zero_input = 2;
    w_.zero_input = quantized_ ? 5 : 3;
    RETURN_IF_ERROR(CheckQuantParam(ctx, x_.zero_input, 1, "x_zero_point", &x_.zero_count));
    RETURN_IF_ERROR(CheckQuantParam(ctx, w_.zero_input, channels, "w_zero_point", &w_.zero_count));
    for (const QuantOperand* q : {&x_, &w_}) {
      if (ctx.num_inputs() > q->zero_input && ctx.has_input(q->zero_input) &&
          ctx.input(q->zero_input).dtype != q->dtype) {
        return UnsupportedType(ctx, q->zero_input, DataTypeName(q->dtype));
      }
    }
    DataType out = DataType::kInt32;
    if (quantized_) {
      x_.scale_input = 1;
      w_.scale_input = 4;
      y_.scale_input = 6;
      y_.zero_input = 7;
      RETURN_IF_ERROR(CheckQuantParam(ctx, 1, 1, "x_scale", &x_.scale_count));
      RETURN_IF_ERROR(CheckQuantParam(ctx, 4, channels, "w_scale", &w_.scale_count));
      RETURN_IF_ERROR(CheckQuantParam(ctx, 6, 1, "y_scale", &y_.scale_count));
      RETURN_IF_ERROR(CheckQuantParam(ctx, 7, 1, "y_zero_point", &y_.zero_count));
      for (QuantOperand* q : {&x_, &w_, &y_}) {
        q->scale_type = ctx.input(q->scale_input).dtype;
        if (!IsScaleType(q->scale_type)) return UnsupportedType(ctx, q->scale_input, "float, float16, bfloat16");
      }
      y_.dtype = out = ctx.input(7).dtype;
      if (!Is8Bit(out)) return UnsupportedType(ctx, 7, "int8, uint8");
      has_bias_ = ctx.num_inputs() > 8 && ctx.has_input(8);
      if (has_bias_) {
        const TensorDesc& b = ctx.input(8);
        if (b.dtype != DataType::kInt32) return UnsupportedType(ctx, 8, "int32");
        if (b.num_elements() != channels || b.dims.size() != 1) {
          return InvalidModel(what + "B has shape " + ShapeToString(b.dims) + ", expected [" +
                              std::to_string(channels) + "]");
        }
      }
    }
    ctx.SetOutput(0, out, geometry_.output_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const std::vector<int32_t> wz = ZeroPoints(w_, ctx);
    const int32_t xz = ZeroPoints(x_, ctx)[0];
    std::vector<float> multiplier;
    float y_zero = 0.0f;
    if (quantized_) {
      const double xs = ScaleAt(x_, ctx, 0), ys = ScaleAt(y_, ctx, 0);
      for (int64_t m = 0; m < geometry_.out_channels; ++m) {
        multiplier.push_back(static_cast<float>(xs) * static_cast<float>(ScaleAt(w_, ctx, m)) /
                             static_cast<float>(ys));
      }
      y_zero = static_cast<float>(ZeroAt(y_, ctx, 0));
    }
    const int32_t* bias = has_bias_ ? ctx.input_as<int32_t>(8) : nullptr;
    Dispatch8Bit(x_.dtype, w_.dtype, [&]<typename TX, typename TW>() {
      auto emit_int = [&](int64_t at, int64_t, int64_t acc) {
        ctx.output_as<int32_t>(0)[at] = static_cast<int32_t>(static_cast<uint32_t>(acc));
      };
      if (!quantized_) {
        Run(ctx.input_as<TX>(0), ctx.input_as<TW>(w_in_), xz, wz, emit_int);
        return;
      }
      Dispatch8Bit(y_.dtype, y_.dtype, [&]<typename TY, typename>() {
        TY* y = ctx.output_as<TY>(0);
        Run(ctx.input_as<TX>(0), ctx.input_as<TW>(w_in_), xz, wz,
            [&](int64_t at, int64_t m, int64_t acc) {
              if (bias) acc += bias[m];
              const float v = static_cast<float>(acc) * multiplier[m];
              y[at] = Saturate<TY>(std::nearbyint(static_cast<double>(v)) + y_zero);
            });
      });
    });
    return Status::Ok();
  }

 private:
  // Direct convolution over up to 3 spatial axes (missing ones are 1);
  // padded positions contribute nothing (they hold the zero point).
  template <typename TX, typename TW, typename Emit>
  void Run(const TX* x, const TW* w, int32_t xz, const std::vector<int32_t>& wz, Emit&& emit) const {
    const ConvGeometry& g = geometry_;
    const size_t spatial = x_dims_.size() - 2;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
            dl[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
    for (size_t d = 0; d < spatial; ++d) {
      const size_t at = 3 - spatial + d;
      in[at] = x_dims_[d + 2];
      out[at] = g.output_dims[d + 2];
      k[at] = g.kernel[d];
      s[at] = g.strides[d];
      dl[at] = g.dilations[d];
      pad[at] = g.pads_begin[d];
    }
    const int64_t batch = x_dims_[0], channels = x_dims_[1], m_total = g.out_channels;
    const int64_t c_per = channels / g.group, m_per = m_total / g.group;
    const int64_t in_plane = in[0] * in[1] * in[2], k_plane = k[0] * k[1] * k[2];
    const int64_t out_plane = out[0] * out[1] * out[2];
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t m = 0; m < m_total; ++m) {
        const int64_t grp = m / m_per;
        const int32_t mz = wz.size() == 1 ? wz[0] : wz[m];
        const TW* wm = w + m * c_per * k_plane;
        for (int64_t o0 = 0; o0 < out[0]; ++o0)
          for (int64_t o1 = 0; o1 < out[1]; ++o1)
            for (int64_t o2 = 0; o2 < out[2]; ++o2) {
              int64_t acc = 0;
              for (int64_t c = 0; c < c_per; ++c) {
                const TX* xc = x + (n * channels + grp * c_per + c) * in_plane;
                const TW* wc = wm + c * k_plane;
                for (int64_t k0 = 0; k0 < k[0]; ++k0) {
                  const int64_t i0 = o0 * s[0] - pad[0] + k0 * dl[0];
                  if (i0 < 0 || i0 >= in[0]) continue;
                  for (int64_t k1 = 0; k1 < k[1]; ++k1) {
                    const int64_t i1 = o1 * s[1] - pad[1] + k1 * dl[1];
                    if (i1 < 0 || i1 >= in[1]) continue;
                    for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                      const int64_t i2 = o2 * s[2] - pad[2] + k2 * dl[2];
                      if (i2 < 0 || i2 >= in[2]) continue;
                      acc += (static_cast<int64_t>(xc[(i0 * in[1] + i1) * in[2] + i2]) - xz) *
                             (static_cast<int64_t>(wc[(k0 * k[1] + k1) * k[2] + k2]) - mz);
                    }
                  }
                }
              }
              emit((n * m_total + m) * out_plane + (o0 * out[1] + o1) * out[2] + o2, m, acc);
            }
      }
    }
  }

  bool quantized_;
  int w_in_ = 3;
  bool has_bias_ = false;
  QuantOperand x_, w_, y_;
  std::vector<int64_t> x_dims_, w_dims_;
  ConvGeometry geometry_;
};

std::unique_ptr<Kernel> MakeQLinearConv() { return std::make_unique<QuantConvKernel>(true); }
std::unique_ptr<Kernel> MakeConvInteger() { return std::make_unique<QuantConvKernel>(false); }

}  // namespace

void RegisterQuantConvKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kQLinearConv, MakeQLinearConv);
  registry.Register(ir::OpKind::kConvInteger, MakeConvInteger);
}

}  // namespace bnfold::onednn
