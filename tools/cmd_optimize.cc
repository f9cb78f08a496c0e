// bnfold optimize IN OUT [--passes a,b,...] [--fold-large-constants] [--report] [--strict]
//                 [--json]
#include <iostream>

#include "bnfold/optimizer.h"
#include "tools/cli.h"
#include "tools/json_reports.h"

namespace bnfold::cli {

namespace {

constexpr const char* kUsage =
    "usage: bnfold optimize IN OUT [--passes a,b,...] [--fold-large-constants] [--report]\n"
    "                       [--strict] [--json]\n"
    "  writes IN with its BatchNormalization folded (weights in OUT.data when IN\n"
    "  kept them as external data or the model is over 2 GiB); never over IN.\n"
    "  --passes   passes to run, in order (default: the whole pipeline)\n"
    "  --fold-large-constants  evaluate every node of constants, however much the\n"
    "             file grows (default: results no fold needs may add 1 MiB)\n"
    "  --report   per pass rewrites and, for every BatchNormalization, the outcome\n"
    "  --strict   refuse IN for what ONNX Runtime runs anyway (checker complaints,\n"
    "             a graph output listed twice, a contradicted declaration) instead\n"
    "             of warning\n";

}  // namespace

std::string OptimizeJson(const std::string& output, const OptimizeReport& r) {
  Json json;
  json.BeginObject().Key("output");
  if (output.empty()) {
    json.Null();
  } else {
    json.String(output);
  }
  json.Key("external_data");
  if (r.external_data_path.empty()) {
    json.Null();
  } else {
    json.String(r.external_data_path);
  }
  json.Key("checker").Bool(r.checker_ran);
  json.Key("passes").BeginArray();
  for (const PassSummary& p : r.passes) {
    json.BeginObject().Key("name").String(p.name).Key("rewrites").Int(p.rewrites);
    json.Key("notes").BeginArray();
    for (const std::string& n : p.notes) json.String(n);
    json.EndArray().EndObject();
  }
  json.EndArray();
  json.Key("batchnorm_before").Int(r.batchnorm_before);
  json.Key("batchnorm_after").Int(r.batchnorm_after);
  json.Key("nodes_before").Int(r.nodes_before);
  json.Key("nodes_after").Int(r.nodes_after);
  const ConstantFoldingSummary& c = r.constant_folding;
  json.Key("constant_folding").BeginObject().Key("evaluated").Int(c.evaluated);
  json.Key("kept_over_budget").Int(c.kept_over_budget).Key("bytes_added").Int(c.bytes_added);
  json.Key("budget_bytes").Int(c.budget_bytes).EndObject();
  json.Key("batchnorm").BeginArray();
  for (const BatchNormOutcome& bn : r.batchnorm) {
    json.BeginObject().Key("name").String(bn.node).Key("folded").Bool(bn.folded);
    json.Key("folds_into");
    if (bn.folded) {
      json.String(bn.folded_into);
    } else {
      json.Null();
    }
    json.Key("reason").String(bn.reason).EndObject();
  }
  json.EndArray().Key("notes").BeginArray();
  for (const std::string& n : r.notes) json.String(n);
  json.EndArray().Key("warnings").BeginArray();
  for (const std::string& w : r.warnings) json.String(w);
  json.EndArray().EndObject();
  return json.str();
}

namespace {

void PrintText(const std::string& output, const OptimizeReport& r, bool detailed) {
  std::cout << "wrote " << output;
  if (!r.external_data_path.empty()) std::cout << " (weights in " << r.external_data_path << ")";
  std::cout << "\nBatchNormalization: " << r.batchnorm_before << " -> " << r.batchnorm_after
            << ", nodes: " << r.nodes_before << " -> " << r.nodes_after << "\n";
  const ConstantFoldingSummary& c = r.constant_folding;
  if (c.evaluated > 0 || c.kept_over_budget > 0) {
    std::cout << "constants: " << c.evaluated << " node" << (c.evaluated == 1 ? "" : "s")
              << " evaluated, " << c.bytes_added << " bytes added";
    if (c.kept_over_budget > 0) {
      std::cout << "; " << c.kept_over_budget << " kept: over the budget of " << c.budget_bytes
                << " bytes for results no fold needs (--fold-large-constants folds them)";
    }
    std::cout << "\n";
  }
  for (const std::string& n : r.notes) std::cout << "note: " << n << "\n";
  if (!detailed) return;
  std::cout << "passes:\n";
  if (r.passes.empty()) std::cout << "  (none registered)\n";
  for (const PassSummary& p : r.passes) {
    std::cout << "  " << p.name << ": " << p.rewrites << " rewrite" << (p.rewrites == 1 ? "" : "s")
              << "\n";
    for (const std::string& n : p.notes) std::cout << "    " << n << "\n";
  }
  if (!r.batchnorm.empty()) std::cout << "BatchNormalization:\n";
  for (const BatchNormOutcome& bn : r.batchnorm) {
    std::cout << "  " << bn.node << ": "
              << (bn.folded ? "folded into " + bn.folded_into : "kept: " + bn.reason) << "\n";
  }
}

}  // namespace

StatusOr<std::vector<std::string>> ParsePassList(const std::string& list) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, comma - start);
    if (name.empty()) {
      return InvalidArgument("--passes expects pass names separated by commas, got '" + list + "'");
    }
    names.push_back(name);
    start = comma + 1;
  }
  return names;
}

int OptimizeCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(
      argv, {"--passes"}, {"--fold-large-constants", "--report", "--strict", "--json", "--help"});
  if (!args.ok()) return ReportError("optimize", args.status());
  if (std::optional<int> code = StopForUsage(*args, 2, kUsage)) return *code;
  OptimizeOptions options;
  options.fold_large_constants = args->Has("--fold-large-constants");
  options.strict = args->Has("--strict");
  if (args->Has("--passes")) {
    StatusOr<std::vector<std::string>> passes = ParsePassList(args->Get("--passes"));
    if (!passes.ok()) return ReportError("optimize", passes.status());
    options.passes = *passes;
  }
  const std::string& input = args->positional()[0];
  const std::string& output = args->positional()[1];
  StatusOr<OptimizeReport> report = OptimizeModel(input, output, options);
  if (!report.ok()) return ReportError("optimize", report.status());
  PrintWarnings("optimize", report->warnings);
  if (args->Has("--json")) {
    std::cout << OptimizeJson(output, *report) << "\n";
  } else {
    PrintText(output, *report, args->Has("--report"));
  }
  return kExitOk;
}

}  // namespace bnfold::cli
