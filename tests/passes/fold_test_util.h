// Shorthands for the fold tests: ONNX text snippets, running a pipeline on a
// copy, the BN scale/shift computed independently, tensor comparisons.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {

// "<ir_version: IR, opset_import: ["" : OPSET]>\n"
std::string Header(int ir_version, int opset);
// "[2,3,4]"
std::string Dims(const std::vector<int64_t>& shape);
// "float", "float16", "double"
std::string DtypeText(DataType dtype);
// "OUT = BatchNormalization <inference attrs for OPSET> (IN, bn_scale, bn_bias,
// bn_mean, bn_var)" (is_test = 1 before opset 7, consumed_inputs at opset 1).
std::string BatchNormLine(const std::string& in, const std::string& out, int opset,
                          const std::string& prefix = "bn");

struct FoldResult {
  std::unique_ptr<ir::Graph> before;  // as loaded
  std::unique_ptr<ir::Graph> after;   // after the passes
  PipelineReport report;
};
// Loads `spec` and runs the passes named `names` on a copy (RunPasses).
FoldResult Fold(const ModelSpec& spec, const std::vector<std::string>& names,
                const PassOptions* options = nullptr);

// s = scale / sqrt(var + epsilon), t = B - mean * s for BN node `name`.
struct ScaleShift {
  std::vector<double> scale;
  std::vector<double> shift;
};
ScaleShift BatchNormScaleShift(const ir::Graph& graph, const std::string& name);

// Expects `got` to have `shape` and each element within rel_tol of `want`.
void ExpectClose(const RefTensor& got, const std::vector<int64_t>& shape,
                 const std::vector<double>& want, double rel_tol, const std::string& what);
// Relative rounding of a value stored in `dtype`, with margin.
double Tolerance(DataType dtype);

}  // namespace bnfold::passes::testing
