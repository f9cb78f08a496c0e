// What a test does when something it needs is not installed (ONNX Runtime,
// the ONNX backend test data): by default it FAILS, saying what is missing and
// how to install it, so that a machine without the reference runtime cannot
// pass the suite while the comparisons never ran. A developer who wants the
// old behaviour asks for it explicitly with BNFOLD_ALLOW_SKIP=1; under CI
// (CI=true) skipping is never allowed. tests/test_util/dependency.py is the
// same rule for the Python tests.
#pragma once

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

namespace bnfold::testing {

inline bool SkipsAllowed() {
  const char* allow = std::getenv("BNFOLD_ALLOW_SKIP");
  const char* ci = std::getenv("CI");
  const bool under_ci = ci != nullptr && std::strcmp(ci, "true") == 0;
  return !under_ci && allow != nullptr && std::strcmp(allow, "1") == 0;
}

}  // namespace bnfold::testing

// Ends the test when `available` is false: skipped with `why` if skips are
// allowed, failed otherwise.
#define BNFOLD_REQUIRE_DEPENDENCY(available, why)                                   \
  do {                                                                              \
    if (!(available)) {                                                             \
      if (::bnfold::testing::SkipsAllowed()) GTEST_SKIP() << (why);                 \
      FAIL() << (why) << " (scripts/setup.sh and scripts/ort/install.sh install "   \
             << "it; BNFOLD_ALLOW_SKIP=1 skips such tests outside CI)";             \
    }                                                                               \
  } while (0)
