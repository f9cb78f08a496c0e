#include "passes/pass_registry.h"

#include "passes/cancel_transposes.h"
#include "passes/cleanup.h"
#include "passes/fold_affine.h"
#include "passes/fold_batchnorm.h"
#include "passes/fold_batchnorm_forward.h"
#include "passes/fold_constants.h"

namespace bnfold::passes {

namespace {

struct Entry {
  const char* name;
  std::shared_ptr<const Pass> (*make)(const PassOptions&);
};

// A pass that needs no options.
template <std::shared_ptr<const Pass> (*kMake)()>
std::shared_ptr<const Pass> Plain(const PassOptions&) {
  return kMake();
}

// Every pass, once, in the order of its first run in the default pipeline.
// Each pass lives in its own file.
const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = {
      {"cleanup", Plain<MakeCleanupPass>},
      {"fold-constants", MakeFoldConstantsPass},
      {"cancel-transposes", Plain<MakeCancelTransposesPass>},
      {"fold-affine", Plain<MakeFoldAffinePass>},
      {"fold-batchnorm", Plain<MakeFoldBatchNormPass>},
      {"fold-batchnorm-forward", Plain<MakeFoldBatchNormForwardPass>},
  };
  return entries;
}

}  // namespace

std::vector<std::string> DefaultPipeline() {
  return {
      "cleanup",         // Identity/Dropout between a Conv and its BN would hide the pair
      "fold-constants",  // Sqrt(var + eps) and friends become plain constants
      "cancel-transposes",  // NHWC Transposes around a Conv hide its Sub/Mul/Add from fold-affine
      "fold-affine",     // Conv -> Add(bias) -> BN: the Add first
      "fold-batchnorm",
      "fold-affine",     // Conv -> BN -> Mul: the Mul once the BN is gone
      "fold-batchnorm-forward",  // what is left: BN after an activation
      "cleanup",         // weights the folds replaced
  };
}

std::vector<std::string> RegisteredPasses() {
  std::vector<std::string> names;
  for (const Entry& e : Entries()) names.push_back(e.name);
  return names;
}

std::shared_ptr<const Pass> MakePass(const std::string& name, const PassOptions& options) {
  for (const Entry& e : Entries()) {
    if (name == e.name) return e.make(options);
  }
  return nullptr;
}

}  // namespace bnfold::passes
