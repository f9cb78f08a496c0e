// The seed models (models/generate.py) on bnfold versus ONNX Runtime, with the
// graph passes on (BatchNormalization folded) and off, on seeded random inputs.
//
// Criterion, per output: max_i |bnfold_i - ort_i| / max_i |ort_i| <= 1e-4,
// i.e. every element within 1e-4 of the output's largest magnitude. A plain
// per-element relative error is not usable: float32 noise on an element is
// set by the magnitudes upstream, not by the element, so near-zero logits
// carry relative errors far above 1e-4 in any correct float32 runtime (ONNX
// Runtime itself against a float64 evaluation of resnet50 reaches 7e-3 with a
// floor of 1e-3 * max|ort|, while its normwise error is 1.2e-5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "bnfold/optimizer.h"
#include "bnfold/session.h"
#include "tests/models/ort_runner.h"
#include "tests/models/output_errors.h"
#include "tests/test_util/dependency.h"

namespace bnfold {
namespace {

constexpr double kTolerance = 1e-4;
constexpr int kThreads = 2;

enum class Pixels { kStandardNormal, kUniform01 };

struct ModelCase {
  const char* name;
  // Under the models directory, unless absolute.
  const char* file;
  int64_t batch;        // for the dynamic "batch" dimension
  Pixels distribution;  // what generate.py calibrated the BN statistics on
  uint64_t seed;
};

const ModelCase kCases[] = {
    {"resnet50", "resnet50.onnx", 2, Pixels::kStandardNormal, 1},
    {"mobilenetv2", "mobilenetv2.onnx", 2, Pixels::kStandardNormal, 2},
    {"keras_cnn", "keras_cnn.onnx", 4, Pixels::kUniform01, 3},
    {"mlp", "mlp.onnx", 8, Pixels::kUniform01, 4},
    {"mlp_untrained_stats", "mlp_untrained_stats.onnx", 8, Pixels::kUniform01, 5},
    {"fcn", "fcn.onnx", 1, Pixels::kUniform01, 6},
    // Batch 1: the Gemm/MatMul layers run as one-row GEMVs (kernels/gemv.h).
    {"mlp_batch1", "mlp.onnx", 1, Pixels::kUniform01, 8},
    {"keras_cnn_batch1", "keras_cnn.onnx", 1, Pixels::kUniform01, 9},
    // Checks the harness itself on an op every bnfold build has.
    {"harness_relu", "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx", 1,
     Pixels::kStandardNormal, 7},
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

std::string ModelPath(const ModelCase& c) {
  if (c.file[0] == '/') return c.file;
  const char* dir = std::getenv("BNFOLD_MODELS_DIR");
  return std::string(dir ? dir : BNFOLD_SOURCE_DIR "/models") + "/" + c.file;
}

StatusOr<std::vector<NamedTensor>> SeededInputs(const Session& session, const ModelCase& c) {
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<NamedTensor> inputs;
  for (const TensorInfo& info : session.inputs()) {
    if (info.dtype != DataType::kFloat) {
      return InvalidArgument("input '" + info.name + "' is not float");
    }
    std::vector<int64_t> shape;
    for (int64_t d : info.shape) shape.push_back(d < 0 ? c.batch : d);
    StatusOr<Tensor> t = Tensor::Allocate(DataType::kFloat, shape);
    if (!t.ok()) return t.status();
    float* data = t->data_as<float>();
    for (int64_t i = 0; i < t->num_elements(); ++i) {
      data[i] = c.distribution == Pixels::kUniform01 ? uniform(rng) : normal(rng);
    }
    inputs.push_back({info.name, std::move(*t)});
  }
  return inputs;
}

class ModelVsOrtTest : public ::testing::TestWithParam<std::tuple<ModelCase, bool>> {};

TEST_P(ModelVsOrtTest, OutputsMatchOnnxRuntime) {
  const auto& [model_case, optimize] = GetParam();
  const testing::OrtRunner ort = testing::OrtRunner::FromEnvironment();
  std::string why;
  const bool available = ort.Available(&why);
  BNFOLD_REQUIRE_DEPENDENCY(available, why);
  const std::string path = ModelPath(model_case);
  std::ifstream probe(path);
  ASSERT_TRUE(probe.good()) << path << " is missing: run scripts/models.sh";

  SessionOptions options;
  options.threads = kThreads;
  options.optimize = optimize;
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  StatusOr<std::vector<NamedTensor>> inputs = SeededInputs(**session, model_case);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();

  std::vector<NamedTensor> outputs;
  Status run = (*session)->Run(*inputs, &outputs);
  ASSERT_TRUE(run.ok()) << run.ToString();
  StatusOr<std::vector<NamedTensor>> expected =
      ort.Run(path, *inputs,
              std::string(BNFOLD_TEST_WORK_DIR) + "/" + model_case.name +
                  (optimize ? "_folded" : "_unfolded"));
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();

  ASSERT_EQ(outputs.size(), expected->size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& got = outputs[i].tensor;
    const Tensor& want = (*expected)[i].tensor;
    SCOPED_TRACE("output '" + outputs[i].name + "'");
    EXPECT_EQ(outputs[i].name, (*expected)[i].name);
    ASSERT_EQ(got.dtype(), DataType::kFloat);
    ASSERT_EQ(want.dtype(), DataType::kFloat);
    ASSERT_EQ(got.shape(), want.shape());
    const testing::OutputErrors e = testing::CompareOutputs(got, want);
    EXPECT_TRUE(e.finite) << "non-finite values";
    // A reference that is all zeros would make the comparison meaningless.
    EXPECT_GT(e.max_ref, 0.0);
    EXPECT_LE(e.normwise, kTolerance)
        << "max |bnfold - ort| " << e.max_abs << " at element " << e.worst << ", max |ort| "
        << e.max_ref << ", element-wise relative " << e.elementwise;
    RecordProperty("normwise_error_" + std::to_string(i), std::to_string(e.normwise));
    std::cout << "  " << model_case.name << (optimize ? " folded" : " unfolded") << " output " << i
              << ": normwise " << e.normwise << ", max abs " << e.max_abs << ", element-wise rel "
              << e.elementwise << "\n";
  }
}

// `bnfold optimize` writes files other runtimes use: ONNX Runtime must load
// the optimized file and give the outputs it gives on the original.
class OptimizedFileTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(OptimizedFileTest, OnnxRuntimeGivesTheSameOutputsOnTheOptimizedFile) {
  const ModelCase& model_case = GetParam();
  const testing::OrtRunner ort = testing::OrtRunner::FromEnvironment();
  std::string why;
  const bool available = ort.Available(&why);
  BNFOLD_REQUIRE_DEPENDENCY(available, why);
  const std::string path = ModelPath(model_case);
  const std::string work = std::string(BNFOLD_TEST_WORK_DIR) + "/" + model_case.name;
  const std::string optimized_path = work + "_optimized.onnx";
  StatusOr<OptimizeReport> report = OptimizeModel(path, optimized_path, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->batchnorm_after, 0) << "seed models fold every BatchNormalization";

  StatusOr<std::unique_ptr<Session>> session = Session::Open(path, {.threads = kThreads});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  StatusOr<std::vector<NamedTensor>> inputs = SeededInputs(**session, model_case);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  StatusOr<std::vector<NamedTensor>> original = ort.Run(path, *inputs, work + "_ort_original");
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  StatusOr<std::vector<NamedTensor>> optimized =
      ort.Run(optimized_path, *inputs, work + "_ort_optimized");
  ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
  ASSERT_EQ(original->size(), optimized->size());
  for (size_t i = 0; i < original->size(); ++i) {
    SCOPED_TRACE("output '" + (*original)[i].name + "'");
    EXPECT_EQ((*optimized)[i].name, (*original)[i].name);
    ASSERT_EQ((*optimized)[i].tensor.shape(), (*original)[i].tensor.shape());
    const testing::OutputErrors e = testing::CompareOutputs((*optimized)[i].tensor, (*original)[i].tensor);
    EXPECT_TRUE(e.finite);
    EXPECT_GT(e.max_ref, 0.0);
    EXPECT_LE(e.normwise, kTolerance) << "max abs " << e.max_abs << " at " << e.worst;
    std::cout << "  " << model_case.name << " optimized file on ORT, output " << i
              << ": normwise " << e.normwise << ", max abs " << e.max_abs << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(SeedModels, OptimizedFileTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           return std::string(info.param.name);
                         });

INSTANTIATE_TEST_SUITE_P(SeedModels, ModelVsOrtTest,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<ModelVsOrtTest::ParamType>& info) {
                           return std::string(std::get<0>(info.param).name) +
                                  (std::get<1>(info.param) ? "_folded" : "_unfolded");
                         });

}  // namespace
}  // namespace bnfold
