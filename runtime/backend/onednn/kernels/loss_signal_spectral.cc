// DFT and STFT, the spectral ops of the loss/signal family
// (kernels/loss_signal.cc): the direct O(n^2) sum over a table of n
// twiddles, in double, rounded once on store. The sizes the suite and
// audio front ends use (frames of a few hundred samples) do not need an
// FFT; oneDNN has none.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/signal_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// One discrete Fourier transform of `n` complex samples read by `in(j)`
// (zero past the signal) into `bins` outputs written by `out(k, re, im)`:
// X[k] = sum_j x[j] e^(-+2 pi i j k / n), divided by n when inverse. The
// twiddles come from a table of n cosines and sines (`table`, 2n doubles).
template <typename In, typename Out>
void Dft(int64_t n, int64_t bins, bool inverse, const double* table, In&& in, Out&& out) {
  for (int64_t k = 0; k < bins; ++k) {
    double re = 0, im = 0;
    for (int64_t j = 0; j < n; ++j) {
      const auto [xr, xi] = in(j);
      const int64_t t = (j * k) % n;
      const double c = table[t], s = inverse ? table[n + t] : -table[n + t];
      re += xr * c - xi * s;
      im += xr * s + xi * c;
    }
    if (inverse) re /= static_cast<double>(n), im /= static_cast<double>(n);
    out(k, re, im);
  }
}

void FillTwiddles(int64_t n, double* table) {
  for (int64_t t = 0; t < n; ++t) {
    const double angle = 2 * M_PI * static_cast<double>(t) / static_cast<double>(n);
    table[t] = std::cos(angle);
    table[n + t] = std::sin(angle);
  }
}

// Reads a scalar integer input that must be known when the model is
// compiled (it sets an output dim); `fallback` when the input is omitted.
StatusOr<int64_t> KnownScalar(const CompileContext& ctx, int i, const std::string& what,
                              int64_t fallback) {
  if (ctx.num_inputs() <= i || !ctx.has_input(i)) return fallback;
  ASSIGN_OR_RETURN(const std::vector<int64_t> v, ConstantInts(ctx, i, what));
  if (v.size() != 1) return InvalidModel(ctx.Describe() + ": " + what + " must be a scalar");
  return v[0];
}

// Checks a signal input: a floating type with a last dim of 1 (real) or 2
// (complex).
Status CheckSignal(const CompileContext& ctx, const char* what) {
  const TensorDesc& x = ctx.input(0);
  if (x.dtype != DataType::kFloat && x.dtype != DataType::kDouble &&
      x.dtype != DataType::kFloat16 && x.dtype != DataType::kBfloat16) {
    return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
  }
  if (x.dims.size() < 2 || (x.dims.back() != 1 && x.dims.back() != 2)) {
    return InvalidModel(ctx.Describe() + ": " + what + " has shape " + ShapeToString(x.dims) +
                        ", expected [..., 1] (real) or [..., 2] (complex)");
  }
  return Status::Ok();
}

// DFT(input[, dft_length][, axis (opset 20)]): the transform along `axis`
// (an attribute, default 1, before opset 20; an input, default -2, after),
// zero-padded or truncated to dft_length; onesided keeps bins
// [0, n / 2]; output [..., 2].
class DftKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(CheckSignal(ctx, "input"));
    const TensorDesc& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    AskForValues(ctx, {1, 2});
    int64_t axis = 0;
    if (ctx.node().opset() >= 20) {
      ASSIGN_OR_RETURN(axis, KnownScalar(ctx, 2, "axis", -2));
    } else {
      ASSIGN_OR_RETURN(axis, ctx.node().GetInt("axis", 1));
    }
    ASSIGN_OR_RETURN(axis, NormalizeAxis(ctx, axis, rank));
    if (axis == rank - 1) {
      return InvalidModel(ctx.Describe() + ": axis is the real/imaginary dim");
    }
    ASSIGN_OR_RETURN(const int64_t inverse, ctx.node().GetInt("inverse", 0));
    ASSIGN_OR_RETURN(const int64_t onesided, ctx.node().GetInt("onesided", 0));
    inverse_ = inverse != 0;
    signal_ = x.dims[axis];
    ASSIGN_OR_RETURN(n_, KnownScalar(ctx, 1, "dft_length", signal_));
    if (n_ < 1) return InvalidModel(ctx.Describe() + ": dft_length must be positive");
    bins_ = onesided ? n_ / 2 + 1 : n_;
    complex_ = x.dims.back() == 2;
    outer_ = inner_ = 1;
    for (int64_t d = 0; d < rank - 1; ++d) {
      if (d < axis) outer_ *= x.dims[d];
      if (d > axis) inner_ *= x.dims[d];
    }
    dtype_ = x.dtype;
    std::vector<int64_t> dims = x.dims;
    dims[axis] = bins_;
    dims.back() = 2;
    ctx.SetOutput(0, x.dtype, std::move(dims));
    ctx.RequestScratchpad(static_cast<size_t>(2 * n_) * sizeof(double));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    double* table = static_cast<double*>(ctx.scratchpad());
    FillTwiddles(n_, table);
    DispatchElement<kFloatingElements>(dtype_, [&]<DataType kType>() {
      using E = Element<kType>;
      const auto* x = ctx.input_as<typename E::Storage>(0);
      auto* y = ctx.output_as<typename E::Storage>(0);
      const int64_t c = complex_ ? 2 : 1;
      for (int64_t o = 0; o < outer_; ++o) {
        for (int64_t i = 0; i < inner_; ++i) {
          const auto in = [&](int64_t j) -> std::pair<double, double> {
            if (j >= signal_) return {0.0, 0.0};
            const auto* p = x + ((o * signal_ + j) * inner_ + i) * c;
            return {E::Load(p[0]), complex_ ? double{E::Load(p[1])} : 0.0};
          };
          const auto out = [&](int64_t k, double re, double im) {
            auto* p = y + ((o * bins_ + k) * inner_ + i) * 2;
            p[0] = E::Store(static_cast<typename E::Compute>(re));
            p[1] = E::Store(static_cast<typename E::Compute>(im));
          };
          Dft(n_, bins_, inverse_, table, in, out);
        }
      }
    });
    return Status::Ok();
  }

 private:
  DataType dtype_ = DataType::kFloat;
  int64_t signal_ = 0, n_ = 0, bins_ = 0, outer_ = 1, inner_ = 1;
  bool inverse_ = false, complex_ = false;
};

// STFT(signal [batch, length, 1|2], frame_step[, window][, frame_length]):
// the DFT of each frame signal[f * frame_step + n] * window[n] (n <
// frame_length), output [batch, frames, bins, 2] with frames =
// (length - frame_length) / frame_step + 1 and bins = frame_length / 2 + 1
// when onesided (the default).
class StftKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    RETURN_IF_ERROR(CheckSignal(ctx, "signal"));
    const TensorDesc& x = ctx.input(0);
    if (x.dims.size() != 3) {
      return InvalidModel(ctx.Describe() + ": signal must be [batch, length, 1|2]");
    }
    AskForValues(ctx, {1, 3});
    ASSIGN_OR_RETURN(step_, KnownScalar(ctx, 1, "frame_step", 0));
    has_window_ = ctx.num_inputs() > 2 && ctx.has_input(2);
    int64_t window_length = -1;
    if (has_window_) {
      const TensorDesc& w = ctx.input(2);
      if (w.dtype != x.dtype || w.dims.size() != 1) {
        return InvalidModel(ctx.Describe() + ": window must be 1-D of the signal's type");
      }
      window_length = w.dims[0];
    }
    ASSIGN_OR_RETURN(length_, KnownScalar(ctx, 3, "frame_length", window_length));
    if (has_window_ && length_ != window_length) {
      return InvalidModel(ctx.Describe() + ": frame_length " + std::to_string(length_) +
                          " differs from the window's length " + std::to_string(window_length));
    }
    if (length_ < 1 || step_ < 1 || length_ > x.dims[1]) {
      return InvalidModel(ctx.Describe() + ": needs frame_step >= 1 and a frame length in [1, " +
                          std::to_string(x.dims[1]) + "] (a window or frame_length)");
    }
    ASSIGN_OR_RETURN(const int64_t onesided, ctx.node().GetInt("onesided", 1));
    bins_ = onesided ? length_ / 2 + 1 : length_;
    frames_ = (x.dims[1] - length_) / step_ + 1;
    batch_ = x.dims[0];
    signal_ = x.dims[1];
    complex_ = x.dims[2] == 2;
    dtype_ = x.dtype;
    ctx.SetOutput(0, x.dtype, {batch_, frames_, bins_, 2});
    ctx.RequestScratchpad(static_cast<size_t>(2 * length_) * sizeof(double));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    double* table = static_cast<double*>(ctx.scratchpad());
    FillTwiddles(length_, table);
    DispatchElement<kFloatingElements>(dtype_, [&]<DataType kType>() {
      using E = Element<kType>;
      const auto* x = ctx.input_as<typename E::Storage>(0);
      const auto* w = has_window_ ? ctx.input_as<typename E::Storage>(2) : nullptr;
      auto* y = ctx.output_as<typename E::Storage>(0);
      const int64_t c = complex_ ? 2 : 1;
      for (int64_t b = 0; b < batch_; ++b) {
        for (int64_t f = 0; f < frames_; ++f) {
          const auto in = [&](int64_t j) -> std::pair<double, double> {
            const auto* p = x + (b * signal_ + f * step_ + j) * c;
            const double scale = w ? double{E::Load(w[j])} : 1.0;
            return {scale * E::Load(p[0]), complex_ ? scale * E::Load(p[1]) : 0.0};
          };
          const auto out = [&](int64_t k, double re, double im) {
            auto* p = y + ((b * frames_ + f) * bins_ + k) * 2;
            p[0] = E::Store(static_cast<typename E::Compute>(re));
            p[1] = E::Store(static_cast<typename E::Compute>(im));
          };
          Dft(length_, bins_, false, table, in, out);
        }
      }
    });
    return Status::Ok();
  }

 private:
  DataType dtype_ = DataType::kFloat;
  int64_t step_ = 0, length_ = 0, bins_ = 0, frames_ = 0, batch_ = 0, signal_ = 0;
  bool has_window_ = false, complex_ = false;
};

}  // namespace

void RegisterSpectralKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kDFT, MakeKernel<DftKernel>);
  registry.Register(ir::OpKind::kSTFT, MakeKernel<StftKernel>);
}

}  // namespace bnfold::onednn
