// Runs every case of the ONNX backend test suite (Debian's libonnx-testdata:
// node, pytorch-converted, pytorch-operator, simple: 1,072 cases), with the
// graph passes on and off, and fails on any case that does not pass unless
// a file in expectations/ lists it with a reason (one file per op family of
// runtime/ir/op_kind.h, core.txt for the rest). A listed case that starts
// passing fails too, so the lists only shrink.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

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

std::vector<std::string> ListSubdirs(const std::string& dir);

// "<suite>/<case> <status> <reason>" per line of every expectations/*.txt;
// '#' starts a comment. <status> is check-case's (fail, unsupported, error),
// suffixed "@optimized" or "@unoptimized" when only that way fails.
std::map<std::string, Expectation> LoadExpectations() {
  std::map<std::string, Expectation> out;
  for (const std::string& file : ListSubdirs(BNFOLD_CONFORMANCE_EXPECTATIONS)) {
    if (file.size() < 4 || file.substr(file.size() - 4) != ".txt") continue;
    std::ifstream in(std::string(BNFOLD_CONFORMANCE_EXPECTATIONS) + "/" + file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string name, status, reason;
      fields >> name >> status;
      std::getline(fields, reason);
      EXPECT_EQ(out.count(name), 0u) << name << " is listed twice in expectations/";
      out[name] = {status, reason};
    }
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

std::vector<std::string> SuiteCases() {
  std::vector<std::string> cases;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const std::string suite_dir = DataRoot() + "/" + suite;
    for (const std::string& name : ListSubdirs(suite_dir)) {
      cases.push_back(std::string(suite) + "/" + name);
    }
  }
  return cases;
}

const std::vector<std::string>& Cases() {
  static const std::vector<std::string> cases = SuiteCases();
  return cases;
}

TEST(ConformanceSuite, FindsTheSuiteCases) {
  // ONNX 1.12's suite has 524 cases whose ops are all in bnfold's op list; a
  // much smaller number means the test data is missing or unreadable.
  EXPECT_GE(Cases().size(), 500u) << "is libonnx-testdata installed at " << DataRoot() << "?";
}

TEST(ConformanceSuite, ExpectationsNameRealCases) {
  for (const auto& [name, expectation] : LoadExpectations()) {
    EXPECT_NE(std::find(Cases().begin(), Cases().end(), name), Cases().end())
        << "expectations/ lists '" << name << "', which is not a case of the suite";
    EXPECT_FALSE(expectation.reason.empty()) << name << " needs a reason";
  }
}

class ConformanceTest : public testing::TestWithParam<std::string> {};

void RunCase(const std::string& name, bool optimize) {
  static const std::map<std::string, Expectation> expectations = LoadExpectations();
  const cli::CaseResult result = cli::RunBackendTestCase(DataRoot() + "/" + name, optimize);
  auto it = expectations.find(name);
  // "<status>@optimized" / "<status>@unoptimized": the case fails only with
  // the graph passes on (off); a plain status means both ways.
  if (it != expectations.end()) {
    const std::string& status = it->second.status;
    const bool only_optimized = status.ends_with("@optimized");
    const bool only_unoptimized = status.ends_with("@unoptimized");
    if ((only_optimized && !optimize) || (only_unoptimized && optimize)) it = expectations.end();
  }
  if (it == expectations.end()) {
    EXPECT_EQ(result.status, "pass") << name << ": " << result.reason;
  } else {
    EXPECT_NE(result.status, "pass")
        << name << " now passes: remove it from expectations/ (listed as "
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
