// Runs a model on ONNX Runtime through scripts/ort/run.js (Node), the
// reference the model tests compare bnfold with.
#pragma once

#include <string>
#include <vector>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold::testing {

struct OrtRunner {
  std::string node = "node";
  std::string run_script;  // scripts/ort/run.js
  std::string ort_dir;     // where scripts/ort/install.sh put onnxruntime-node
  int threads = 2;

  // The runner from the BNFOLD_ORT_DIR / BNFOLD_SOURCE_DIR settings.
  static OrtRunner FromEnvironment();

  // Whether node and onnxruntime-node are installed; `why` says what is missing.
  bool Available(std::string* why) const;

  // Writes `inputs` as .npy files into `work_dir`, runs the model and reads
  // its outputs back (graph output order, named as the graph names them).
  StatusOr<std::vector<NamedTensor>> Run(const std::string& model,
                                         const std::vector<NamedTensor>& inputs,
                                         const std::string& work_dir) const;
};

}  // namespace bnfold::testing
