// A naive double-precision evaluator of the IR for the pass tests: an
// independent check that a folded graph computes what the unfolded one did,
// with no backend involved. Ops: Conv, ConvTranspose, Gemm, MatMul,
// BatchNormalization (inference), Add, Sub, Mul, Div, Pow, Sqrt,
// Reciprocal, Relu, MaxPool, GlobalAveragePool, Flatten, Identity,
// Dropout (inference), Constant, Reshape, Transpose, Squeeze, Unsqueeze,
// Shape, ConstantOfShape, Cast.
// Kept in tests/ only: slow and simple on purpose.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "passes/constant_evaluator.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes::testing {

struct RefTensor {
  std::vector<int64_t> shape;
  std::vector<double> values;
};

RefTensor RefFromTensor(const Tensor& tensor);

// Evaluates every graph output. `inputs` feeds the graph inputs that are not
// initializers (and may override overridable initializers).
StatusOr<std::map<std::string, RefTensor>> EvaluateGraph(
    const ir::Graph& graph, const std::map<std::string, RefTensor>& inputs);

// fold-constants' evaluator in the pass tests (PassOptions::evaluator): a
// node of the ops above evaluated in double, its output rounded once to its
// dtype (input 0's; int64 for Shape, `to` for Cast, `value`'s for
// ConstantOfShape). Independent of the
// backend, so a pass test checks the pass and nothing else.
std::shared_ptr<const ConstantEvaluator> MakeReferenceConstantEvaluator();

}  // namespace bnfold::passes::testing
