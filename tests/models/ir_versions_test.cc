// The seed models re-saved as current exporters write them -- IR 9 with
// opset 19, IR 10 with opset 21, newer than the installed ONNX library (IR 8,
// opset 17) knows -- fold exactly as the IR-8 originals: the same
// BatchNormalization into the same nodes, the same node counts, no
// warnings, the same outputs; the folded IR-10 files run like the unfolded
// ones (what `bnfold verify` checks) and like ONNX Runtime on the same file.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bnfold/optimizer.h"
#include "bnfold/session.h"
#include "onnx/onnx_pb.h"
#include "tests/models/ort_runner.h"

namespace bnfold {
namespace {

const char* const kModels[] = {"resnet50", "mobilenetv2", "keras_cnn",
                               "mlp",      "mlp_untrained_stats", "fcn"};

std::string ModelPath(const std::string& name) {
  const char* dir = std::getenv("BNFOLD_MODELS_DIR");
  return std::string(dir ? dir : BNFOLD_SOURCE_DIR "/models") + "/" + name + ".onnx";
}

// Reduce* ops whose axes became an input at opset 18 (ReduceSum: 13).
bool AxesBecameAnInputAt18(const std::string& op) {
  return op.rfind("Reduce", 0) == 0 && op != "ReduceSum";
}

// `path` re-saved at `ir_version` and default-domain `opset` (>= 18), with
// the opset-18 operand changes applied: Reduce* axes move to an input.
std::string Resave(const std::string& path, int64_t ir_version, int64_t opset,
                   const std::string& out) {
  onnx::ModelProto model;
  {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(model.ParseFromIstream(&in)) << path;
  }
  model.set_ir_version(ir_version);
  for (auto& o : *model.mutable_opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") o.set_version(opset);
  }
  onnx::GraphProto* g = model.mutable_graph();
  for (int i = 0; i < g->node_size(); ++i) {
    onnx::NodeProto* n = g->mutable_node(i);
    if (!AxesBecameAnInputAt18(n->op_type())) continue;
    for (int a = 0; a < n->attribute_size(); ++a) {
      if (n->attribute(a).name() != "axes") continue;
      onnx::TensorProto* axes = g->add_initializer();
      axes->set_name(n->output(0) + "_axes");
      axes->set_data_type(onnx::TensorProto::INT64);
      axes->add_dims(n->attribute(a).ints_size());
      for (int64_t v : n->attribute(a).ints()) axes->add_int64_data(v);
      if (n->input_size() < 2) n->add_input(axes->name());
      n->mutable_attribute()->DeleteSubrange(a, 1);
      break;
    }
  }
  std::ofstream file(out, std::ios::binary);
  EXPECT_TRUE(model.SerializeToOstream(&file)) << out;
  return out;
}

// What the default pipeline decides per BatchNormalization, one line each.
std::vector<std::string> Folds(const ModelInfo& info) {
  std::vector<std::string> lines;
  for (const BatchNormInfo& bn : info.batchnorm) {
    lines.push_back(bn.name + " -> " + (bn.folds_into ? *bn.folds_into : "kept: " + bn.reason));
  }
  return lines;
}

std::vector<NamedTensor> SeededInputs(const Session& session) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<NamedTensor> inputs;
  for (const TensorInfo& info : session.inputs()) {
    std::vector<int64_t> shape;
    for (int64_t d : info.shape) shape.push_back(d < 0 ? 2 : d);
    Tensor t = *Tensor::Allocate(DataType::kFloat, shape);
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = uniform(rng);
    inputs.push_back({info.name, std::move(t)});
  }
  return inputs;
}

std::vector<NamedTensor> RunModel(const std::string& path, bool optimize,
                                  const std::vector<NamedTensor>& inputs) {
  SessionOptions options;
  options.threads = 2;
  options.optimize = optimize;
  auto session = Session::Open(path, options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> outputs;
  if (!session.ok()) return outputs;
  EXPECT_TRUE((*session)->warnings().empty());
  Status run = (*session)->Run(inputs, &outputs);
  EXPECT_TRUE(run.ok()) << run.ToString();
  return outputs;
}

// max |a - b| / max |b| over every output.
double Normwise(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t o = 0; o < a.size() && o < b.size(); ++o) {
    EXPECT_EQ(a[o].tensor.shape(), b[o].tensor.shape());
    if (a[o].tensor.shape() != b[o].tensor.shape()) return INFINITY;
    double diff = 0.0, scale = 0.0;
    for (int64_t i = 0; i < b[o].tensor.num_elements(); ++i) {
      const double x = a[o].tensor.data_as<float>()[i], y = b[o].tensor.data_as<float>()[i];
      diff = std::max(diff, std::fabs(x - y));
      scale = std::max(scale, std::fabs(y));
    }
    worst = std::max(worst, scale > 0.0 ? diff / scale : diff);
  }
  return worst;
}

class IrVersionsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(IrVersionsTest, FoldsAsTheIr8Original) {
  const std::string name = GetParam();
  const std::string original = ModelPath(name);
  std::ifstream probe(original);
  ASSERT_TRUE(probe.good()) << original << " is missing: run scripts/models.sh";
  const std::string work = BNFOLD_TEST_WORK_DIR "/" + name;
  StatusOr<ModelInfo> base = InspectModel(original);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  StatusOr<OptimizeReport> base_report = OptimizeModel(original, work + "_ir8_opt.onnx");
  ASSERT_TRUE(base_report.ok()) << base_report.status().ToString();
  const std::vector<NamedTensor> inputs = [&] {
    auto session = Session::Open(original);
    return session.ok() ? SeededInputs(**session) : std::vector<NamedTensor>{};
  }();
  const std::vector<NamedTensor> base_outputs = RunModel(original, true, inputs);

  for (const auto& [ir, opset] : {std::pair<int64_t, int64_t>{9, 19}, {10, 21}}) {
    SCOPED_TRACE("IR " + std::to_string(ir) + ", opset " + std::to_string(opset));
    const std::string path =
        Resave(original, ir, opset, work + "_ir" + std::to_string(ir) + ".onnx");
    StatusOr<ModelInfo> info = InspectModel(path);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->ir_version, ir);
    EXPECT_TRUE(info->warnings.empty());
    EXPECT_EQ(Folds(*info), Folds(*base));
    StatusOr<OptimizeReport> report =
        OptimizeModel(path, work + "_ir" + std::to_string(ir) + "_opt.onnx");
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->batchnorm_before, base_report->batchnorm_before);
    EXPECT_EQ(report->batchnorm_after, base_report->batchnorm_after);
    EXPECT_EQ(report->nodes_after, base_report->nodes_after);
    std::printf("%s IR %ld: BatchNormalization %d -> %d, nodes %d -> %d (IR 8: %d -> %d)\n",
                name.c_str(), static_cast<long>(ir), report->batchnorm_before,
                report->batchnorm_after, report->nodes_before, report->nodes_after,
                base_report->batchnorm_after, base_report->nodes_after);
    // The same graph runs: the folded outputs of both files agree.
    const std::vector<NamedTensor> folded = RunModel(path, true, inputs);
    EXPECT_LE(Normwise(folded, base_outputs), 1e-6);
    // What `bnfold verify` checks: folded against unfolded, 1e-4 of the scale.
    EXPECT_LE(Normwise(folded, RunModel(path, false, inputs)), 1e-4);
    if (ir != 10) continue;
    const testing::OrtRunner ort = testing::OrtRunner::FromEnvironment();
    std::string why;
    if (!ort.Available(&why)) {
      std::printf("ONNX Runtime not run: %s\n", why.c_str());
      continue;
    }
    // ONNX Runtime on the folded IR-10 file bnfold wrote.
    StatusOr<std::vector<NamedTensor>> expected =
        ort.Run(work + "_ir10_opt.onnx", inputs, work + "_ort");
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    EXPECT_LE(Normwise(folded, *expected), 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(SeedModels, IrVersionsTest, ::testing::ValuesIn(kModels),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace bnfold
