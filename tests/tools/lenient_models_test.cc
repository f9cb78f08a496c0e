// Files ONNX Runtime runs although ONNX's checker (or a strict reading of
// the file) refuses them: a graph output listed twice, an IR-3 model whose
// initializers are not repeated in graph.input, a declared output shape the
// graph contradicts. Through the CLI: `bnfold run` runs each with one
// warning line naming the file and what was wrong, `--strict` refuses it
// (exit 2), and ONNX Runtime (scripts/ort/run.js) computes the same outputs
// from the same file and inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "bnfold/tensor_io.h"
#include "tests/models/ort_runner.h"
#include "tests/tools/tool_test_util.h"

namespace bnfold {
namespace {

using testing::CommandResult;
using testing::ParseModel;
using testing::RunBnfold;
using testing::TempDir;

struct LenientCase {
  const char* name;
  const char* text;
  const char* warning;  // what the warning line must say
};

// x [2,3] -> y = Relu(x * w + b): small enough to compare exactly.
const LenientCase kCases[] = {
    {"output_listed_twice",
     R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] x) => (float[2,3] y, float[2,3] y) <float[3] w = {0.5, -1.0, 2.0}> {
  m = Mul(x, w)
  y = Relu(m)
})",
     "graph output 'y' is listed twice"},
    {"ir3_initializer_not_an_input",
     R"(<ir_version: 3, opset_import: ["" : 8]>
g (float[2,3] x) => (float[2,3] y) <float[3] w = {0.5, -1.0, 2.0}> {
  m = Mul(x, w)
  y = Relu(m)
})",
     "ONNX checker: w in initializer but not in graph input"},
    {"declared_output_shape_contradicted",
     R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] x) => (float[2,5] y) <float[3] w = {0.5, -1.0, 2.0}> {
  m = Mul(x, w)
  y = Relu(m)
})",
     "graph output 'y' (output of Relu #1): the model declares float[2,5], the graph computes "
     "float[2,3]"},
};

void PrintTo(const LenientCase& c, std::ostream* os) { *os << c.name; }

// Lines of `text` that contain `needle`.
std::vector<std::string> LinesWith(const std::string& text, const std::string& needle) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) lines.push_back(line);
  }
  return lines;
}

class LenientModelsTest : public ::testing::TestWithParam<LenientCase> {};

TEST_P(LenientModelsTest, RunsWithOneWarningAndStrictRefuses) {
  const LenientCase& c = GetParam();
  TempDir dir;
  const std::string model = dir.File(std::string(c.name) + ".onnx");
  testing::WriteModel(ParseModel(c.text), model);
  StatusOr<Tensor> x = Tensor::Allocate(DataType::kFloat, {2, 3});
  ASSERT_TRUE(x.ok());
  const float values[] = {1.0f, 2.0f, -3.0f, -4.0f, 5.0f, 6.0f};
  std::copy(values, values + 6, x->data_as<float>());
  ASSERT_TRUE(WriteTensorFile(dir.File("x.pb"), "x", *x).ok());

  const CommandResult run = RunBnfold(
      {"run", model, "--input", "x=" + dir.File("x.pb"), "--output-dir", dir.File("out")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<std::string> warnings = LinesWith(run.err, "warning:");
  ASSERT_EQ(warnings.size(), 1u) << run.err;
  EXPECT_NE(warnings[0].find("bnfold run: warning: " + model + ": "), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find(c.warning), std::string::npos) << warnings[0];

  const CommandResult strict = RunBnfold({"run", model, "--input", "x=" + dir.File("x.pb"), "--strict"});
  EXPECT_EQ(strict.exit_code, 2) << strict.err;
  EXPECT_NE(strict.err.find(model), std::string::npos) << strict.err;
  EXPECT_NE(strict.err.find(c.warning), std::string::npos) << strict.err;
  EXPECT_EQ(LinesWith(strict.err, "warning:").size(), 0u);

  // inspect and optimize load it the same way.
  const CommandResult inspect = RunBnfold({"inspect", model});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(LinesWith(inspect.err, "warning:").size(), 1u) << inspect.err;
  EXPECT_EQ(RunBnfold({"inspect", model, "--strict"}).exit_code, 2);
  const CommandResult optimize = RunBnfold({"optimize", model, dir.File("opt.onnx")});
  EXPECT_EQ(optimize.exit_code, 0) << optimize.err;

  // ONNX Runtime runs the same file: the same outputs, element for element
  // (one Mul and a Relu: both compute it exactly).
  const testing::OrtRunner ort = testing::OrtRunner::FromEnvironment();
  std::string why;
  if (!ort.Available(&why)) GTEST_SKIP() << why;
  StatusOr<std::vector<NamedTensor>> expected =
      ort.Run(model, {{"x", *x}}, dir.File("ort"));
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_FALSE(expected->empty());
  for (size_t i = 0; i < expected->size(); ++i) {
    StatusOr<NamedTensor> got = ReadTensorFile(dir.File("out/output_" + std::to_string(i) + ".pb"));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const Tensor& want = (*expected)[i].tensor;
    ASSERT_EQ(got->tensor.shape(), want.shape()) << "output " << i;
    for (int64_t k = 0; k < want.num_elements(); ++k) {
      EXPECT_EQ(got->tensor.data_as<float>()[k], want.data_as<float>()[k]) << "output " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(OnnxRuntimeRuns, LenientModelsTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace bnfold
