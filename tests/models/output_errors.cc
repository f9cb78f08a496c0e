#include "tests/models/output_errors.h"

#include <algorithm>
#include <cmath>

namespace bnfold::testing {

OutputErrors CompareOutputs(const Tensor& actual, const Tensor& reference) {
  OutputErrors e;
  for (int64_t i = 0; i < reference.num_elements(); ++i) {
    const double a = actual.GetAsDouble(i);
    const double b = reference.GetAsDouble(i);
    if (!std::isfinite(a) || !std::isfinite(b)) e.finite = false;
    const double diff = std::abs(a - b);
    if (diff > e.max_abs) {
      e.max_abs = diff;
      e.worst = i;
    }
    e.max_ref = std::max(e.max_ref, std::abs(b));
    if (b != 0.0) e.elementwise = std::max(e.elementwise, diff / std::abs(b));
  }
  e.normwise = e.max_ref > 0.0 ? e.max_abs / e.max_ref : e.max_abs;
  return e;
}

}  // namespace bnfold::testing
