#include "passes/fold_constants.h"

#include <cmath>

#include "runtime/ir/tensor_util.h"

namespace bnfold::passes {

namespace {

bool IsFoldableKind(ir::OpKind kind) {
  switch (kind) {
    case ir::OpKind::kAdd:
    case ir::OpKind::kSub:
    case ir::OpKind::kMul:
    case ir::OpKind::kDiv:
    case ir::OpKind::kPow:
    case ir::OpKind::kSqrt:
    case ir::OpKind::kReciprocal:
      return true;
    default:
      return false;
  }
}

double Apply(ir::OpKind kind, double a, double b) {
  switch (kind) {
    case ir::OpKind::kAdd: return a + b;
    case ir::OpKind::kSub: return a - b;
    case ir::OpKind::kMul: return a * b;
    case ir::OpKind::kDiv: return a / b;
    case ir::OpKind::kPow: return std::pow(a, b);
    case ir::OpKind::kSqrt: return std::sqrt(a);
    case ir::OpKind::kReciprocal: return 1.0 / a;
    default: return std::nan("");
  }
}

// Numpy-style broadcast of a (op) b.
MatchOr<DoubleTensor> EvaluateBinary(ir::OpKind kind, const DoubleTensor& a,
                                     const DoubleTensor& b) {
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  std::vector<int64_t> shape(rank), a_stride(rank, 0), b_stride(rank, 0);
  int64_t a_step = 1, b_step = 1;
  for (size_t i = 0; i < rank; ++i) {  // from the last axis
    const size_t axis = rank - 1 - i;
    const int64_t da = i < a.shape.size() ? a.shape[a.shape.size() - 1 - i] : 1;
    const int64_t db = i < b.shape.size() ? b.shape[b.shape.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) {
      return NoMatch{"shapes " + ShapeString(a.shape) + " and " + ShapeString(b.shape) +
                     " do not broadcast"};
    }
    shape[axis] = std::max(da, db);
    if (da == 0 || db == 0) shape[axis] = 0;
    a_stride[axis] = da == 1 ? 0 : a_step;
    b_stride[axis] = db == 1 ? 0 : b_step;
    a_step *= da;
    b_step *= db;
  }
  StatusOr<int64_t> count = CheckedElementCount(shape);
  if (!count.ok() || *count > kMaxFoldedElements) {
    return NoMatch{"the result " + ShapeString(shape) + " is too large to fold"};
  }
  DoubleTensor out{shape, std::vector<double>(static_cast<size_t>(*count))};
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < *count; ++i) {
    int64_t ai = 0, bi = 0;
    for (size_t d = 0; d < rank; ++d) {
      ai += index[d] * a_stride[d];
      bi += index[d] * b_stride[d];
    }
    out.values[i] = Apply(kind, a.values[ai], b.values[bi]);
    for (size_t d = rank; d-- > 0;) {  // odometer increment
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace

MatchOr<FoldConstantMatch> MatchFoldConstant(ir::Node& node) {
  if (!IsFoldableKind(node.kind())) return NoMatch{node.Describe() + " is not foldable arithmetic"};
  const bool unary = node.kind() == ir::OpKind::kSqrt || node.kind() == ir::OpKind::kReciprocal;
  const int arity = unary ? 1 : 2;
  if (node.num_inputs() != arity || node.num_outputs() != 1 || node.output(0) == nullptr) {
    return NoMatch{node.Describe() + " has an unexpected number of inputs or outputs"};
  }
  for (int i = 0; i < arity; ++i) {  // 1
    if (std::string why = NotConstantReason(node.input(i), "input"); !why.empty()) {
      return NoMatch{why};
    }
  }
  const DataType dtype = node.input(0)->constant_data()->dtype();  // 2
  if (!IsFloatingPoint(dtype)) {
    return NoMatch{std::string("input is ") + DataTypeName(dtype) + ", not floating point"};
  }
  if (!unary && node.kind() != ir::OpKind::kPow &&
      node.input(1)->constant_data()->dtype() != dtype) {
    return NoMatch{"inputs have different types"};
  }
  if (!unary && node.opset() < 7) {
    return NoMatch{"opset " + std::to_string(node.opset()) + " broadcasts by attributes"};
  }
  if (node.output(0)->is_graph_output()) {  // 3
    return NoMatch{"'" + node.output(0)->name() + "' is a graph output"};
  }
  const DoubleTensor a = ConstantAsDouble(*node.input(0));
  DoubleTensor result;
  if (unary) {
    result = a;
    for (double& v : result.values) v = Apply(node.kind(), v, 0.0);
  } else {  // 4
    MATCH_OR_RETURN(result, EvaluateBinary(node.kind(), a, ConstantAsDouble(*node.input(1))));
  }
  StatusOr<ir::ConstTensorPtr> data = ir::MakeConstant(dtype, result.shape, result.values);
  if (!data.ok()) return NoMatch{data.status().message()};
  return FoldConstantMatch{&node, *data};
}

void RewriteFoldConstant(ir::Graph& graph, const FoldConstantMatch& match) {
  ir::Value* out = match.node->output(0);
  RemoveNodeAndDeadInputs(graph, match.node);
  graph.SetInitializer(out, match.result);
}

Status FoldConstantsPass::Run(ir::Graph& graph, PassReport& report) const {
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted;
  return VisitLiveNodes(graph, /*reverse=*/false, [&](ir::Node* node) -> StatusOr<bool> {
    if (!IsFoldableKind(node->kind())) return false;
    MatchOr<FoldConstantMatch> match = MatchFoldConstant(*node);
    if (!match.ok()) {
      bool all_data = true;  // only then is a refusal news
      for (const ir::Value* in : node->inputs()) all_data = all_data && in && in->constant_data();
      if (all_data) report.notes.push_back("kept " + node->Describe() + ": " + match.reason());
      return false;
    }
    report.notes.push_back("evaluated " + node->Describe() + " into constant '" +
                           node->output(0)->name() + "'");
    RewriteFoldConstant(graph, *match);
    ++report.rewrites;
    return true;
  });
}

std::shared_ptr<const Pass> MakeFoldConstantsPass() {
  return std::make_shared<FoldConstantsPass>();
}

}  // namespace bnfold::passes
