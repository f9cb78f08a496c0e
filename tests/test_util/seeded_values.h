// Reproducible test data shared by every test target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace bnfold::testing {

// `n` values from a fixed-seed generator, uniform in [lo, hi).
inline std::vector<float> SeededValues(size_t n, uint32_t seed, float lo = -1.0f,
                                       float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(rng);
  return v;
}

}  // namespace bnfold::testing
