// Runs every case of the ONNX backend test suite (Debian's libonnx-testdata:
// node, pytorch-converted, pytorch-operator, simple) whose ops are all ones
// bnfold implements, with the graph passes on and off, and fails on any case
// that does not pass unless expectations.txt lists it with a reason. A listed
// case that starts passing fails too, so the list only shrinks.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "runtime/common/file_util.h"
#include "runtime/ir/op_kind.h"
#include "tools/check_case.h"

namespace bnfold {
namespace {

std::string DataRoot() {
  const char* env = std::getenv("BNFOLD_ONNX_TESTDATA");
  return env ? env : "/usr/share/libonnx-testdata/data";
}

struct Expectation {
  std::string status;
  std::string reason;
};

// "<suite>/<case> <status> <reason>" per line; '#' starts a comment.
std::map<std::string, Expectation> LoadExpectations() {
  std::map<std::string, Expectation> out;
  std::ifstream in(BNFOLD_CONFORMANCE_EXPECTATIONS);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, status, reason;
    fields >> name >> status;
    std::getline(fields, reason);
    out[name] = {status, reason};
  }
  return out;
}

std::vector<std::string> ListSubdirs(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Whether every node of the case's model is an op bnfold implements.
bool InScope(const std::string& model_path) {
  StatusOr<std::string> bytes = ReadFileToString(model_path, size_t{1} << 30);
  onnx::ModelProto model;
  if (!bytes.ok() || !model.ParseFromString(*bytes)) return false;
  for (const auto& node : model.graph().node()) {
    if (ir::OpKindFromName(node.domain(), node.op_type()) == ir::OpKind::kUnknown) return false;
  }
  return true;
}

std::vector<std::string> InScopeCases() {
  std::vector<std::string> cases;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const std::string suite_dir = DataRoot() + "/" + suite;
    for (const std::string& name : ListSubdirs(suite_dir)) {
      if (InScope(suite_dir + "/" + name + "/model.onnx")) {
        cases.push_back(std::string(suite) + "/" + name);
      }
    }
  }
  return cases;
}

const std::vector<std::string>& Cases() {
  static const std::vector<std::string> cases = InScopeCases();
  return cases;
}

TEST(ConformanceSuite, FindsTheInScopeCases) {
  // ONNX 1.12's suite has 524 cases whose ops are all in bnfold's op list; a
  // much smaller number means the test data is missing or unreadable.
  EXPECT_GE(Cases().size(), 500u) << "is libonnx-testdata installed at " << DataRoot() << "?";
}

TEST(ConformanceSuite, ExpectationsNameRealCases) {
  for (const auto& [name, expectation] : LoadExpectations()) {
    EXPECT_NE(std::find(Cases().begin(), Cases().end(), name), Cases().end())
        << "expectations.txt lists '" << name << "', which is not an in-scope case";
    EXPECT_FALSE(expectation.reason.empty()) << name << " needs a reason";
  }
}

class ConformanceTest : public testing::TestWithParam<std::string> {};

void RunCase(const std::string& name, bool optimize) {
  static const std::map<std::string, Expectation> expectations = LoadExpectations();
  const cli::CaseResult result = cli::RunBackendTestCase(DataRoot() + "/" + name, optimize);
  auto it = expectations.find(name);
  if (it == expectations.end()) {
    EXPECT_EQ(result.status, "pass") << name << ": " << result.reason;
  } else {
    EXPECT_NE(result.status, "pass")
        << name << " now passes: remove it from expectations.txt (listed as "
        << it->second.status << ":" << it->second.reason << ")";
  }
}

TEST_P(ConformanceTest, Optimized) { RunCase(GetParam(), /*optimize=*/true); }
TEST_P(ConformanceTest, Unoptimized) { RunCase(GetParam(), /*optimize=*/false); }

std::string CaseTestName(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(OnnxBackend, ConformanceTest, testing::ValuesIn(Cases()),
                         CaseTestName);

}  // namespace
}  // namespace bnfold
