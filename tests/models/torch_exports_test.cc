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
// whose reader is a Relu. ShuffleNetV2's channel shuffle (a Reshape whose
// shape is computed by Shape/Gather/Div/Concat) no longer hides the shapes
// behind it: bnfold's own propagation computes them, and all 56 fold (6 did
// while ONNX's inference, which leaves those values shape-less, decided).
const ExportCase kCases[] = {
    {"resnet50", "", 53, 0},
    {"mobilenet_v2", "", 52, 0},
    {"densenet121", "", 121, 62},
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
    // float16 weights folded in double, rounded once; verify and ONNX Runtime
    // judge the outputs in float16 ulps of the output scale.
    {"resnet50", "fp16", 53, 0},
    {"mobilenet_v2", "fp16", 52, 0},
    {"densenet121", "fp16", 121, 62},
    {"shufflenet_v2_x1_0", "fp16", 56, 0},
    {"mnist_bn", "fp16", 2, 0},
};
// Re-saved as IR 9 / IR 10 at opset 18, newer than the installed ONNX knows:
// the same counts as the IR-8 exports (IrResaveTest compares BN by BN
// through the CLI).
const ExportCase kIrCases[] = {
    {"resnet50", "ir9", 53, 0},
    {"mobilenet_v2", "ir9", 52, 0},
    {"densenet121", "ir9", 121, 62},
    {"shufflenet_v2_x1_0", "ir9", 56, 0},
    {"resnet50", "ir10", 53, 0},
    {"mobilenet_v2", "ir10", 52, 0},
    {"densenet121", "ir10", 121, 62},
    {"shufflenet_v2_x1_0", "ir10", 56, 0},
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

// `bnfold inspect --json` on the IR 9 / IR 10 re-save lists the same
// BatchNormalization, each folding into the same node (or kept for the same
// reason), as on the plain export.
class IrResaveTest : public TorchExportTest {};

TEST_P(IrResaveTest, FoldsExactlyAsThePlainExport) {
  const ExportCase& c = GetParam();
  const ExportCase plain{c.model, "", c.batchnorm, c.batchnorm_after};
  const std::string plain_path = ModelPath(plain);
  BNFOLD_REQUIRE_DEPENDENCY(testing::FileExists(plain_path), plain_path + " is missing");
  const testing::CommandResult a = testing::RunBnfold({"inspect", plain_path, "--json"});
  const testing::CommandResult b = testing::RunBnfold({"inspect", path_, "--json"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::optional<testing::JsonValue> ja = testing::ParseJson(a.out);
  const std::optional<testing::JsonValue> jb = testing::ParseJson(b.out);
  ASSERT_TRUE(ja.has_value() && jb.has_value());
  EXPECT_GE((*jb)["ir_version"].number, 9);
  EXPECT_GE((*jb)["opset"].number, 18);
  EXPECT_EQ((*jb)["warnings"].size(), 0u) << b.out;
  const testing::JsonValue& bn_a = (*ja)["batchnorm"];
  const testing::JsonValue& bn_b = (*jb)["batchnorm"];
  ASSERT_EQ(bn_a.size(), static_cast<size_t>(c.batchnorm));
  ASSERT_EQ(bn_b.size(), bn_a.size());
  int folded = 0;
  for (size_t i = 0; i < bn_a.size(); ++i) {
    SCOPED_TRACE(bn_a[i]["name"].string);
    EXPECT_EQ(bn_b[i]["name"].string, bn_a[i]["name"].string);
    ASSERT_EQ(bn_b[i]["folds_into"].kind, bn_a[i]["folds_into"].kind) << bn_b[i]["reason"].string;
    EXPECT_EQ(bn_b[i]["folds_into"].string, bn_a[i]["folds_into"].string);
    if (bn_a[i]["folds_into"].kind == testing::JsonValue::kString) ++folded;
  }
  EXPECT_EQ(folded, c.batchnorm - c.batchnorm_after);
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
  // ONNX 1.12's checker knows opsets up to 17: it judges all but the
  // opset-18 re-saves.
  EXPECT_EQ(report->checker_ran, std::string(c.variant).rfind("ir", 0) != 0);

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

std::string TestName(const ::testing::TestParamInfo<ExportCase>& info) {
  return CaseName(info.param);
}
INSTANTIATE_TEST_SUITE_P(Torchvision, TorchExportTest, ::testing::ValuesIn(kCases), TestName);
INSTANTIATE_TEST_SUITE_P(TorchvisionIr, TorchExportTest, ::testing::ValuesIn(kIrCases), TestName);
INSTANTIATE_TEST_SUITE_P(TorchvisionIr, IrResaveTest, ::testing::ValuesIn(kIrCases), TestName);

}  // namespace
}  // namespace bnfold
