// Einsum's equation ("ij,jk->ik", "...ii", "bij,bjk") parsed against its
// inputs' ranks into one label per axis; the Einsum kernel
// (kernels/math_matrix.cc) sizes and strides its loop from the labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bnfold/status.h"

namespace bnfold::onednn {

// A parsed equation: for each input and the output, the label of each axis.
// Letters are labels 0-51; the axes an ellipsis stands for get labels from
// 52 on, right-aligned across the inputs (they broadcast).
struct EinsumEquation {
  std::vector<std::vector<int>> inputs;
  std::vector<int> output;
};

// Letters are labels 0-51 (A-Z, then a-z); ellipsis axes start here.
constexpr int kEinsumEllipsisLabel = 52;

// Parses `equation` (spaces ignored) for inputs of the given dims: each
// term's letters and ellipsis must match its input's rank; an explicit
// output ("->...") may not repeat a label or name one no input has; without
// one, the output is the ellipsis axes, then the letters used exactly once,
// in alphabetical order (upper case first).
StatusOr<EinsumEquation> ParseEinsum(std::string equation,
                                     const std::vector<std::vector<int64_t>>& dims);

}  // namespace bnfold::onednn
