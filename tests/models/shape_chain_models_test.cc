// BatchNormalization reached through shape-only ops, end to end through the
// CLI a user runs (issue 11, point 4):
//   - ONNX Runtime's MatMul + BN fusion shapes (MatMul -> Reshape ->
//     BatchNormalization, and the Transpose / rank-3 / Gemm variants), written
//     here with seeded random weights;
//   - a PyTorch MNIST-style export (models/torch_export.py, mnist_bn: BN after
//     the last conv block's ReLU, then Flatten, then Linear).
// For each: `bnfold inspect --json` says every BN folds, `bnfold optimize`
// writes a file with none left, `bnfold verify` passes, and ONNX Runtime
// gives the optimized file the original's outputs (max |a - b| <= 1e-4 *
// max |b|). A model whose Reshape mixes rows and columns keeps its BN, and
// inspect says why.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/models/ort_runner.h"
#include "tests/models/output_errors.h"
#include "tests/test_util/dependency.h"
#include "tests/tools/tool_test_util.h"

namespace bnfold {
namespace {

constexpr double kTolerance = 1e-4;

struct Weight {
  std::string name;
  std::vector<int64_t> dims;
};

struct ChainModel {
  const char* name;
  const char* text;             // ONNX text; BN parameters bn_scale/bias/mean/var
  std::vector<Weight> weights;  // uniform in [-1, 1)
  int64_t bn_channels;
  std::vector<int64_t> input;  // the input's shape, batch included
};

void PrintTo(const ChainModel& m, std::ostream* os) { *os << m.name; }

const ChainModel kModels[] = {
    {"matmul_reshape_bn",
     R"(<ir_version: 8, opset_import: ["" : 15]>
g (float[batch,32] X) => (float[batch,64,1,1] Y) {
  shp = Constant <value = int64[4] {-1, 64, 1, 1}> ()
  M = MatMul (X, W)
  R = Reshape (M, shp)
  Y = BatchNormalization (R, bn_scale, bn_bias, bn_mean, bn_var)
})",
     {{"W", {32, 64}}}, 64, {3, 32}},
    {"matmul_rank3_reshape_bn",
     R"(<ir_version: 8, opset_import: ["" : 15]>
g (float[batch,4,32] X) => (float[N,64] Y) {
  shp = Constant <value = int64[2] {-1, 64}> ()
  M = MatMul (X, W)
  A = Add (M, bias)
  R = Reshape (A, shp)
  Y = BatchNormalization (R, bn_scale, bn_bias, bn_mean, bn_var)
})",
     {{"W", {32, 64}}, {"bias", {64}}}, 64, {2, 4, 32}},
    {"matmul_transpose_bn",
     R"(<ir_version: 8, opset_import: ["" : 15]>
g (float[batch,8,32] X) => (float[batch,16,8] Y) {
  M = MatMul (X, W)
  T = Transpose <perm = [0, 2, 1]> (M)
  Y = BatchNormalization (T, bn_scale, bn_bias, bn_mean, bn_var)
})",
     {{"W", {32, 16}}}, 16, {2, 8, 32}},
    {"bn_flatten_gemm",
     R"(<ir_version: 8, opset_import: ["" : 15]>
g (float[batch,8,5,5] X) => (float[batch,10] Y) {
  U = Relu (X)
  N = BatchNormalization (U, bn_scale, bn_bias, bn_mean, bn_var)
  F = Flatten (N)
  Y = Gemm <transB = 1> (F, W, C)
})",
     {{"W", {10, 200}}, {"C", {10}}}, 8, {3, 8, 5, 5}},
};

class ShapeChainModelTest : public ::testing::TestWithParam<ChainModel> {};

// `text` with seeded weights and BN parameters (var in [0.5, 2)).
std::string WriteChainModel(const ChainModel& m, const std::string& path) {
  onnx::ModelProto model = testing::ParseModel(m.text);
  std::mt19937 rng(17);
  auto fill = [&](const std::string& name, const std::vector<int64_t>& dims, double lo, double hi) {
    std::uniform_real_distribution<double> u(lo, hi);
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::vector<float> values(static_cast<size_t>(n));
    for (float& v : values) v = static_cast<float>(u(rng));
    testing::AddFloatInitializer(model.mutable_graph(), name, dims, values);
  };
  for (const Weight& w : m.weights) fill(w.name, w.dims, -1.0, 1.0);
  fill("bn_scale", {m.bn_channels}, 0.5, 1.5);
  fill("bn_bias", {m.bn_channels}, -0.5, 0.5);
  fill("bn_mean", {m.bn_channels}, -0.5, 0.5);
  fill("bn_var", {m.bn_channels}, 0.5, 2.0);
  testing::WriteModel(model, path);
  return path;
}

// The BN count and the "folds_into" of each BN `bnfold inspect --json` reports.
struct Inspected {
  int batchnorm = -1;
  std::vector<std::string> folds_into;
  std::vector<std::string> reasons;
};

Inspected Inspect(const std::string& path) {
  const testing::CommandResult r = testing::RunBnfold({"inspect", "--json", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Inspected out;
  const std::optional<testing::JsonValue> json = testing::ParseJson(r.out);
  if (!json) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return out;
  }
  const testing::JsonValue& bns = (*json)["batchnorm"];
  out.batchnorm = static_cast<int>(bns.size());
  for (size_t i = 0; i < bns.size(); ++i) {
    out.folds_into.push_back(bns[i]["folds_into"].kind == testing::JsonValue::kString
                                 ? bns[i]["folds_into"].string
                                 : "");
    out.reasons.push_back(bns[i]["reason"].string);
  }
  return out;
}

// N(0, 1) inputs of `shape` for the model's single input X (or "input").
std::vector<NamedTensor> Inputs(const std::string& name, const std::vector<int64_t>& shape) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 1.0);
  StatusOr<Tensor> t = Tensor::Allocate(DataType::kFloat, shape);
  EXPECT_TRUE(t.ok());
  for (int64_t i = 0; i < t->num_elements(); ++i) t->SetFromDouble(i, normal(rng));
  std::vector<NamedTensor> inputs;
  inputs.push_back({name, std::move(*t)});
  return inputs;
}

// optimize -> inspect (no BN left) -> verify -> ONNX Runtime, original
// versus optimized.
void CheckEndToEnd(const std::string& path, const std::string& work, int batchnorm,
                   const std::vector<NamedTensor>& inputs) {
  const Inspected before = Inspect(path);
  ASSERT_EQ(before.batchnorm, batchnorm);
  for (size_t i = 0; i < before.folds_into.size(); ++i) {
    EXPECT_FALSE(before.folds_into[i].empty()) << "kept: " << before.reasons[i];
  }
  const std::string optimized = work + "_optimized.onnx";
  const testing::CommandResult opt = testing::RunBnfold({"optimize", path, optimized});
  ASSERT_EQ(opt.exit_code, 0) << opt.out << opt.err;
  EXPECT_EQ(Inspect(optimized).batchnorm, 0);

  const testing::CommandResult verify =
      testing::RunBnfold({"verify", path, "--batch", "3", "--seeds", "2", "--json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  const std::optional<testing::JsonValue> json = testing::ParseJson(verify.out);
  ASSERT_TRUE(json.has_value()) << verify.out;
  EXPECT_TRUE((*json)["pass"].boolean) << verify.out;
  EXPECT_EQ((*json)["batchnorm_left"].number, 0);

  const testing::OrtRunner ort = testing::OrtRunner::FromEnvironment();
  std::string why;
  BNFOLD_REQUIRE_DEPENDENCY(ort.Available(&why), why);
  StatusOr<std::vector<NamedTensor>> want = ort.Run(path, inputs, work + "_ort_original");
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  StatusOr<std::vector<NamedTensor>> got = ort.Run(optimized, inputs, work + "_ort_optimized");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(want->size(), got->size());
  for (size_t i = 0; i < want->size(); ++i) {
    ASSERT_EQ((*got)[i].tensor.shape(), (*want)[i].tensor.shape());
    const testing::OutputErrors e = testing::CompareOutputs((*got)[i].tensor, (*want)[i].tensor);
    EXPECT_TRUE(e.finite);
    EXPECT_GT(e.max_ref, 0.0);
    EXPECT_LE(e.normwise, kTolerance) << "max abs " << e.max_abs << " at " << e.worst;
    std::cout << "  " << path << ": ONNX Runtime, optimized vs original: normwise "
              << e.normwise << "\n";
  }
}

TEST_P(ShapeChainModelTest, FoldsThroughTheShapeOpsAndOnnxRuntimeAgrees) {
  const ChainModel& m = GetParam();
  const std::string work = std::string(BNFOLD_TEST_WORK_DIR) + "/chain_" + m.name;
  const std::string path = WriteChainModel(m, work + ".onnx");
  CheckEndToEnd(path, work, 1, Inputs("X", m.input));
}

INSTANTIATE_TEST_SUITE_P(Fusions, ShapeChainModelTest, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<ChainModel>& info) {
                           return std::string(info.param.name);
                         });

TEST(ShapeChainModels, ReshapeThatMixesRowsAndColumnsKeepsItsBatchNormAndSaysWhy) {
  const ChainModel m{"mixing",
                     R"(<ir_version: 8, opset_import: ["" : 15]>
g (float[batch,4,16] X) => (float[batch,8,4] Y) {
  shp = Constant <value = int64[3] {0, 8, 4}> ()
  M = MatMul (X, W)
  R = Reshape (M, shp)
  Y = BatchNormalization (R, bn_scale, bn_bias, bn_mean, bn_var)
})",
                     {{"W", {16, 8}}}, 8, {2, 4, 16}};
  const std::string path =
      WriteChainModel(m, std::string(BNFOLD_TEST_WORK_DIR) + "/chain_mixing.onnx");
  const Inspected info = Inspect(path);
  ASSERT_EQ(info.batchnorm, 1);
  EXPECT_TRUE(info.folds_into[0].empty());
  EXPECT_NE(info.reasons[0].find("no per-channel map"), std::string::npos) << info.reasons[0];
}

// The PyTorch export: Conv-BN-ReLU-MaxPool, Conv-ReLU-BN, Flatten, Linear.
TEST(ShapeChainModels, PyTorchMnistExportFoldsItsBatchNormIntoTheLinearLayer) {
  const char* dir = std::getenv("BNFOLD_TORCH_MODELS_DIR");
  const std::string path =
      std::string(dir ? dir : BNFOLD_SOURCE_DIR "/.cache/torch_models") + "/mnist_bn.onnx";
  BNFOLD_REQUIRE_DEPENDENCY(testing::FileExists(path),
                            path + " is missing: models/torch_export.py writes it with "
                            "python3-torch");
  const Inspected info = Inspect(path);
  ASSERT_EQ(info.batchnorm, 2);
  EXPECT_EQ(info.folds_into[1].rfind("Gemm", 0), 0u) << info.folds_into[1];
  CheckEndToEnd(path, std::string(BNFOLD_TEST_WORK_DIR) + "/chain_mnist_bn", 2,
                Inputs("input", {3, 1, 28, 28}));
}

}  // namespace
}  // namespace bnfold
