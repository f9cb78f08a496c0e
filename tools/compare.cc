#include "tools/compare.h"

#include <cmath>
#include <cstdio>

namespace bnfold::cli {

Comparison CompareTensors(const Tensor& actual, const Tensor& expected, double rtol,
                          double atol, Tolerance tolerance) {
  Comparison c;
  if (actual.dtype() != expected.dtype()) {
    c.ok = false;
    c.mismatch = std::string("element type ") + DataTypeName(actual.dtype()) +
                 ", expected " + DataTypeName(expected.dtype());
    return c;
  }
  if (actual.shape() != expected.shape()) {
    c.ok = false;
    c.mismatch = "shape " + ShapeToString(actual.shape()) + ", expected " +
                 ShapeToString(expected.shape());
    return c;
  }
  for (int64_t i = 0; i < expected.num_elements(); ++i) {
    const double e = std::fabs(expected.GetAsDouble(i));
    if (std::isfinite(e)) c.scale = std::max(c.scale, e);
  }
  double& worst_excess = c.worst_excess;
  for (int64_t i = 0; i < actual.num_elements(); ++i) {
    const double a = actual.GetAsDouble(i);
    const double e = expected.GetAsDouble(i);
    if (std::isnan(a) || std::isnan(e)) {
      if (std::isnan(a) != std::isnan(e)) {
        ++c.num_bad;
        c.ok = false;
        if (worst_excess < INFINITY) {
          worst_excess = INFINITY;
          c.worst_index = i;
          c.worst_actual = a;
          c.worst_expected = e;
        }
      }
      continue;
    }
    if (std::isinf(a) || std::isinf(e)) {
      if (a != e) {
        ++c.num_bad;
        c.ok = false;
        c.max_abs_err = INFINITY;
        worst_excess = INFINITY;
        c.worst_index = i;
        c.worst_actual = a;
        c.worst_expected = e;
      }
      continue;
    }
    const double diff = std::fabs(a - e);
    c.max_abs_err = std::max(c.max_abs_err, diff);
    if (e != 0.0) {
      c.max_elementwise_rel_err = std::max(c.max_elementwise_rel_err, diff / std::fabs(e));
    }
    const double reference =
        tolerance == Tolerance::kElementwise ? std::fabs(e) : c.scale;
    const double excess = diff - (atol + rtol * reference);
    if (excess > 0) {
      ++c.num_bad;
      c.ok = false;
    }
    if (excess > worst_excess) {
      worst_excess = excess;
      c.worst_index = i;
      c.worst_actual = a;
      c.worst_expected = e;
    }
  }
  if (tolerance == Tolerance::kElementwise) {
    c.max_rel_err = c.max_elementwise_rel_err;
  } else {
    c.max_rel_err = c.scale > 0 ? c.max_abs_err / c.scale : (c.max_abs_err > 0 ? INFINITY : 0.0);
  }
  return c;
}

std::string DescribeComparison(const Comparison& c) {
  if (!c.mismatch.empty()) return c.mismatch;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "max abs %.3g, max rel %.3g, worst element %lld: %.9g vs %.9g%s",
                c.max_abs_err, c.max_rel_err, static_cast<long long>(c.worst_index),
                c.worst_actual, c.worst_expected,
                c.num_bad ? (" (" + std::to_string(c.num_bad) + " elements out of tolerance)").c_str()
                          : "");
  return buf;
}

}  // namespace bnfold::cli
