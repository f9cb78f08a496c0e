// Offline optimization and inspection of ONNX models: what `bnfold optimize`
// and `bnfold inspect` do, for any C++ program that embeds bnfold.
//
//   bnfold::StatusOr<bnfold::OptimizeReport> report =
//       bnfold::OptimizeModel("model.onnx", "model.folded.onnx");
//   if (!report.ok()) { ... report.status().message() ... }
//   // report->batchnorm_before, report->batchnorm_after, report->batchnorm[i].reason
//
//   bnfold::StatusOr<bnfold::ModelInfo> info = bnfold::InspectModel("model.onnx");
//   // info->batchnorm[i].folds_into, .reason, .diagnostics
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bnfold/status.h"

namespace bnfold {

// Names of every graph pass, in the order the default pipeline runs them.
std::vector<std::string> AvailablePasses();

struct OptimizeOptions {
  // Pass names to run, in order; empty = the default pipeline.
  std::vector<std::string> passes;
  // As SessionOptions::strict: refuse what would otherwise be a warning.
  bool strict = false;
  // fold-constants evaluates every node of constants, however much the
  // written model grows. Off: results that no fold needs are kept as the
  // nodes computing them once they would add more than a budget (1 MiB) of
  // constants, so a ConstantOfShape does not turn a small file into a huge one.
  bool fold_large_constants = false;
};

struct PassSummary {
  std::string name;
  int rewrites = 0;
  std::vector<std::string> notes;
};

// What the pipeline decided for one BatchNormalization.
struct BatchNormOutcome {
  std::string node;         // the BN's name, or "BatchNormalization #N" if unnamed
  bool folded = false;
  std::string folded_into;  // e.g. "Conv 'conv1'", when folded
  // Why it was not folded (each pass that looked at it, "pass: reason"), or
  // which pass folded it.
  std::string reason;
  // When not folded, the reason in a few words for a table column:
  // "kept: after Concat, before Relu" ("kept" alone when no pass gave a
  // short form); empty when folded.
  std::string summary;
};

// What fold-constants did to the model's constants.
struct ConstantFoldingSummary {
  int evaluated = 0;          // nodes replaced by the constants they compute
  int kept_over_budget = 0;   // nodes kept because their results were too large
  int64_t bytes_added = 0;    // growth of the constants (negative: they shrank)
  int64_t budget_bytes = 0;   // growth allowed for results no fold needs
};

struct OptimizeReport {
  std::vector<PassSummary> passes;
  int batchnorm_before = 0;
  int batchnorm_after = 0;
  int nodes_before = 0;
  int nodes_after = 0;
  ConstantFoldingSummary constant_folding;
  // One entry per BatchNormalization of the input model, in graph order.
  std::vector<BatchNormOutcome> batchnorm;
  // The external-data file written next to the output ("" when the weights
  // are stored inline): `<output>.data`.
  std::string external_data_path;
  // Whether the ONNX checker validated the written model (it is skipped when
  // the model's IR version or opset is newer than the installed checker's).
  bool checker_ran = false;
  // Facts worth telling the user (e.g. why the checker was skipped).
  std::vector<std::string> notes;
  // What was wrong with the input file but did not stop it (see
  // OptimizeOptions::strict), one line each naming the file.
  std::vector<std::string> warnings;
};

// Loads `input_path`, runs the passes and writes the result to
// `output_path` (temp file + rename: readers never see a partial file).
//
// Refuses to write over its input (same path, or a link to the same file).
// Keeps opset imports, IR version, metadata, doc strings, functions, graph
// input/output names and the value_info of surviving values. Weights are
// stored in `<output_path>.data` (offsets aligned) when the input kept
// initializers as external data or the model would exceed protobuf's 2 GiB.
// The written model passes the ONNX checker whenever the installed checker
// can judge its IR version and opset; otherwise nothing is written.
StatusOr<OptimizeReport> OptimizeModel(const std::string& input_path,
                                       const std::string& output_path,
                                       const OptimizeOptions& options = {});

// OptimizeModel into memory: the optimized model, serialized, in
// `*optimized`. Refused (kUnsupported) when its weights would need an
// external-data file (the input kept them external, or it is over 2 GiB).
StatusOr<OptimizeReport> OptimizeModelToBytes(const std::string& input_path,
                                              std::string* optimized,
                                              const OptimizeOptions& options = {});

// OptimizeModel for a model held in memory (a serialized ModelProto, named
// "<memory>" in errors; external data is refused). Writes `output_path`
// atomically when it is not empty, and stores the serialized result in
// `*optimized` when that is not null; at least one of the two is required.
StatusOr<OptimizeReport> OptimizeModelBytes(std::string_view model,
                                            const std::string& output_path,
                                            std::string* optimized,
                                            const OptimizeOptions& options = {});

// One BatchNormalization as `bnfold inspect` shows it.
struct BatchNormInfo {
  std::string name;  // node name, or "BatchNormalization #N" if unnamed
  int64_t opset = 0;
  bool training_mode = false;
  double epsilon = 0.0;
  // Op type producing X; "(graph input)" or "(constant)" for those.
  std::string producer;
  // Op types reading Y, plus "(graph output)" when Y is a graph output.
  std::vector<std::string> consumers;
  // The node it folds into (e.g. "Conv 'conv1'") with the default pipeline.
  std::optional<std::string> folds_into;
  std::string reason;
  std::string summary;  // when not folded, e.g. "kept: after Concat" (see BatchNormOutcome)
  // Facts about its statistics and attributes worth a user's attention,
  // e.g. moving statistics left at their initial values.
  std::vector<std::string> diagnostics;
};

// A Transpose as `bnfold inspect` shows it: what cancel-transposes did with
// it, or why it stayed.
struct TransposeInfo {
  std::string name;  // node name, or "Transpose #N" if unnamed
  bool changed = false;  // cancelled, merged with another, or moved to a graph output
  std::string outcome;   // what was done, or "pass: reason" for each pass that left it
};

struct ModelInfo {
  int64_t ir_version = 0;
  int64_t opset = 0;  // default ONNX domain
  std::string producer_name;
  std::string producer_version;
  int nodes = 0;
  // Op type (with "domain." prefix outside the default domain) -> count.
  std::map<std::string, int> ops;
  std::vector<BatchNormInfo> batchnorm;
  std::vector<TransposeInfo> transposes;
  // Facts from loading (e.g. the checker was skipped, and why).
  std::vector<std::string> notes;
  // What was wrong with the file but did not stop it from loading.
  std::vector<std::string> warnings;
};

struct InspectOptions {
  // Passes whose decisions are reported; empty = the default pipeline.
  std::vector<std::string> passes;
  // As SessionOptions::strict: refuse what would otherwise be a warning.
  bool strict = false;
};

StatusOr<ModelInfo> InspectModel(const std::string& path,
                                 const InspectOptions& options = {});
// InspectModel for a serialized ModelProto held in memory.
StatusOr<ModelInfo> InspectModelBytes(std::string_view model,
                                      const InspectOptions& options = {});

}  // namespace bnfold
