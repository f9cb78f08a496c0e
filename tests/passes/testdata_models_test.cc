// The default pipeline on every model of the ONNX backend test data
// (Debian's libonnx-testdata) that loads: it must never fail, never change
// the graph's interface, and — where the reference evaluator knows every op —
// compute the same outputs on the case's own input data.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "onnx/onnx_pb.h"
#include "runtime/constant_evaluator.h"
#include "runtime/onnx/loader.h"
#include "runtime/onnx/tensor_proto.h"
#include "tests/passes/test_models.h"
#include "tests/test_util/dependency.h"

namespace bnfold::passes::testing {
namespace {

std::string DataRoot() {
  const char* env = std::getenv("BNFOLD_ONNX_TESTDATA");
  return env ? env : "/usr/share/libonnx-testdata/data";
}

std::vector<std::string> CaseDirs() {
  std::vector<std::string> dirs;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const std::string root = DataRoot() + "/" + suite;
    if (DIR* d = opendir(root.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") dirs.push_back(root + "/" + name);
      }
      closedir(d);
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// The inputs of test_data_set_0, by graph input order.
bool ReadInputs(const std::string& dir, const ir::Graph& graph,
                std::map<std::string, RefTensor>* inputs) {
  std::vector<const ir::Value*> fed;
  for (const ir::Value* in : graph.inputs()) {
    if (!in->constant_data()) fed.push_back(in);
  }
  for (size_t i = 0; i < fed.size(); ++i) {
    std::ifstream file(dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb",
                       std::ios::binary);
    if (!file) return false;
    std::stringstream bytes;
    bytes << file.rdbuf();
    onnx::TensorProto proto;
    if (!proto.ParseFromString(bytes.str())) return false;
    StatusOr<Tensor> tensor = onnx_io::TensorFromProto(proto, "input");
    if (!tensor.ok() || !IsFloatingPoint(tensor->dtype())) return false;
    (*inputs)[fed[i]->name()] = RefFromTensor(*tensor);
  }
  return true;
}

TEST(TestdataModels, DefaultPipelineKeepsEveryModelValid) {
  const std::vector<std::string> dirs = CaseDirs();
  BNFOLD_REQUIRE_DEPENDENCY(!dirs.empty(), "no ONNX test data under " + DataRoot());
  int loaded = 0, compared = 0, folded_batchnorms = 0;
  for (const std::string& dir : dirs) {
    StatusOr<onnx_io::LoadedModel> model = onnx_io::LoadModelFile(dir + "/model.onnx");
    if (!model.ok()) continue;
    ++loaded;
    const ir::Graph& before = *model->model.graph;
    std::unique_ptr<ir::Graph> after = before.Clone();
    StatusOr<PassManager> manager = PassManager::Create({}, RuntimePassOptions());
    ASSERT_TRUE(manager.ok());
    PipelineReport report;
    Status status = manager->Run(*after, &report);
    ASSERT_TRUE(status.ok()) << dir << ": " << status.ToString();
    folded_batchnorms += report.batchnorm_before - report.batchnorm_after;
    ASSERT_EQ(after->inputs().size(), before.inputs().size()) << dir;
    ASSERT_EQ(after->outputs().size(), before.outputs().size()) << dir;
    for (size_t i = 0; i < before.outputs().size(); ++i) {
      EXPECT_EQ(after->outputs()[i]->name(), before.outputs()[i]->name()) << dir;
    }
    std::map<std::string, RefTensor> inputs;
    if (!ReadInputs(dir, before, &inputs)) continue;
    StatusOr<std::map<std::string, RefTensor>> want = EvaluateGraph(before, inputs);
    if (!want.ok()) continue;  // an op the reference evaluator does not know
    StatusOr<std::map<std::string, RefTensor>> got = EvaluateGraph(*after, inputs);
    ASSERT_TRUE(got.ok()) << dir << ": " << got.status().ToString();
    EXPECT_LT(MaxRelativeDifference(*got, *want), 1e-5) << dir;
    ++compared;
  }
  EXPECT_GT(loaded, 100);
  EXPECT_GT(compared, 20);
  RecordProperty("loaded", loaded);
  RecordProperty("compared", compared);
  RecordProperty("folded_batchnorms", folded_batchnorms);
  std::cout << "models loaded: " << loaded << ", compared in double: " << compared
            << ", BNs folded: " << folded_batchnorms << "\n";
}

}  // namespace
}  // namespace bnfold::passes::testing
