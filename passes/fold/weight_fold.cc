#include "passes/fold/weight_fold.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "runtime/common/half.h"
#include "runtime/common/target_clones.h"

namespace bnfold::passes {

namespace {

// One element of each floating-point dtype: read as double and rounded
// back exactly as Tensor::GetAsDouble and Tensor::SetFromDouble do.
template <DataType kType>
struct Element;

// Bits: the element's bit pattern. With the sign cleared, a larger finite
// magnitude has a larger pattern, and infinity and NaN (patterns from
// kInfinity up) sort above every finite value.
template <>
struct Element<DataType::kFloat> {
  using Storage = float;
  using Bits = uint32_t;
  static constexpr Bits kMagnitude = 0x7fffffffu, kInfinity = 0x7f800000u;
  static double Read(float v) { return v; }
  static float Round(double v) { return static_cast<float>(v); }
  static bool Finite(float v) { return std::isfinite(v); }
};

template <>
struct Element<DataType::kDouble> {
  using Storage = double;
  using Bits = uint64_t;
  static constexpr Bits kMagnitude = 0x7fffffffffffffffull, kInfinity = 0x7ff0000000000000ull;
  static double Read(double v) { return v; }
  static double Round(double v) { return v; }
  static bool Finite(double v) { return std::isfinite(v); }
};

template <>
struct Element<DataType::kFloat16> {
  using Storage = uint16_t;
  using Bits = uint16_t;
  static constexpr Bits kMagnitude = 0x7fff, kInfinity = 0x7c00;
  static double Read(uint16_t v) { return HalfToFloat(v); }
  static uint16_t Round(double v) { return DoubleToHalf(v); }  // once, not via float
  static bool Finite(uint16_t v) { return (v & 0x7c00) != 0x7c00; }  // exponent not all ones
};

template <>
struct Element<DataType::kBfloat16> {
  using Storage = uint16_t;
  using Bits = uint16_t;
  static constexpr Bits kMagnitude = 0x7fff, kInfinity = 0x7f80;
  static double Read(uint16_t v) { return Bfloat16ToFloat(v); }
  static uint16_t Round(double v) { return DoubleToBfloat16(v); }
  static bool Finite(uint16_t v) { return (v & 0x7f80) != 0x7f80; }
};

// The two hot loops of a float32 fold, compiled per ISA (GCC picks a clone
// when the library loads; the library itself targets baseline x86-64):
// the largest |W| as a bit pattern, and W * factor over a run. Conversions
// and one multiply are exact IEEE operations, so every clone gives the
// same bits as the scalar loop.
BNFOLD_TARGET_CLONES("avx512f", "avx2", "default")
uint32_t LargestMagnitudeBits(const uint32_t* bits, int64_t n) {
  uint32_t largest = 0;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, bits[i] & 0x7fffffffu);
  return largest;
}

BNFOLD_TARGET_CLONES("avx512f", "avx2", "default")
void ScaleFloats(const float* in, float* out, int64_t n, double factor) {
  if (in == out) {  // one pointer: no overlap check keeping the loop scalar
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(out[i]) * factor);
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(in[i]) * factor);
}

// Writes W' from W run by run, and remembers the first non-finite result
// for the reason. Without kStore it only checks (match stays pure); without
// kCheck it only writes (the result is known finite). `out` may be `in`
// itself (each element is read before it is written).
template <DataType kType, bool kStore = true, bool kCheck = true>
class WeightWriter {
 public:
  using Storage = typename Element<kType>::Storage;

  WeightWriter(const Tensor& in, Tensor* out)
      : in_(in.data_as<Storage>()), out_(out ? out->data_as<Storage>() : nullptr) {}

  // Elements [begin, begin + count): element begin + j becomes
  // W * factor(j), and accumulate(j, W) sees its unscaled value. False at
  // the first non-finite result.
  template <typename Factor, typename Accumulate>
  bool Scale(int64_t begin, int64_t count, Factor factor, Accumulate accumulate) {
    const Storage* in = in_ + begin;
    for (int64_t j = 0; j < count; ++j) {
      const double value = Element<kType>::Read(in[j]);
      const double scaled = value * factor(j);
      const Storage rounded = Element<kType>::Round(scaled);
      accumulate(j, value);
      if constexpr (kStore) out_[begin + j] = rounded;
      if (kCheck && !Element<kType>::Finite(rounded)) {
        bad_index_ = begin + j;
        bad_value_ = scaled;
        return false;
      }
    }
    return true;
  }

  // Scale() with one factor for the whole run and nothing to accumulate.
  bool Scale(int64_t begin, int64_t count, double factor) {
    if constexpr (kType == DataType::kFloat && kStore && !kCheck) {
      ScaleFloats(in_ + begin, out_ + begin, count, factor);
      return true;
    }
    return Scale(begin, count, [factor](int64_t) { return factor; }, [](int64_t, double) {});
  }

  int64_t bad_index() const { return bad_index_; }
  double bad_value() const { return bad_value_; }

 private:
  const Storage* in_;
  Storage* out_;
  int64_t bad_index_ = -1;
  double bad_value_ = 0.0;
};

// W' = W * s[output channel], over the weight's [a, b, run] blocks.
template <typename Writer>
bool ScaleOutputs(const WeightAxes& w, const std::vector<double>& s, Writer& writer) {
  const int64_t row = w.b * w.run;
  for (int64_t i = 0; i < w.a; ++i) {
    if (w.output_first) {  // one factor for the whole row
      if (!writer.Scale(i * row, row, s[i])) return false;
      continue;
    }
    const double* factors = s.data() + w.GroupBase(i);
    const bool ok = w.run == 1
                        ? writer.Scale(
                              i * row, row, [&](int64_t j) { return factors[j]; },
                              [](int64_t, double) {})
                        : [&] {
                            for (int64_t j = 0; j < w.b; ++j) {
                              if (!writer.Scale(i * row + j * w.run, w.run, factors[j])) return false;
                            }
                            return true;
                          }();
    if (!ok) return false;
  }
  return true;
}

// W' = W * s[input channel], and with kShift, shift_out[o] += W * t[input
// channel] for each output channel o (W unscaled). Without kShift, `t` and
// `shift_out` are not used.
template <bool kShift, typename Writer>
bool ScaleInputs(const WeightAxes& w, const std::vector<double>& s, const double* t,
                 double* shift_out, Writer& writer) {
  const int64_t row = w.b * w.run;
  for (int64_t i = 0; i < w.a; ++i) {
    const int64_t base = w.GroupBase(i);
    bool ok = true;
    if (w.output_first) {  // row i feeds output i; block j reads input base + j
      if (w.run == 1) {
        ok = writer.Scale(
            i * row, row, [&](int64_t j) { return s[base + j]; },
            [&]([[maybe_unused]] int64_t j, [[maybe_unused]] double value) {
              if constexpr (kShift) shift_out[i] += value * t[base + j];
            });
      } else {
        for (int64_t j = 0; ok && j < w.b; ++j) {
          const double factor = s[base + j];
          ok = writer.Scale(
              i * row + j * w.run, w.run, [factor](int64_t) { return factor; },
              [&](int64_t, [[maybe_unused]] double value) {
                if constexpr (kShift) shift_out[i] += value * t[base + j];
              });
        }
      }
    } else {  // row i reads input i; block j feeds output base + j
      const double factor = s[i];
      if constexpr (kShift) {
        ok = writer.Scale(
            i * row, row, [factor](int64_t) { return factor; },
            [&](int64_t k, double value) { shift_out[base + k / w.run] += value * t[i]; });
      } else {
        ok = writer.Scale(i * row, row, factor);
      }
    }
    if (!ok) return false;
  }
  return true;
}

// Calls `run.template operator()<kType>()` for the weight's floating-point
// dtype; false for any other dtype (MatchLinearOp admits none).
template <typename Run>
bool DispatchFloating(DataType dtype, Run&& run) {
  switch (dtype) {
    case DataType::kFloat: return run.template operator()<DataType::kFloat>();
    case DataType::kDouble: return run.template operator()<DataType::kDouble>();
    case DataType::kFloat16: return run.template operator()<DataType::kFloat16>();
    case DataType::kBfloat16: return run.template operator()<DataType::kBfloat16>();
    default: return false;
  }
}

// Whether every W * s with |s| <= max_abs_scale rounds to a finite value:
// true when the largest |W| times max_abs_scale does (rounding is
// monotonic). One integer max over W's bit patterns, which vectorises: the
// in-place path's check then costs a read of W, not a second fold.
bool ScaledSurelyFinite(const Tensor& weight, double max_abs_scale) {
  bool finite = false;
  DispatchFloating(weight.dtype(), [&]<DataType kType>() {
    using E = Element<kType>;
    using Bits = typename E::Bits;
    const Bits* bits = static_cast<const Bits*>(weight.data());
    const int64_t n = weight.num_elements();
    Bits largest = 0;
    if constexpr (kType == DataType::kFloat) {
      largest = LargestMagnitudeBits(bits, n);
    } else {
      for (int64_t i = 0; i < n; ++i) largest = std::max<Bits>(largest, bits[i] & E::kMagnitude);
    }
    if (largest >= E::kInfinity) return false;
    typename E::Storage value;
    std::memcpy(&value, &largest, sizeof(value));
    finite = E::Finite(E::Round(E::Read(value) * max_abs_scale));
    return true;
  });
  return finite;
}

// Runs `loops` (a generic lambda taking a WeightWriter) over `weight` for
// its dtype, writing into `out` when kStore. The reason names the first
// non-finite result, as RoundToDtype does; empty when every element is
// finite.
template <bool kStore, bool kCheck = true, typename Loops>
std::string RunLoops(const Tensor& weight, Tensor* out, const std::string& what, Loops&& loops) {
  int64_t bad_index = -1;
  double bad_value = 0.0;
  bool dispatched = false;
  const bool ok = DispatchFloating(weight.dtype(), [&]<DataType kType>() {
    dispatched = true;
    WeightWriter<kType, kStore, kCheck> writer(weight, out);
    if (weight.num_elements() > 0 && !loops(writer)) {
      bad_index = writer.bad_index();
      bad_value = writer.bad_value();
      return false;
    }
    return true;
  });
  if (!dispatched) {
    return "the " + what + " is " + DataTypeName(weight.dtype()) + ", not a floating-point type";
  }
  if (!ok) {
    return "the folded " + what + " would hold a non-finite value (" + NumberString(bad_value) +
           " at element " + std::to_string(bad_index) + " in " + DataTypeName(weight.dtype()) +
           ")";
  }
  return "";
}

// W' by `loops(w, writer)`, the fold's per-channel scaling of any w by
// `scale` (it accumulates nothing and owns copies of what it reads: the
// commit runs it after the match is gone). When nothing else reads W, only
// checked now: by the bound of ScaledSurelyFinite, the exact loop only when
// that fails; the commit writes W' into W's own buffer. Else built now into
// a new tensor.
template <typename Loops>
MatchOr<FoldedWeight> FoldWeight(const ir::Value& weight_value, const std::vector<double>& scale,
                                 const std::string& what, Loops loops) {
  const Tensor& weight = *weight_value.constant_data();
  auto on_weight = [&](auto& writer) { return loops(weight, writer); };
  if (CanRewriteInPlace(weight_value)) {
    bool bounded = true;
    double max_abs_scale = 0.0;
    for (size_t c = 0; bounded && c < scale.size(); ++c) {
      bounded = std::isfinite(scale[c]);
      max_abs_scale = std::max(max_abs_scale, std::fabs(scale[c]));
    }
    if (!bounded || !ScaledSurelyFinite(weight, max_abs_scale)) {
      std::string reason = RunLoops<false>(weight, nullptr, what, on_weight);
      if (!reason.empty()) return NoMatch{std::move(reason)};
    }
    return FoldedWeight{nullptr, [loops, what](Tensor& w) {
                          RunLoops<true, /*kCheck=*/false>(
                              w, &w, what, [&](auto& writer) { return loops(w, writer); });
                        }};
  }
  StatusOr<Tensor> scaled = Tensor::Allocate(weight.dtype(), weight.shape());
  if (!scaled.ok()) {
    return NoMatch{"cannot build the folded " + what + ": " + scaled.status().message()};
  }
  std::string reason = RunLoops<true>(weight, &*scaled, what, on_weight);
  if (!reason.empty()) return NoMatch{std::move(reason)};
  return FoldedWeight{std::make_shared<const Tensor>(std::move(*scaled)), nullptr};
}

}  // namespace

MatchOr<FoldedWeight> ScaleOutputChannels(const LinearOpInfo& op,
                                          const std::vector<double>& scale,
                                          const std::string& what) {
  return FoldWeight(*op.weight, scale, what, [axes = op.axes, scale](const Tensor&, auto& writer) {
    return ScaleOutputs(axes, scale, writer);
  });
}

MatchOr<InputScaledWeight> ScaleInputChannels(const LinearOpInfo& op,
                                              const std::vector<double>& scale,
                                              const std::vector<double>* shift,
                                              const std::string& what) {
  InputScaledWeight result;
  MATCH_OR_RETURN(result.weight,
                  FoldWeight(*op.weight, scale, what,
                             [axes = op.axes, scale](const Tensor&, auto& writer) {
                               return ScaleInputs<false>(axes, scale, nullptr, nullptr, writer);
                             }));
  if (shift != nullptr) {
    // sum W * shift per output channel, over the same loops, W unscaled.
    const Tensor& weight = *op.weight->constant_data();
    result.shift_out.assign(static_cast<size_t>(op.out_channels), 0.0);
    RunLoops<false, /*kCheck=*/false>(weight, nullptr, what, [&](auto& writer) {
      return ScaleInputs<true>(op.axes, scale, shift->data(), result.shift_out.data(), writer);
    });
  }
  return result;
}

}  // namespace bnfold::passes
