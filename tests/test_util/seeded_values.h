// Reproducible test data shared by every test target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace bnfold::testing {

// `n` values of type T from a fixed-seed generator, uniform in [lo, hi).
template <typename T>
std::vector<T> SeededUniform(size_t n, uint32_t seed, T lo, T hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<T> uniform(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = uniform(rng);
  return v;
}

inline std::vector<float> SeededValues(size_t n, uint32_t seed, float lo = -1.0f,
                                       float hi = 1.0f) {
  return SeededUniform<float>(n, seed, lo, hi);
}

}  // namespace bnfold::testing
