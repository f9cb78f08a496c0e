// bnfold's type rules (runtime/ir/op_rules) on every ONNX backend node test
// whose ops bnfold runs (Debian's libonnx-testdata), checked two ways:
//   - against the expected output tensors: bnfold's element type and every
//     dim it fixes must be the real output's;
//   - against ONNX 1.12's own shape inference (where that library knows the
//     model): no contradiction, and wherever ONNX fixes a dim bnfold fixes
//     it too -- except the cases listed below, each with the reason.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "runtime/ir/op_kind.h"
#include "runtime/ir/type_inference.h"
#include "runtime/onnx/guarded_inference.h"
#include "runtime/onnx/importer.h"
#include "runtime/onnx/loader.h"

namespace bnfold {
namespace {

std::string NodeRoot() {
  const char* env = std::getenv("BNFOLD_ONNX_TESTDATA");
  return std::string(env ? env : "/usr/share/libonnx-testdata/data") + "/node";
}

// Where ONNX 1.12's inference fixes an output dim differently from the
// output the test data holds (bnfold follows the data), or fixes one that
// bnfold leaves open; key "case:output".
const std::map<std::string, std::string>& KnownDifferences() {
  // None with ONNX 1.12's node tests. (Newer test data has ceil_mode
  // pooling cases where 1.12 keeps a last window that starts in the end
  // padding; the kernels, PyTorch and ONNX Runtime drop it.)
  static const auto* const known = new std::map<std::string, std::string>{};
  return *known;
}

std::vector<std::string> ListCases() {
  std::vector<std::string> names;
  if (DIR* d = opendir(NodeRoot().c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind("test_", 0) == 0) names.push_back(name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool ReadProto(const std::string& path, google::protobuf::Message* message) {
  std::ifstream in(path, std::ios::binary);
  return in && message->ParseFromIstream(&in);
}

// Whether every node is a default-domain op bnfold knows.
bool AllOpsKnown(const onnx::ModelProto& model) {
  for (const auto& n : model.graph().node()) {
    if (ir::OpKindFromName(n.domain(), n.op_type()) == ir::OpKind::kUnknown) return false;
  }
  return model.graph().node_size() > 0;
}

std::string DimsText(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// ONNX 1.12's inferred type of each graph output, with the model's own
// output declarations removed first (else inference only checks them).
std::map<std::string, ir::ValueType> OnnxOutputTypes(onnx::ModelProto model) {
  std::map<std::string, ir::ValueType> out;
  if (model.ir_version() > onnx::IR_VERSION) model.set_ir_version(onnx::IR_VERSION);
  for (auto& o : *model.mutable_graph()->mutable_output()) o.clear_type();
  try {
    onnx_io::InferShapesGuarded(&model);
  } catch (const std::exception&) {
    return out;
  }
  for (const auto& o : model.graph().output()) {
    if (std::optional<ir::ValueType> t = onnx_io::ValueInfoType(o)) out[o.name()] = *t;
  }
  return out;
}

TEST(NodeShapes, RulesAgreeWithTheTestDataAndWithOnnxInference) {
  const std::vector<std::string> cases = ListCases();
  if (cases.empty()) GTEST_SKIP() << "no ONNX node tests under " << NodeRoot();
  int checked = 0, outputs = 0, fully_known = 0, compared_with_onnx = 0;
  std::set<std::string> seen_known;
  for (const std::string& name : cases) {
    const std::string dir = NodeRoot() + "/" + name;
    onnx::ModelProto proto;
    if (!ReadProto(dir + "/model.onnx", &proto) || !AllOpsKnown(proto)) continue;
    onnx_io::LoadOptions options;
    options.run_checker = false;
    options.infer_shapes = false;
    StatusOr<onnx_io::LoadedModel> loaded = onnx_io::LoadModelFile(dir + "/model.onnx", options);
    if (!loaded.ok()) continue;  // refused at load (an op version bnfold does not run)
    ++checked;
    const ir::Graph& graph = *loaded->model.graph;
    const int64_t opset = loaded->model.DefaultOpset();
    const std::map<std::string, ir::ValueType> onnx_types =
        opset <= 17 ? OnnxOutputTypes(proto) : std::map<std::string, ir::ValueType>{};
    for (size_t i = 0; i < graph.outputs().size(); ++i) {
      const ir::Value& v = *graph.outputs()[i];
      const std::string key = name + ":" + v.name();
      SCOPED_TRACE(key + " bnfold " + ir::TypeToString(v.dtype(), v.shape()));
      onnx::TensorProto expected;
      if (!ReadProto(dir + "/test_data_set_0/output_" + std::to_string(i) + ".pb", &expected)) {
        continue;
      }
      ++outputs;
      const std::vector<int64_t> dims(expected.dims().begin(), expected.dims().end());
      // The test data stores bfloat16 as uint16; strings bnfold does not type.
      const bool bfloat16_as_uint16 = v.dtype() == DataType::kBfloat16 &&
                                      expected.data_type() == onnx::TensorProto::UINT16;
      const bool untyped_string = v.dtype() == DataType::kUndefined &&
                                  expected.data_type() == onnx::TensorProto::STRING;
      if (!bfloat16_as_uint16 && !untyped_string) {
        EXPECT_EQ(static_cast<int>(v.dtype()), expected.data_type()) << "element type";
      }
      auto onnx_it = onnx_types.find(v.name());
      const bool onnx_knows = onnx_it != onnx_types.end() && onnx_it->second.shape;
      if (!v.shape()) {
        // Operands fed at run time (Squeeze's axes as a graph input ...).
        EXPECT_FALSE(onnx_knows) << "bnfold leaves the rank unknown, ONNX 1.12 infers "
                                 << ir::TypeToString(onnx_it->second.dtype, onnx_it->second.shape);
        continue;
      }
      ASSERT_EQ(v.shape()->size(), dims.size()) << "the output is " << DimsText(dims);
      bool all_fixed = true;
      for (size_t d = 0; d < dims.size(); ++d) {
        const ir::Dim& dim = (*v.shape())[d];
        all_fixed = all_fixed && dim.is_fixed();
        if (dim.is_fixed()) EXPECT_EQ(dim.value, dims[d]) << "dim " << d << " of " << DimsText(dims);
      }
      fully_known += all_fixed;
      if (!onnx_knows) continue;
      ++compared_with_onnx;
      const ir::StaticShape& theirs = *onnx_it->second.shape;
      bool differs = theirs.size() != v.shape()->size();
      for (size_t d = 0; !differs && d < theirs.size(); ++d) {
        differs = theirs[d].is_fixed() &&
                  (!(*v.shape())[d].is_fixed() || (*v.shape())[d].value != theirs[d].value);
      }
      if (KnownDifferences().count(key)) {
        seen_known.insert(key);
        EXPECT_TRUE(differs) << "listed as a known difference but agrees: remove it";
        continue;
      }
      EXPECT_FALSE(differs) << "ONNX 1.12 infers "
                            << ir::TypeToString(onnx_it->second.dtype, onnx_it->second.shape);
    }
  }
  for (const auto& [key, why] : KnownDifferences()) {
    EXPECT_TRUE(seen_known.count(key)) << key << " (" << why << ") was not checked";
  }
  // The suite covers every op family: a sanity floor, not a target.
  EXPECT_GT(checked, 300);
  EXPECT_GT(compared_with_onnx, 300);
  std::printf("node models: %d checked, %d outputs, %d fully known, %d compared with ONNX 1.12\n",
              checked, outputs, fully_known, compared_with_onnx);
}

}  // namespace
}  // namespace bnfold
