// What the math family's kernel files (kernels/math.cc, math_matrix.cc,
// math_generator.cc) share: a tensor seen around one axis, and the
// registration of the parts that math.cc's RegisterMathKernels calls.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

// Dims around an axis: `outer` blocks of `len` steps of `inner` elements.
struct AxisGeometry {
  int64_t outer = 1, len = 1, inner = 1;
};

inline AxisGeometry GeometryAround(const std::vector<int64_t>& dims, size_t axis) {
  AxisGeometry g;
  for (size_t d = 0; d < axis; ++d) g.outer *= dims[d];
  g.len = dims[axis];
  for (size_t d = axis + 1; d < dims.size(); ++d) g.inner *= dims[d];
  return g;
}

void RegisterMathMatrixKernels(KernelRegistry& registry);
void RegisterMathGeneratorKernels(KernelRegistry& registry);

}  // namespace bnfold::onednn
