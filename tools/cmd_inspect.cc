// bnfold inspect MODEL [--passes a,b,...] [--json]
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "bnfold/optimizer.h"
#include "tools/cli.h"
#include "tools/json_reports.h"

namespace bnfold::cli {

namespace {

constexpr const char* kUsage =
    "usage: bnfold inspect MODEL [--passes a,b,...] [--strict] [--json]\n"
    "  op counts and, for each BatchNormalization: mode, epsilon, neighbours,\n"
    "  what it folds into (or why not) and diagnostics of its statistics; for each\n"
    "  Transpose, what cancel-transposes did with it or why it stays.\n"
    "  --passes   judge the folds of these passes (default: the whole pipeline)\n"
    "  --strict   refuse MODEL for what ONNX Runtime runs anyway (checker\n"
    "             complaints, a contradicted declaration ...) instead of warning\n";

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

std::string FormatEpsilon(double epsilon) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", epsilon);
  return buf;
}

}  // namespace

std::string InspectJson(const std::string& path, const ModelInfo& info) {
  Json json;
  json.BeginObject().Key("model").String(path);
  json.Key("ir_version").Int(info.ir_version).Key("opset").Int(info.opset);
  json.Key("producer_name").String(info.producer_name);
  json.Key("producer_version").String(info.producer_version);
  json.Key("nodes").Int(info.nodes);
  json.Key("ops").BeginObject();
  for (const auto& [op, count] : info.ops) json.Key(op).Int(count);
  json.EndObject().Key("batchnorm").BeginArray();
  for (const BatchNormInfo& bn : info.batchnorm) {
    json.BeginObject().Key("name").String(bn.name).Key("opset").Int(bn.opset);
    json.Key("mode").String(bn.training_mode ? "training" : "inference");
    json.Key("epsilon").Number(bn.epsilon);
    json.Key("producer").String(bn.producer).Key("consumers").BeginArray();
    for (const std::string& c : bn.consumers) json.String(c);
    json.EndArray().Key("folds_into");
    if (bn.folds_into) {
      json.String(*bn.folds_into);
    } else {
      json.Null();
    }
    json.Key("reason").String(bn.reason).Key("summary").String(bn.summary);
    json.Key("diagnostics").BeginArray();
    for (const std::string& d : bn.diagnostics) json.String(d);
    json.EndArray().EndObject();
  }
  json.EndArray().Key("transposes").BeginArray();
  for (const TransposeInfo& t : info.transposes) {
    json.BeginObject().Key("name").String(t.name).Key("changed").Bool(t.changed);
    json.Key("outcome").String(t.outcome).EndObject();
  }
  json.EndArray().Key("notes").BeginArray();
  for (const std::string& n : info.notes) json.String(n);
  json.EndArray().Key("warnings").BeginArray();
  for (const std::string& w : info.warnings) json.String(w);
  json.EndArray().EndObject();
  return json.str();
}

namespace {

// Left-aligned columns, each as wide as its widest cell.
void PrintTable(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

void PrintText(const std::string& path, const ModelInfo& info) {
  std::cout << path << ": IR " << info.ir_version << ", opset " << info.opset;
  if (!info.producer_name.empty()) {
    std::cout << ", from " << info.producer_name
              << (info.producer_version.empty() ? "" : " " + info.producer_version);
  }
  std::cout << "\n" << info.nodes << " nodes\n";

  std::vector<std::pair<std::string, int>> ops(info.ops.begin(), info.ops.end());
  std::stable_sort(ops.begin(), ops.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::vector<std::string>> op_rows;
  for (const auto& [op, count] : ops) op_rows.push_back({op, std::to_string(count)});
  PrintTable(op_rows, "  ");

  if (info.batchnorm.empty()) {
    std::cout << "no BatchNormalization\n";
  } else {
    std::cout << "\nBatchNormalization (" << info.batchnorm.size() << "):\n";
    std::vector<std::vector<std::string>> rows = {
        {"name", "opset", "mode", "epsilon", "producer -> consumers", "folds into"}};
    for (const BatchNormInfo& bn : info.batchnorm) {
      rows.push_back({bn.name, std::to_string(bn.opset), bn.training_mode ? "training" : "inference",
                      FormatEpsilon(bn.epsilon),
                      bn.producer + " -> " + (bn.consumers.empty() ? "(none)" : Join(bn.consumers, ", ")),
                      bn.folds_into ? *bn.folds_into : bn.summary});
    }
    PrintTable(rows, "  ");
    bool header = false;
    for (const BatchNormInfo& bn : info.batchnorm) {
      if (bn.folds_into && bn.diagnostics.empty()) continue;
      if (!header) std::cout << "\nwhy not folded, and diagnostics:\n";
      header = true;
      std::cout << "  " << bn.name << ":\n";
      if (!bn.folds_into) std::cout << "    kept: " << bn.reason << "\n";
      for (const std::string& d : bn.diagnostics) std::cout << "    ! " << d << "\n";
    }
  }
  if (!info.transposes.empty()) {
    std::cout << "\nTranspose (" << info.transposes.size() << "):\n";
    for (const TransposeInfo& t : info.transposes) {
      std::cout << "  " << t.name << ": " << (t.changed ? "" : "kept: ") << t.outcome << "\n";
    }
  }
  for (const std::string& n : info.notes) std::cout << "note: " << n << "\n";
}

}  // namespace

int InspectCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(argv, {"--passes"}, {"--strict", "--json", "--help"});
  if (!args.ok()) return ReportError("inspect", args.status());
  if (std::optional<int> code = StopForUsage(*args, 1, kUsage)) return *code;
  InspectOptions options;
  options.strict = args->Has("--strict");
  if (args->Has("--passes")) {
    StatusOr<std::vector<std::string>> passes = ParsePassList(args->Get("--passes"));
    if (!passes.ok()) return ReportError("inspect", passes.status());
    options.passes = *passes;
  }
  const std::string& path = args->positional()[0];
  StatusOr<ModelInfo> info = InspectModel(path, options);
  if (!info.ok()) return ReportError("inspect", info.status());
  PrintWarnings("inspect", info->warnings);
  if (args->Has("--json")) {
    std::cout << InspectJson(path, *info) << "\n";
  } else {
    PrintText(path, *info);
  }
  return kExitOk;
}

}  // namespace bnfold::cli
