// How far a runtime's output is from a reference output, relative to the
// reference's scale: the measure the model tests judge bnfold and ONNX
// Runtime by (max |a - b| / max |b|, see model_vs_ort_test.cc for why not
// element-wise). Float and float16 outputs (compared in double).
#pragma once

#include <cstdint>

#include "bnfold/tensor.h"
#include "tools/compare.h"

namespace bnfold::testing {

struct OutputErrors {
  double normwise = 0.0;  // max |a - b| / max |b|
  double max_abs = 0.0;
  double max_ref = 0.0;      // max |b|
  double elementwise = 0.0;  // max |a - b| / |b| over b != 0, for the record
  int64_t worst = -1;
  bool finite = true;
};

// Precondition: same dtype and number of elements.
OutputErrors CompareOutputs(const Tensor& actual, const Tensor& reference);

// The spacing of float16 numbers at |x| (tools/compare.h: `bnfold verify`
// judges float16 outputs by it too).
using ::bnfold::cli::Float16Ulp;

}  // namespace bnfold::testing
