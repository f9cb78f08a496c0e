// Kernels of the loss signal family (runtime/backend/onednn/kernels/loss_signal.cc)
// through the public Session API (single_node_model.h), against NumPy,
// double-precision or hand-computed references: the edge cases the ONNX
// backend suite misses (empty tensors, broadcasting, negative axes, integer
// overflow rules, NaN handling).
#include <gtest/gtest.h>

#include "tests/runtime/backend/kernels/single_node_model.h"
