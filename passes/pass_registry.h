// Where the passes are listed: one line per pass in pass_registry.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace bnfold::passes {

// Pass names in the order the default pipeline runs them (a pass may run
// more than once).
std::vector<std::string> DefaultPipeline();
// Every registered pass once, in the order of its first default run.
std::vector<std::string> RegisteredPasses();
// The pass called `name`, or null.
std::shared_ptr<const Pass> MakePass(const std::string& name, const PassOptions& options);

}  // namespace bnfold::passes
