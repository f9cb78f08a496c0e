// Diagnostics for BatchNormalization statistics: facts about a BN's constant
// parameters and attributes that usually mean something went wrong before
// export (training bugs, exporter bugs), whether or not the BN folds.
//
// IR only: shown by `bnfold inspect`, never used to decide a fold.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/ir/graph.h"

namespace bnfold::passes {

// The BatchNormalization epsilon a framework uses by default, guessed from
// the model's producer_name.
struct FrameworkEpsilon {
  std::string producer;  // the producer_name matched, e.g. "tf2onnx"
  double epsilon = 0.0;
};
std::optional<FrameworkEpsilon> DefaultEpsilonForProducer(const std::string& producer_name);

// The text of the initial-statistics diagnostic (tests and docs quote it).
inline constexpr const char* kInitialStatisticsDiagnostic =
    "moving statistics at initial values: the model was likely trained "
    "without its moving-average updates running";

// Every diagnostic for `bn` (empty when nothing is suspicious):
//   - moving mean all 0 and variance all 1 (kInitialStatisticsDiagnostic);
//   - a parameter with NaN/Inf values; a variance <= 0;
//   - a scale (gamma) that is ~0 in some channels;
//   - an epsilon different from the default of the framework
//     `producer_name` suggests (tf2onnx/keras2onnx 1e-3, pytorch 1e-5).
// Parameters without stored data (computed or fed at run time) are not
// judged; an overridable initializer is judged by its stored value.
std::vector<std::string> DiagnoseBatchNorm(const ir::Node& bn,
                                           const std::string& producer_name);

}  // namespace bnfold::passes
