#include "passes/fold/batchnorm_diagnostics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>

#include "runtime/ir/tensor_util.h"

namespace bnfold::passes {

namespace {

// BN inputs after X, in ONNX order, with the names users know them by.
constexpr int kScale = 1;
constexpr int kBias = 2;
constexpr int kMean = 3;
constexpr int kVariance = 4;
constexpr const char* kParamNames[] = {"X", "scale (gamma)", "bias (beta)", "moving mean",
                                       "moving variance"};

// Below this |gamma| a channel's normalized input no longer reaches the
// output in float32 terms: the channel is, in effect, pruned.
constexpr double kNearZeroScale = 1e-6;

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The stored values of BN input `index`, when it has floating-point data.
std::optional<std::vector<double>> StoredValues(const ir::Node& bn, int index) {
  const ir::Value* v = bn.input(index);
  if (v == nullptr || v->constant_data() == nullptr) return std::nullopt;
  if (!IsFloatingPoint(v->constant_data()->dtype())) return std::nullopt;
  return ir::ToDoubleVector(*v->constant_data());
}

// "<param> <what> in K of C channels (first: channel i = v)" for the values
// matching `bad`, or "" when none does.
std::string CountChannels(const std::vector<double>& values, int param, const std::string& what,
                          const std::function<bool(double)>& bad) {
  int64_t count = 0, first = -1;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!bad(values[i])) continue;
    if (first < 0) first = static_cast<int64_t>(i);
    ++count;
  }
  if (count == 0) return "";
  return std::string(kParamNames[param]) + " " + what + " in " + std::to_string(count) + " of " +
         std::to_string(values.size()) + " channels (first: channel " + std::to_string(first) +
         " = " + FormatNumber(values[first]) + ")";
}

bool ContainsIgnoringCase(const std::string& haystack, const std::string& needle) {
  std::string lower = haystack;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find(needle) != std::string::npos;
}

}  // namespace

std::optional<FrameworkEpsilon> DefaultEpsilonForProducer(const std::string& producer_name) {
  // Keras' BatchNormalization defaults to 1e-3; PyTorch's BatchNorm*d to 1e-5.
  for (const char* keras : {"tf2onnx", "keras2onnx"}) {
    if (ContainsIgnoringCase(producer_name, keras)) return FrameworkEpsilon{keras, 1e-3};
  }
  if (ContainsIgnoringCase(producer_name, "pytorch")) return FrameworkEpsilon{"pytorch", 1e-5};
  return std::nullopt;
}

std::vector<std::string> DiagnoseBatchNorm(const ir::Node& bn, const std::string& producer_name) {
  std::vector<std::string> out;
  auto add = [&out](std::string text) {
    if (!text.empty()) out.push_back(std::move(text));
  };
  const auto scale = StoredValues(bn, kScale);
  const auto bias = StoredValues(bn, kBias);
  const auto mean = StoredValues(bn, kMean);
  const auto variance = StoredValues(bn, kVariance);

  if (mean && variance && !mean->empty() && !variance->empty() &&
      std::all_of(mean->begin(), mean->end(), [](double m) { return m == 0.0; }) &&
      std::all_of(variance->begin(), variance->end(), [](double v) { return v == 1.0; })) {
    add(kInitialStatisticsDiagnostic);
  }

  auto non_finite = [](double v) { return !std::isfinite(v); };
  const std::pair<int, const std::optional<std::vector<double>>*> params[] = {
      {kScale, &scale}, {kBias, &bias}, {kMean, &mean}, {kVariance, &variance}};
  for (const auto& [index, values] : params) {
    if (*values) add(CountChannels(**values, index, "is NaN/Inf", non_finite));
  }
  if (variance) {
    add(CountChannels(*variance, kVariance, "is <= 0",
                      [](double v) { return std::isfinite(v) && v <= 0.0; }));
  }
  if (scale) {
    std::string near_zero = CountChannels(*scale, kScale, "is ~0 (|gamma| < 1e-06)",
                                          [](double g) { return std::fabs(g) < kNearZeroScale; });
    if (!near_zero.empty()) add(near_zero + ": those channels output the bias alone");
  }

  if (const auto framework = DefaultEpsilonForProducer(producer_name)) {
    const float epsilon = bn.attrs<ir::BatchNormAttrs>().epsilon;
    // Relative comparison: the attribute is a float32, the default a double.
    if (std::fabs(epsilon - framework->epsilon) > 1e-4 * framework->epsilon) {
      add("epsilon " + FormatNumber(epsilon) + " differs from " + framework->producer +
          "'s framework default " + FormatNumber(framework->epsilon) +
          ": check that the exporter kept the layer's own epsilon");
    }
  }
  return out;
}

}  // namespace bnfold::passes
