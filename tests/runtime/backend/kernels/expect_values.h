// Test helper: element-wise comparison of a kernel's output with a
// reference, where NaN must match NaN and an infinity must match exactly.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace bnfold::testing {

// |got - want| <= tol * (1 + |want|) element by element.
inline void ExpectValuesNear(const std::vector<double>& got, const std::vector<double>& want,
                             double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
    }
  }
}

}  // namespace bnfold::testing
