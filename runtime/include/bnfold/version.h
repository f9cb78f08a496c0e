#pragma once

#define BNFOLD_VERSION_MAJOR 0
#define BNFOLD_VERSION_MINOR 1
#define BNFOLD_VERSION_PATCH 0

namespace bnfold {
// "0.1.0"
const char* Version();
}  // namespace bnfold
