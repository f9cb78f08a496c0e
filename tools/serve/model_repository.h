// The models `bnfold serve` serves: found on disk, then loaded (each once,
// optimized; plans compile lazily per input shape on first use).
//
// Each argument is either a model file (name = its stem, version "1") or a
// folder holding model files directly (the same rule for each) and/or a
// model repository laid out as NAME/VERSION/model.onnx (VERSION all digits),
// the layout Triton and KServe use.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/status.h"

namespace bnfold::serve {

struct ServedModel {
  std::string name;
  std::string version;
  std::string path;
  std::unique_ptr<Session> session;  // set once loaded
  std::atomic<bool> ready{false};
};

class ModelRepository {
 public:
  // Finds the models (no loading yet). `rename`, when not empty, names the
  // one model found (e.g. KServe's InferenceService name); it is an error
  // when there is more than one model name.
  static StatusOr<std::unique_ptr<ModelRepository>> Discover(
      const std::vector<std::string>& paths, const std::string& rename);

  // Opens every model; stops at the first that fails (its error names it).
  Status LoadAll(const SessionOptions& options);

  // The model `name`, version `version` ("" = the highest version).
  // kNotFound for an unknown name or version.
  StatusOr<ServedModel*> Find(const std::string& name, const std::string& version) const;
  // The versions of `name`, ascending.
  std::vector<std::string> Versions(const std::string& name) const;

  bool AllReady() const;
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }

 private:
  std::vector<std::unique_ptr<ServedModel>> models_;  // sorted by name, then version
};

}  // namespace bnfold::serve
