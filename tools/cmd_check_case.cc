// bnfold check-case CASE_DIR... [--no-optimize] [--json]
#include <iostream>

#include "tools/cli.h"
#include "tools/check_case.h"

namespace bnfold::cli {


int CheckCaseCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(argv, {}, {"--no-optimize", "--json"});
  if (!args.ok()) return ReportError("check-case", args.status());
  if (args->positional().empty()) {
    return ReportError("check-case",
                       InvalidArgument("usage: bnfold check-case CASE_DIR... [--no-optimize]"));
  }
  const bool json_output = args->Has("--json");
  int passed = 0, failed = 0, skipped = 0;
  std::vector<CaseResult> results;
  for (const std::string& dir : args->positional()) {
    CaseResult r = RunBackendTestCase(dir, !args->Has("--no-optimize"));
    if (r.status == "pass") {
      ++passed;
    } else if (r.status == "unsupported") {
      ++skipped;
    } else {
      ++failed;
    }
    if (!json_output) {
      std::string line = r.status == "pass" ? "PASS" : r.status == "unsupported" ? "UNSUPPORTED"
                                                   : r.status == "fail"          ? "FAIL"
                                                                                 : "ERROR";
      std::cout << line << " " << dir;
      if (!r.reason.empty()) std::cout << ": " << r.reason;
      std::cout << "\n";
    }
    results.push_back(std::move(r));
  }
  if (json_output) {
    Json json;
    json.BeginObject().Key("cases").BeginArray();
    for (const CaseResult& r : results) {
      json.BeginObject().Key("case").String(r.dir).Key("status").String(r.status);
      json.Key("reason").String(r.reason).Key("max_abs_err").Number(r.max_abs_err).EndObject();
    }
    json.EndArray().Key("passed").Int(passed).Key("failed").Int(failed);
    json.Key("skipped").Int(skipped).EndObject();
    std::cout << json.str() << "\n";
  } else {
    std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  }
  return failed ? kExitMismatch : kExitOk;
}

}  // namespace bnfold::cli
