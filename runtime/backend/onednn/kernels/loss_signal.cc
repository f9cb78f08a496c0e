// Kernels of the losses, windows and spectral ops (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file). All are C++ loops that compute
// in double and round once on store: oneDNN has no loss or FFT primitive,
// and these ops are small next to the layers around them. DFT and STFT
// live in loss_signal_spectral.cc.
//
// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss share one core: the
// input is seen as [N, C, D] (D the product of the dims after C), the target
// as [N, D]; loss[n, d] = -w[t] * logp[n, t, d] with t = target[n, d], 0 where
// t == ignore_index; "mean" divides the sum by the sum of the weights used
// (the count of targets not ignored when there is no weight input), as the
// ONNX reference and PyTorch do. A target outside [0, C) that is not the
// ignore_index is an error at run time, never a read outside the input.
#include <cmath>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/backend/onednn/kernels/support/signal_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

enum class Reduction { kNone, kSum, kMean };

// The geometry and attributes both losses share.
struct LossPlan {
  int64_t n = 0, c = 0, d = 0;  // input seen as [N, C, D]
  Reduction reduction = Reduction::kMean;
  std::optional<int64_t> ignore_index;
  bool int64_target = true;
  bool has_weight = false;
  DataType dtype = DataType::kUndefined;
};

// Validates the input, target and weight of either loss (inputs 0, 1, 2),
// reads the attributes and declares output 0.
StatusOr<LossPlan> CompileLoss(CompileContext& ctx, const char* input_name) {
  LossPlan plan;
  const TensorDesc& x = ctx.input(0);
  const TensorDesc& target = ctx.input(1);
  const int64_t opset = ctx.node().opset();
  const bool bf16 = ctx.node().kind() == ir::OpKind::kNegativeLogLikelihoodLoss ? opset >= 22
                                                                                  : opset >= 13;
  if (x.dtype != DataType::kFloat && x.dtype != DataType::kDouble &&
      x.dtype != DataType::kFloat16 && !(bf16 && x.dtype == DataType::kBfloat16)) {
    return UnsupportedType(ctx, 0, bf16 ? "float16, float, double, bfloat16"
                                        : "float16, float, double");
  }
  if (target.dtype != DataType::kInt32 && target.dtype != DataType::kInt64) {
    return UnsupportedType(ctx, 1, "int32, int64");
  }
  if (x.dims.size() < 2) {
    return InvalidModel(ctx.Describe() + ": " + input_name + " has rank " +
                        std::to_string(x.dims.size()) + ", expected [N, C, d1, ...]");
  }
  std::vector<int64_t> loss_dims = {x.dims[0]};
  loss_dims.insert(loss_dims.end(), x.dims.begin() + 2, x.dims.end());
  if (target.dims != loss_dims) {
    return InvalidModel(ctx.Describe() + ": target has shape " + ShapeToString(target.dims) +
                        ", expected " + ShapeToString(loss_dims) + " for " + input_name + " " +
                        ShapeToString(x.dims));
  }
  plan.n = x.dims[0];
  plan.c = x.dims[1];
  plan.d = 1;
  for (size_t i = 2; i < x.dims.size(); ++i) plan.d *= x.dims[i];
  plan.dtype = x.dtype;
  plan.int64_target = target.dtype == DataType::kInt64;
  plan.has_weight = ctx.num_inputs() > 2 && ctx.has_input(2);
  if (plan.has_weight) {
    const TensorDesc& weight = ctx.input(2);
    if (weight.dtype != x.dtype) {
      return InvalidModel(ctx.Describe() + ": weight has element type " +
                          DataTypeName(weight.dtype) + ", expected " + DataTypeName(x.dtype));
    }
    if (weight.dims != std::vector<int64_t>{plan.c}) {
      return InvalidModel(ctx.Describe() + ": weight has shape " + ShapeToString(weight.dims) +
                          ", expected [" + std::to_string(plan.c) + "]");
    }
  }
  ASSIGN_OR_RETURN(const std::string reduction, ctx.node().GetString("reduction", "mean"));
  if (reduction == "none") plan.reduction = Reduction::kNone;
  else if (reduction == "sum") plan.reduction = Reduction::kSum;
  else if (reduction == "mean") plan.reduction = Reduction::kMean;
  else return InvalidModel(ctx.Describe() + ": unknown reduction '" + reduction + "'");
  if (ctx.node().FindAttribute("ignore_index") != nullptr) {
    ASSIGN_OR_RETURN(plan.ignore_index, ctx.node().GetInt("ignore_index", 0));
  }
  ctx.SetOutput(0, x.dtype,
                plan.reduction == Reduction::kNone ? loss_dims : std::vector<int64_t>{});
  return plan;
}

template <typename I>
Status NllTyped(const LossPlan& p, const I* target, const auto& logp, const auto& weight,
                const auto& store) {
  double sum = 0, weight_sum = 0;
  for (int64_t n = 0; n < p.n; ++n) {
    for (int64_t j = 0; j < p.d; ++j) {
      const int64_t t = target[n * p.d + j];
      double loss = 0;
      if (!(p.ignore_index && t == *p.ignore_index)) {
        if (t < 0 || t >= p.c) {
          return InvalidArgument("target " + std::to_string(t) + " at position " +
                                 std::to_string(n * p.d + j) + " is out of range [0, " +
                                 std::to_string(p.c) + ")");
        }
        const double w = weight(t);
        loss = -w * logp((n * p.c + t) * p.d + j);
        weight_sum += w;
      }
      if (p.reduction == Reduction::kNone) store(n * p.d + j, loss);
      sum += loss;
    }
  }
  if (p.reduction == Reduction::kSum) store(0, sum);
  if (p.reduction == Reduction::kMean) store(0, sum / weight_sum);
  return Status::Ok();
}

// Runs the loss over `logp(i)` (the log-probabilities, flat [N, C, D]) into
// output 0 of element type kType.
template <DataType kType>
Status RunNll(const LossPlan& p, ExecContext& ctx, const auto& logp) {
  using E = Element<kType>;
  const auto* w = ctx.input_as<typename E::Storage>(2);
  auto* y = ctx.output_as<typename E::Storage>(0);
  const auto weight = [&](int64_t t) { return p.has_weight ? double{E::Load(w[t])} : 1.0; };
  const auto store = [&](int64_t i, double v) { y[i] = E::Store(static_cast<typename E::Compute>(v)); };
  return p.int64_target ? NllTyped(p, ctx.input_as<int64_t>(1), logp, weight, store)
                        : NllTyped(p, ctx.input_as<int32_t>(1), logp, weight, store);
}

// NegativeLogLikelihoodLoss(input, target[, weight]): input holds the
// log-probabilities.
class NllLossKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(plan_, CompileLoss(ctx, "input"));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    Status status;
    DispatchElement<kFloatingElements>(plan_.dtype, [&]<DataType kType>() {
      using E = Element<kType>;
      const auto* x = ctx.input_as<typename E::Storage>(0);
      status = RunNll<kType>(plan_, ctx, [&](int64_t i) { return double{E::Load(x[i])}; });
    });
    return status;
  }

 private:
  LossPlan plan_;
};

// SoftmaxCrossEntropyLoss(scores, labels[, weights]) -> (output[, log_prob]):
// the log-softmax of the scores over C (in double, in the scratchpad), then
// the negative log-likelihood of it.
class SoftmaxCrossEntropyKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(plan_, CompileLoss(ctx, "scores"));
    log_prob_ = ctx.num_outputs() > 1 && ctx.has_output(1);
    if (log_prob_) ctx.SetOutput(1, plan_.dtype, ctx.input(0).dims);
    ctx.RequestScratchpad(static_cast<size_t>(plan_.n * plan_.c * plan_.d) * sizeof(double));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    Status status;
    DispatchElement<kFloatingElements>(plan_.dtype, [&]<DataType kType>() {
      using E = Element<kType>;
      const auto* x = ctx.input_as<typename E::Storage>(0);
      double* logp = static_cast<double*>(ctx.scratchpad());
      const int64_t c = plan_.c, d = plan_.d;
      for (int64_t n = 0; n < plan_.n; ++n) {
        for (int64_t j = 0; j < d; ++j) {
          const int64_t base = n * c * d + j;
          double max = -INFINITY;
          for (int64_t k = 0; k < c; ++k) max = std::fmax(max, E::Load(x[base + k * d]));
          double sum = 0;
          for (int64_t k = 0; k < c; ++k) sum += std::exp(E::Load(x[base + k * d]) - max);
          const double log_sum = std::log(sum) + max;
          for (int64_t k = 0; k < c; ++k) logp[base + k * d] = E::Load(x[base + k * d]) - log_sum;
        }
      }
      if (log_prob_) {
        auto* log_prob = ctx.output_as<typename E::Storage>(1);
        for (int64_t i = 0; i < plan_.n * c * d; ++i) {
          log_prob[i] = E::Store(static_cast<typename E::Compute>(logp[i]));
        }
      }
      status = RunNll<kType>(plan_, ctx, [&](int64_t i) { return logp[i]; });
    });
    return status;
  }

 private:
  LossPlan plan_;
  bool log_prob_ = false;
};

// ---------------------------------------------------------------- windows

// Stores `v` as element i of a buffer of `dtype` (windows and
// MelWeightMatrix choose their output type with output_datatype).
void StoreAs(DataType dtype, void* out, int64_t i, double v) {
  DispatchElement<kAllElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    static_cast<typename E::Storage*>(out)[i] = E::Store(static_cast<typename E::Compute>(v));
  });
}

// output_datatype: a numeric type (float by default).
StatusOr<DataType> OutputDatatype(const CompileContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t code, ctx.node().GetInt("output_datatype", 1));
  const DataType dtype = static_cast<DataType>(code);
  if (dtype == DataType::kBool || !IsElementIn<kAllElements>(dtype)) {
    return InvalidModel(ctx.Describe() + ": output_datatype " + std::to_string(code) +
                        " is not a numeric type");
  }
  return dtype;
}

// The value of scalar integer operand `i` and the output dim it fixes:
// known now, or the model's declared output dim `dim` (checked at run time).
struct ScalarDim {
  IntOperand operand;
  int64_t value = 0;

  static StatusOr<ScalarDim> FromInput(const CompileContext& ctx, int i, const std::string& what,
                                       const std::function<int64_t(const std::vector<int64_t>&)>& declared) {
    ScalarDim s;
    ASSIGN_OR_RETURN(s.operand, IntOperand::FromInput(ctx, i, what));
    if (s.operand.length() != 1) {
      return InvalidModel(ctx.Describe() + ": " + what + " must hold one element");
    }
    if (s.operand.is_constant()) {
      s.value = s.operand.values()[0];
    } else {
      ASSIGN_OR_RETURN(const std::vector<int64_t> dims, DeclaredOutputDims(ctx, 0, what));
      s.value = declared(dims);
    }
    return s;
  }

  Status Check(const ExecContext& ctx, const std::string& what) const {
    if (operand.is_constant()) return Status::Ok();
    int64_t buffer[kMaxOperandLength];
    const std::span<const int64_t> got = operand.Read(ctx, buffer);
    if (got[0] == value) return Status::Ok();
    return OperandMismatch(what, got, std::span<const int64_t>(&value, 1));
  }
};

// HannWindow, HammingWindow, BlackmanWindow: a [size] cosine-sum window
// w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size (periodic,
// the default) or size - 1 (symmetric; a symmetric window of one sample is
// [1], as numpy's).
class WindowKernel : public Kernel {
 public:
  WindowKernel(double a0, double a1, double a2) : a0_(a0), a1_(a1), a2_(a2) {}

  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(dtype_, OutputDatatype(ctx));
    ASSIGN_OR_RETURN(const int64_t periodic, ctx.node().GetInt("periodic", 1));
    periodic_ = periodic != 0;
    ASSIGN_OR_RETURN(size_, ScalarDim::FromInput(ctx, 0, "size", [](const std::vector<int64_t>& d) {
                       return d.size() == 1 ? d[0] : -1;
                     }));
    if (size_.value < 0) {
      return InvalidModel(ctx.Describe() + ": size " + std::to_string(size_.value) + " is negative");
    }
    ctx.SetOutput(0, dtype_, {size_.value});
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    RETURN_IF_ERROR(size_.Check(ctx, "size"));
    const int64_t n = size_.value;
    const double period = static_cast<double>(periodic_ ? n : n - 1);
    for (int64_t i = 0; i < n; ++i) {
      const double x = 2 * M_PI * static_cast<double>(i) / period;
      StoreAs(dtype_, ctx.output(0), i,
              period > 0 ? a0_ - a1_ * std::cos(x) + a2_ * std::cos(2 * x) : 1.0);
    }
    return Status::Ok();
  }

 private:
  double a0_, a1_, a2_;
  DataType dtype_ = DataType::kFloat;
  bool periodic_ = true;
  ScalarDim size_;
};

// ---------------------------------------------------------------- MelWeightMatrix

// MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz,
// upper_edge_hertz) -> [dft_length / 2 + 1, num_mel_bins]: triangular
// filters between num_mel_bins + 2 points on the mel scale (mel = 2595
// log10(1 + hz / 700)), point i at lower + i (upper - lower) / (num_mel_bins
// + 2) -- the step the ONNX reference, its test data and ONNX Runtime use --
// each mapped to the spectrogram bin floor((dft_length + 1) hz /
// sample_rate).
class MelWeightMatrixKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(dtype_, OutputDatatype(ctx));
    AskForValues(ctx, {0, 1});
    ASSIGN_OR_RETURN(mel_bins_, ScalarDim::FromInput(ctx, 0, "num_mel_bins",
                                                     [](const std::vector<int64_t>& d) {
                                                       return d.size() == 2 ? d[1] : -1;
                                                     }));
    ASSIGN_OR_RETURN(dft_length_, IntOperand::FromInput(ctx, 1, "dft_length"));
    ASSIGN_OR_RETURN(sample_rate_, IntOperand::FromInput(ctx, 2, "sample_rate"));
    ASSIGN_OR_RETURN(lower_, RealOperand::FromInput(ctx, 3, "lower_edge_hertz"));
    ASSIGN_OR_RETURN(upper_, RealOperand::FromInput(ctx, 4, "upper_edge_hertz"));
    for (size_t length : {dft_length_.length(), sample_rate_.length(), lower_.length(),
                          upper_.length()}) {
      if (length != 1) return InvalidModel(ctx.Describe() + ": every input must be a scalar");
    }
    if (dft_length_.is_constant()) {
      spectrogram_bins_ = dft_length_.values()[0] / 2 + 1;
    } else {
      ASSIGN_OR_RETURN(const std::vector<int64_t> dims, DeclaredOutputDims(ctx, 0, "dft_length"));
      spectrogram_bins_ = dims.size() == 2 ? dims[0] : -1;
    }
    if (mel_bins_.value < 0 || spectrogram_bins_ < 1) {
      return InvalidModel(ctx.Describe() + ": num_mel_bins and dft_length must not be negative");
    }
    ctx.SetOutput(0, dtype_, {spectrogram_bins_, mel_bins_.value});
    ctx.RequestScratchpad(static_cast<size_t>(mel_bins_.value + 2) * sizeof(int64_t));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    RETURN_IF_ERROR(mel_bins_.Check(ctx, "num_mel_bins"));
    int64_t ibuf[kMaxOperandLength];
    double dbuf[kMaxOperandLength];
    const int64_t dft_length = dft_length_.Read(ctx, ibuf)[0];
    if (dft_length / 2 + 1 != spectrogram_bins_ || dft_length < 0) {
      return InvalidArgument("dft_length " + std::to_string(dft_length) +
                             " does not give the planned " + std::to_string(spectrogram_bins_) +
                             " spectrogram bins");
    }
    const int64_t sample_rate = sample_rate_.Read(ctx, ibuf)[0];
    if (sample_rate <= 0) return InvalidArgument("sample_rate must be positive");
    const double lower = lower_.Read(ctx, dbuf)[0];
    const double upper = upper_.Read(ctx, dbuf)[0];
    const int64_t mels = mel_bins_.value;
    const auto to_mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
    const double low_mel = to_mel(lower);
    const double step = (to_mel(upper) - low_mel) / static_cast<double>(mels + 2);
    int64_t* bins = static_cast<int64_t*>(ctx.scratchpad());
    for (int64_t i = 0; i < mels + 2; ++i) {
      const double hz = 700 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595) - 1);
      bins[i] = static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz /
                                                static_cast<double>(sample_rate)));
      if (bins[i] < 0 || bins[i] >= spectrogram_bins_) {
        return InvalidArgument("the mel edges map outside the " +
                               std::to_string(spectrogram_bins_) + " spectrogram bins");
      }
    }
    void* out = ctx.output(0);
    for (int64_t i = 0; i < spectrogram_bins_ * mels; ++i) StoreAs(dtype_, out, i, 0.0);
    for (int64_t m = 0; m < mels; ++m) {
      const int64_t left = bins[m], center = bins[m + 1], right = bins[m + 2];
      if (center == left) {
        StoreAs(dtype_, out, center * mels + m, 1.0);
      } else {
        for (int64_t j = left; j <= center; ++j) {
          StoreAs(dtype_, out, j * mels + m,
                  static_cast<double>(j - left) / static_cast<double>(center - left));
        }
      }
      for (int64_t j = center; j < right; ++j) {
        StoreAs(dtype_, out, j * mels + m,
                static_cast<double>(right - j) / static_cast<double>(right - center));
      }
    }
    return Status::Ok();
  }

 private:
  DataType dtype_ = DataType::kFloat;
  ScalarDim mel_bins_;
  IntOperand dft_length_, sample_rate_;
  RealOperand lower_, upper_;
  int64_t spectrogram_bins_ = 0;
};

}  // namespace

void RegisterLossSignalKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kNegativeLogLikelihoodLoss, MakeKernel<NllLossKernel>);
  registry.Register(ir::OpKind::kSoftmaxCrossEntropyLoss, MakeKernel<SoftmaxCrossEntropyKernel>);
  registry.Register(ir::OpKind::kHannWindow,
                    [] { return std::unique_ptr<Kernel>(new WindowKernel(0.5, 0.5, 0.0)); });
  registry.Register(ir::OpKind::kHammingWindow, [] {
    return std::unique_ptr<Kernel>(new WindowKernel(25.0 / 46.0, 21.0 / 46.0, 0.0));
  });
  registry.Register(ir::OpKind::kBlackmanWindow,
                    [] { return std::unique_ptr<Kernel>(new WindowKernel(0.42, 0.5, 0.08)); });
  registry.Register(ir::OpKind::kMelWeightMatrix, MakeKernel<MelWeightMatrixKernel>);
  RegisterSpectralKernels(registry);
}

}  // namespace bnfold::onednn
