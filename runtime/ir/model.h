// A loaded model: the graph plus the model-level facts passes and the backend
// need. Everything else in the file (metadata, functions, training info) is
// kept by the ONNX layer for a lossless export.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/ir/graph.h"

namespace bnfold::ir {

struct OpsetImport {
  std::string domain;  // "" for the default ONNX domain
  int64_t version = 0;
};

struct Model {
  int64_t ir_version = 0;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name;
  std::string producer_version;
  // Where the model came from, for error messages ("<memory>" for bytes).
  std::string source;
  std::unique_ptr<Graph> graph;

  // Version of the default domain, 0 when not imported.
  int64_t DefaultOpset() const {
    for (const OpsetImport& o : opset_imports) {
      if (o.domain.empty() || o.domain == "ai.onnx") return o.version;
    }
    return 0;
  }
};

}  // namespace bnfold::ir
