// The --json documents of `bnfold optimize` and `bnfold inspect` (the CLI
// contract in docs/DESIGN.md), shared with the Python module so that
// bnfold.optimize() and bnfold.inspect() report exactly what the CLI does.
// `bnfold verify`'s is VerifyJson in tools/verify.h.
#pragma once

#include <string>

#include "bnfold/optimizer.h"

namespace bnfold::cli {

// `output` is the path written ("" when the model went to memory: null).
std::string OptimizeJson(const std::string& output, const OptimizeReport& report);  // cmd_optimize.cc
std::string InspectJson(const std::string& model, const ModelInfo& info);  // cmd_inspect.cc

}  // namespace bnfold::cli
