// Test models for the pass tests: structure in ONNX text, weights filled
// with seeded random numbers, loaded through the real ONNX loader (checker
// and shape inference included) into the IR.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/tensor.h"
#include "passes/pass.h"
#include "runtime/ir/graph.h"
#include "tests/passes/reference_evaluator.h"

namespace bnfold::passes::testing {

// An initializer with uniform random values in [lo, hi).
struct Init {
  std::string name;
  std::vector<int64_t> shape;
  double lo = -1.0;
  double hi = 1.0;
  DataType dtype = DataType::kFloat;
};

// A model: the ONNX text of the graph plus its random initializers.
struct ModelSpec {
  std::string text;
  std::vector<Init> inits;
  uint32_t seed = 1;
};

// The serialized ModelProto.
std::string ModelBytes(const ModelSpec& spec);
// Loaded into the IR; fails the test (and returns null) on a load error.
std::unique_ptr<ir::Graph> LoadGraph(const ModelSpec& spec);

// Parameters of a BatchNormalization with C channels named <prefix>_scale,
// _bias, _mean, _var (var in [0.5, 2), scale in [0.5, 1.5)).
std::vector<Init> BatchNormInits(const std::string& prefix, int64_t channels);

// Runs the passes called `names` (through the PassManager) on `graph`, with
// `options`, or by default with the reference evaluator for fold-constants.
PipelineReport RunPasses(ir::Graph& graph, const std::vector<std::string>& names,
                         const PassOptions* options = nullptr);

// Everything that defines the graph: nodes with their attributes, inputs and
// outputs, initializer names and data addresses, graph inputs/outputs.
std::string Fingerprint(const ir::Graph& graph);

int CountOps(const ir::Graph& graph, const std::string& op_type);
// The node named `name`, or null.
ir::Node* FindNode(const ir::Graph& graph, const std::string& name);
// Constant input `index` of node `name` in double ({} when absent).
RefTensor ConstantInput(const ir::Graph& graph, const std::string& name, int index);
RefTensor Constant(const ir::Graph& graph, const std::string& value_name);

// Seeded random inputs for every graph input that has no constant data;
// unknown dims take `batch`.
std::map<std::string, RefTensor> RandomInputs(const ir::Graph& graph, uint32_t seed,
                                              int64_t batch = 2);

// max |a - b| / max(max |b|, 1e-30) over all graph outputs (matched by name);
// +inf when an output is missing, shapes differ or only one side is NaN.
double MaxRelativeDifference(const std::map<std::string, RefTensor>& a,
                             const std::map<std::string, RefTensor>& b);

// Evaluates `before` and `after` on the same random inputs with the double
// reference evaluator and returns their MaxRelativeDifference.
double CompareGraphs(const ir::Graph& before, const ir::Graph& after, uint32_t seed = 7);

// The reason recorded for BN `name` by the last pass that saw it ("" when
// none, "folded" when it was folded).
std::string BatchNormOutcome(const PipelineReport& report, const std::string& name);
// Whether any note of any pass contains `text`.
bool HasNote(const PipelineReport& report, const std::string& text);

}  // namespace bnfold::passes::testing
