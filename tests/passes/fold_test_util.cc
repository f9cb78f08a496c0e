#include "tests/passes/fold_test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace bnfold::passes::testing {

std::string Header(int ir_version, int opset) {
  return "<ir_version: " + std::to_string(ir_version) + ", opset_import: [\"\" : " +
         std::to_string(opset) + "]>\n";
}

std::string Dims(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string DtypeText(DataType dtype) { return DataTypeName(dtype); }

std::string BatchNormLine(const std::string& in, const std::string& out, int opset,
                          const std::string& prefix) {
  std::string attrs;
  if (opset == 1) attrs = " <is_test = 1, consumed_inputs = [0, 0, 0, 1, 1]>";
  else if (opset < 7) attrs = " <is_test = 1>";
  return "  " + out + " = BatchNormalization" + attrs + " (" + in + ", " + prefix + "_scale, " +
         prefix + "_bias, " + prefix + "_mean, " + prefix + "_var)\n";
}

FoldResult Fold(const ModelSpec& spec, const std::vector<std::string>& names,
                const PassOptions* options) {
  FoldResult r;
  r.before = LoadGraph(spec);
  if (!r.before) return r;
  r.after = r.before->Clone();
  r.report = RunPasses(*r.after, names, options);
  return r;
}

ScaleShift BatchNormScaleShift(const ir::Graph& graph, const std::string& name) {
  const ir::Node* bn = FindNode(graph, name);
  EXPECT_NE(bn, nullptr) << name;
  if (bn == nullptr) return {};
  const double epsilon = bn->GetFloat("epsilon", 1e-5f).value();
  const RefTensor gamma = RefFromTensor(*bn->input(1)->constant_data());
  const RefTensor beta = RefFromTensor(*bn->input(2)->constant_data());
  const RefTensor mean = RefFromTensor(*bn->input(3)->constant_data());
  const RefTensor var = RefFromTensor(*bn->input(4)->constant_data());
  ScaleShift st;
  for (size_t c = 0; c < gamma.values.size(); ++c) {
    st.scale.push_back(gamma.values[c] / std::sqrt(var.values[c] + epsilon));
    st.shift.push_back(beta.values[c] - mean.values[c] * st.scale.back());
  }
  return st;
}

void ExpectClose(const RefTensor& got, const std::vector<int64_t>& shape,
                 const std::vector<double>& want, double rel_tol, const std::string& what) {
  ASSERT_EQ(got.shape, shape) << what;
  ASSERT_EQ(got.values.size(), want.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = std::fabs(got.values[i] - want[i]);
    if (err > rel_tol * std::fabs(want[i]) + 1e-12 && reported++ < 5) {
      ADD_FAILURE() << what << "[" << i << "] = " << got.values[i] << ", expected " << want[i];
    }
  }
}

double Tolerance(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat16: return 1e-3;
    case DataType::kDouble: return 1e-12;
    default: return 1e-6;
  }
}

}  // namespace bnfold::passes::testing
