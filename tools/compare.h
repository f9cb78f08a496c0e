// Comparison of two tensors, NaN equal to NaN, with one of two tolerances:
// - kElementwise (numpy.testing.assert_allclose, the ONNX backend-test rule):
//   |actual - expected| <= atol + rtol * |expected| for every element;
// - kOutputScale: |actual - expected| <= atol + rtol * max|expected|, i.e.
//   relative to the output's largest magnitude. Two float32 computations of
//   a deep network that differ only in rounding order (folded vs unfolded)
//   differ by ~1e-5 of the output's scale everywhere, which is a huge
//   element-wise relative error on elements near zero.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "bnfold/tensor.h"

namespace bnfold::cli {

enum class Tolerance { kElementwise, kOutputScale };

struct Comparison {
  bool ok = true;
  std::string mismatch;       // dtype/shape difference, when any
  double max_abs_err = 0.0;
  // kElementwise: max |a-e| / |e| over elements with e != 0;
  // kOutputScale: max |a-e| / max|e|.
  double max_rel_err = 0.0;
  double max_elementwise_rel_err = 0.0;  // max |a-e| / |e|, e != 0
  double scale = 0.0;                    // max |e| over finite elements
  double worst_excess = -INFINITY;       // largest |a-e| - tolerance
  int64_t worst_index = -1;   // element with the largest excess over tolerance
  double worst_actual = 0.0;
  double worst_expected = 0.0;
  int64_t num_bad = 0;
};

Comparison CompareTensors(const Tensor& actual, const Tensor& expected, double rtol,
                          double atol, Tolerance tolerance = Tolerance::kElementwise);

// The spacing of float16 numbers at |x| (the unit in the last place):
// 2^(e - 10) for normal |x| in [2^e, 2^(e+1)), 2^-24 below 2^-14. `verify`
// judges float16 outputs in these units of the output scale.
inline double Float16Ulp(double x) {
  x = std::fabs(x);
  if (x < std::ldexp(1.0, -14)) return std::ldexp(1.0, -24);
  int exponent = 0;
  std::frexp(x, &exponent);  // x = m * 2^exponent, m in [0.5, 1)
  return std::ldexp(1.0, exponent - 1 - 10);
}

// "max abs 1.2e-06, max rel 3.4e-07, worst element 17: 0.5 vs 0.5000012"
std::string DescribeComparison(const Comparison& c);

}  // namespace bnfold::cli
