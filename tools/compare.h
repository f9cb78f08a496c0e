// Element-wise comparison of two tensors, numpy.testing.assert_allclose style:
// |actual - expected| <= atol + rtol * |expected|, NaN equal to NaN.
#pragma once

#include <cstdint>
#include <string>

#include "bnfold/tensor.h"

namespace bnfold::cli {

struct Comparison {
  bool ok = true;
  std::string mismatch;       // dtype/shape difference, when any
  double max_abs_err = 0.0;
  double max_rel_err = 0.0;   // |a-e| / |e| over elements with e != 0
  int64_t worst_index = -1;   // element with the largest excess over tolerance
  double worst_actual = 0.0;
  double worst_expected = 0.0;
  int64_t num_bad = 0;
};

Comparison CompareTensors(const Tensor& actual, const Tensor& expected, double rtol,
                          double atol);

// "max abs 1.2e-06, max rel 3.4e-07, worst element 17: 0.5 vs 0.5000012"
std::string DescribeComparison(const Comparison& c);

}  // namespace bnfold::cli
