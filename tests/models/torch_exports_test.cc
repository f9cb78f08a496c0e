// Real PyTorch exports (models/torch_export.py: torchvision networks with
// random weights, randomised BN affine parameters and calibrated statistics,
// exported by torch.onnx.export with TrainingMode.PRESERVE) and their
// variants (IR 9/10 at opset 18, weights from constant subgraphs, float16).
//
// For each file: how many BatchNormalization nodes bnfold's passes leave,
// that every BN reading a Conv's output folds and every other one says why
// not (inspect), that the optimized file passes the checker where the
// installed ONNX can judge it, that ONNX Runtime gives the optimized file the
// original's outputs (max |a - b| <= 1e-4 * max |b| for float32; float16
// within kFloat16Ulps ulps of the output scale), and that `bnfold verify`
// passes.
//
// The files come from the torch_models_generate fixture. Without
// python3-torch they are missing and these tests fail, unless
// BNFOLD_ALLOW_SKIP=1 (outside CI) says the developer accepts skipping them
// (tests/test_util/dependency.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bnfold/optimizer.h"
#include "bnfold/session.h"
#include "tests/models/ort_runner.h"
#include "tests/models/output_errors.h"
#include "tests/test_util/dependency.h"
#include "tests/tools/tool_test_util.h"

namespace bnfold {
namespace {

constexpr double kTolerance = 1e-4;
// float16 outputs: two float16 evaluations that round differently (folded
// weights are rounded once, the unfolded graph rounds the Conv output and
// again the BN's) differ by up to ~30 ulps of the output scale on these
// 50-layer networks.
constexpr double kFloat16Ulps = 64;
constexpr int64_t kBatch = 2;

struct ExportCase {
  const char* model;
  const char* variant;  // "" for the plain export
  int batchnorm;        // in the file
  int batchnorm_after;  // left by the default pipeline
};

// DenseNet-121: 59 BN follow a Conv (norm0 and each layer's norm2); the
// other 62 are pre-activation BN after a Concat or a pooling (norm1 of each
// dense layer, the transitions' norm, norm5), which no linear op produces and
// whose reader is a Relu.
const ExportCase kCases[] = {
    {"resnet50", "", 53, 0},
    {"mobilenet_v2", "", 52, 0},
    {"densenet121", "", 121, 62},
    // The channel shuffle's computed Reshape: bnfold's own shape propagation
    // (Shape -> Gather -> Concat -> Reshape) gives every BN its shape.
    {"shufflenet_v2_x1_0", "", 56, 0},
    // Conv weights and BN parameters computed by constant subgraphs:
    // fold-constants evaluates them and the same BN fold.
    {"resnet50", "constsub", 53, 0},
    {"mobilenet_v2", "constsub", 52, 0},
    {"densenet121", "constsub", 121, 62},
    {"shufflenet_v2_x1_0", "constsub", 56, 0},
    // BN after the last block's ReLU folds forward through Flatten into the Gemm.
    {"mnist_bn", "", 2, 0},
    {"mnist_bn", "constsub", 2, 0},
};

void PrintTo(const ExportCase& c, std::ostream* os) { *os << c.model << "." << c.variant; }

std::string CaseName(const ExportCase& c) {
  return std::string(c.model) + (c.variant[0] ? std::string("_") + c.variant : "");
}

std::string ModelsDir() {
  const char* dir = std::getenv("BNFOLD_TORCH_MODELS_DIR");
  return dir ? dir : BNFOLD_SOURCE_DIR "/.cache/torch_models";
}

std::string ModelPath(const ExportCase& c) {
  return ModelsDir() + "/" + c.model + (c.variant[0] ? std::string(".") + c.variant : "") +
         ".onnx";
}

// N(0, 1) images of the input's dtype, batch kBatch.
StatusOr<std::vector<NamedTensor>> SeededInputs(const Session& session, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<NamedTensor> inputs;
  for (const TensorInfo& info : session.inputs()) {
    std::vector<int64_t> shape;
    for (int64_t d : info.shape) shape.push_back(d < 0 ? kBatch : d);
    StatusOr<Tensor> t = Tensor::Allocate(info.dtype, shape);
    if (!t.ok()) return t.status();
    for (int64_t i = 0; i < t->num_elements(); ++i) t->SetFromDouble(i, normal(rng));
    inputs.push_back({info.name, std::move(*t)});
  }
  return inputs;
}

class TorchExportTest : public ::testing::TestWithParam<ExportCase> {
 protected:
  void SetUp() override {
    path_ = ModelPath(GetParam());
    BNFOLD_REQUIRE_DEPENDENCY(testing::FileExists(path_),
                              path_ + " is missing: models/torch_export.py writes it with "
                              "python3-torch and python3-torchvision");
    work_ = std::string(BNFOLD_TEST_WORK_DIR) + "/torch_" + CaseName(GetParam());
  }

  std::string path_;
  std::string work_;
};

TEST_P(TorchExportTest, FoldsEveryBatchNormAfterAConvAndSaysWhyNotForTheRest) {
  const ExportCase& c = GetParam();
  StatusOr<ModelInfo> info = InspectModel(path_);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(static_cast<int>(info->batchnorm.size()), c.batchnorm);
  int left = 0;
  for (const BatchNormInfo& bn : info->batchnorm) {
    SCOPED_TRACE(bn.name);
    if (!bn.folds_into) {
      ++left;
      EXPECT_FALSE(bn.reason.empty());
      EXPECT_NE(bn.producer, "Conv") << "kept: " << bn.reason;
    }
  }
  EXPECT_EQ(left, c.batchnorm_after);
  std::cout << "  " << CaseName(c) << ": BatchNormalization " << c.batchnorm << " -> " << left
            << "\n";
}

TEST_P(TorchExportTest, OnnxRuntimeGivesTheOptimizedFileTheOriginalsOutputs) {
  const ExportCase& c = GetParam();
  const testing::OrtRunner ort = testing::OrtRunner::FromEnvironment();
  std::string why;
  BNFOLD_REQUIRE_DEPENDENCY(ort.Available(&why), why);
  const std::string optimized_path = work_ + "_optimized.onnx";
  StatusOr<OptimizeReport> report = OptimizeModel(path_, optimized_path, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->batchnorm_before, c.batchnorm);
  EXPECT_EQ(report->batchnorm_after, c.batchnorm_after);
  EXPECT_TRUE(report->checker_ran);

  StatusOr<std::unique_ptr<Session>> session = Session::Open(path_, {.threads = 2});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  StatusOr<std::vector<NamedTensor>> inputs = SeededInputs(**session, 11);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  StatusOr<std::vector<NamedTensor>> original = ort.Run(path_, *inputs, work_ + "_ort_original");
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  StatusOr<std::vector<NamedTensor>> optimized =
      ort.Run(optimized_path, *inputs, work_ + "_ort_optimized");
  ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
  ASSERT_EQ(original->size(), optimized->size());
  for (size_t i = 0; i < original->size(); ++i) {
    const Tensor& want = (*original)[i].tensor;
    const Tensor& got = (*optimized)[i].tensor;
    SCOPED_TRACE("output '" + (*original)[i].name + "'");
    ASSERT_EQ(got.dtype(), want.dtype());
    ASSERT_EQ(got.shape(), want.shape());
    const testing::OutputErrors e = testing::CompareOutputs(got, want);
    EXPECT_TRUE(e.finite);
    EXPECT_GT(e.max_ref, 0.0);
    if (want.dtype() == DataType::kFloat16) {
      const double ulp = testing::Float16Ulp(e.max_ref);
      EXPECT_LE(e.max_abs, kFloat16Ulps * ulp) << "max abs " << e.max_abs << " at " << e.worst;
      std::cout << "  " << CaseName(c) << " optimized file on ORT: " << e.max_abs / ulp
                << " float16 ulps of the output scale " << e.max_ref << "\n";
    } else {
      EXPECT_LE(e.normwise, kTolerance) << "max abs " << e.max_abs << " at " << e.worst;
      std::cout << "  " << CaseName(c) << " optimized file on ORT: normwise " << e.normwise
                << "\n";
    }
  }
}

TEST_P(TorchExportTest, VerifyPasses) {
  const testing::CommandResult r =
      testing::RunBnfold({"verify", path_, "--batch", "2", "--seeds", "1", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::optional<testing::JsonValue> json = testing::ParseJson(r.out);
  ASSERT_TRUE(json.has_value()) << r.out;
  EXPECT_TRUE((*json)["pass"].boolean) << r.out;
  EXPECT_EQ((*json)["batchnorm_left"].number, GetParam().batchnorm_after);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, TorchExportTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ExportCase>& info) {
                           return CaseName(info.param);
                         });

}  // namespace
}  // namespace bnfold
