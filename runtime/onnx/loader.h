// Loading an ONNX model: read within limits, resolve external data safely,
// import into the IR, sort, then run ONNX's own checker and shape inference.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bnfold/status.h"
#include "runtime/ir/model.h"

namespace onnx {
class ModelProto;
}

namespace bnfold::onnx_io {

// A .onnx file larger than this must keep its weights as external data
// (protobuf cannot parse a message over 2 GiB).
inline constexpr size_t kMaxModelFileBytes = (size_t{2} << 30) - 1;

struct LoadOptions {
  bool run_checker = true;
  // ONNX's shape inference as a cross-check of bnfold's own (notes on
  // disagreements); bnfold's type propagation always runs.
  bool infer_shapes = true;
  // Complaints that do not stop bnfold from running the model as ONNX
  // Runtime would (the ONNX checker's verdict, a declared type the graph
  // contradicts ...) are errors instead of warnings.
  bool strict = false;
};

struct LoadedModel {
  ir::Model model;
  // The input ModelProto without nodes and initializers: metadata, functions,
  // value_info and input/output declarations, for a lossless export.
  std::shared_ptr<const onnx::ModelProto> skeleton;
  // Initializers whose data lived in external files.
  std::set<std::string> external_initializers;
  // Facts worth telling the user, e.g. that the checker was skipped.
  std::vector<std::string> notes;
  // What was wrong with the file but did not stop it from loading (one line
  // each, naming the file); LoadOptions::strict makes each an error.
  std::vector<std::string> warnings;
  // The ONNX checker judged the model and found fault (a warning).
  bool checker_failed = false;
};

StatusOr<LoadedModel> LoadModelFile(const std::string& path,
                                    const LoadOptions& options = {});
// `source` names the model in errors; external data is resolved relative to
// `base_dir` and refused when it is empty.
StatusOr<LoadedModel> LoadModelBytes(std::string_view bytes,
                                     const std::string& base_dir,
                                     const std::string& source,
                                     const LoadOptions& options = {});

// ONNX's domain -> (lowest, highest) opset table of the installed library,
// read only once its schema registry is built: building the registry (the
// first schema lookup of the process) writes the table, and reading it
// before raced with another thread's first lookup (TSan, two sessions
// opened at once: ConcurrencyTest.SessionsOpenedAndClosedConcurrently).
const std::unordered_map<std::string, std::pair<int, int>>& InstalledOpsetRanges();

}  // namespace bnfold::onnx_io
