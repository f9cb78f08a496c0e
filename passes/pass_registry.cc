#include "passes/pass_registry.h"

namespace bnfold::passes {

namespace {

struct Entry {
  const char* name;
  std::shared_ptr<const Pass> (*make)();
};

// The default pipeline, in order. Each pass lives in its own file.
const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = {};
  return entries;
}

}  // namespace

std::vector<std::string> DefaultPipeline() {
  std::vector<std::string> names;
  for (const Entry& e : Entries()) names.push_back(e.name);
  return names;
}

std::shared_ptr<const Pass> MakePass(const std::string& name) {
  for (const Entry& e : Entries()) {
    if (name == e.name) return e.make();
  }
  return nullptr;
}

}  // namespace bnfold::passes
