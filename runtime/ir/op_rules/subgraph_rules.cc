// Types and shapes of If, Loop and Scan: each body is typed by bnfold's own
// inference (InferTypes) from what the node feeds it -- the iteration
// number and condition, the loop-carried values, one slice of each scan
// input, the outer values it reads -- and the node's outputs follow from the
// body's. A carried value whose shape changes between iterations keeps the
// dims that stay (the body is typed again with the merged shape until it
// is stable); If's outputs keep the dims both branches agree on.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"
#include "runtime/ir/type_inference.h"

namespace bnfold::ir {

namespace {

// Dims both shapes agree on; the others unknown; unknown rank when the
// ranks differ.
std::optional<StaticShape> MergeShapes(const std::optional<StaticShape>& a,
                                       const std::optional<StaticShape>& b) {
  if (!a || !b || a->size() != b->size()) return std::nullopt;
  StaticShape merged = *a;
  for (size_t i = 0; i < merged.size(); ++i) {
    const Dim& x = (*a)[i];
    const Dim& y = (*b)[i];
    const bool same = x.is_fixed() ? (y.is_fixed() && x.value == y.value)
                                   : (!x.param.empty() && x.param == y.param);
    if (!same) merged[i] = Dim{};
  }
  return merged;
}

bool SameShape(const std::optional<StaticShape>& a, const std::optional<StaticShape>& b) {
  if (!a || !b) return !a && !b;
  if (a->size() != b->size()) return false;
  for (size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i].value != (*b)[i].value || (*a)[i].param != (*b)[i].param) return false;
  }
  return true;
}

Graph* Body(const InferContext& ctx, const char* attribute) {
  return ctx.node().subgraph(attribute);
}

// Types the body's outer references from the node's implicit inputs and
// the formal inputs from `formal`, then the body itself.
Status TypeBody(InferContext& ctx, Graph& body, const char* attribute,
                const std::vector<ValueType>& formal) {
  const int formal_count = body.num_formal_inputs();
  if (static_cast<size_t>(formal_count) != formal.size()) {
    return ctx.Error("subgraph '" + std::string(attribute) + "' has " +
                     std::to_string(formal_count) + " inputs, the op feeds it " +
                     std::to_string(formal.size()));
  }
  int k = ctx.node().num_explicit_inputs();
  int f = 0;
  for (Value* in : body.inputs()) {
    if (in->is_outer_ref()) {
      in->set_dtype(ctx.dtype(k));
      in->set_shape(ctx.has_input(k) ? ctx.shape(k) : std::nullopt);
      ++k;
    } else {
      const ValueType& t = formal[f++];
      // A body input the model types keeps its declared element type when
      // the node's input has none (and its declared shape is a hint only).
      DataType dtype = t.dtype;
      if (dtype == DataType::kUndefined && in->declared_type()) dtype = in->declared_type()->dtype;
      in->set_dtype(dtype);
      in->set_shape(t.shape);
    }
  }
  const TypeInferenceReport report = InferTypes(body);
  if (!report.node_errors.empty()) {
    return ctx.Error("subgraph '" + std::string(attribute) + "': " + report.node_errors.front());
  }
  return Status::Ok();
}

ValueType InputType(const InferContext& ctx, int i) {
  return ValueType{ctx.dtype(i), ctx.has_input(i) ? ctx.shape(i) : std::nullopt};
}

ValueType OutputType(const Graph& body, size_t i) {
  if (i >= body.outputs().size()) return {};
  const Value* v = body.outputs()[i];
  return ValueType{v->dtype(), v->shape()};
}

ValueType Scalar(DataType dtype) { return ValueType{dtype, StaticShape{}}; }

Status IfRule(InferContext& ctx) {
  Graph* then_branch = Body(ctx, "then_branch");
  Graph* else_branch = Body(ctx, "else_branch");
  if (!then_branch || !else_branch) return ctx.Error("needs graph attributes then_branch and else_branch");
  RETURN_IF_ERROR(TypeBody(ctx, *then_branch, "then_branch", {}));
  RETURN_IF_ERROR(TypeBody(ctx, *else_branch, "else_branch", {}));
  const size_t n = static_cast<size_t>(ctx.num_outputs());
  if (then_branch->outputs().size() != n || else_branch->outputs().size() != n) {
    return ctx.Error("has " + std::to_string(n) + " outputs but its branches return " +
                     std::to_string(then_branch->outputs().size()) + " and " +
                     std::to_string(else_branch->outputs().size()));
  }
  for (size_t i = 0; i < n; ++i) {
    const ValueType a = OutputType(*then_branch, i);
    const ValueType b = OutputType(*else_branch, i);
    if (a.dtype != DataType::kUndefined && b.dtype != DataType::kUndefined && a.dtype != b.dtype) {
      return ctx.Error("output " + std::to_string(i) + " is " + DataTypeName(a.dtype) +
                       " in then_branch but " + DataTypeName(b.dtype) + " in else_branch");
    }
    ctx.SetOutput(static_cast<int>(i), a.dtype != DataType::kUndefined ? a.dtype : b.dtype,
                  MergeShapes(a.shape, b.shape));
  }
  return Status::Ok();
}

// Types `body` with carried inputs `carried` (positions [first, first+n) of
// the body's inputs and [out_first, out_first+n) of its outputs), widening
// each to what stays the same between iterations.
Status TypeCarried(InferContext& ctx, Graph& body, const char* attribute,
                   std::vector<ValueType> prefix, std::vector<ValueType> carried,
                   std::vector<ValueType> suffix, size_t out_first) {
  for (int round = 0; round < 4; ++round) {
    std::vector<ValueType> formal = prefix;
    formal.insert(formal.end(), carried.begin(), carried.end());
    formal.insert(formal.end(), suffix.begin(), suffix.end());
    RETURN_IF_ERROR(TypeBody(ctx, body, attribute, formal));
    bool stable = true;
    for (size_t i = 0; i < carried.size(); ++i) {
      const ValueType out = OutputType(body, out_first + i);
      if (!SameShape(out.shape, carried[i].shape)) {
        carried[i].shape = MergeShapes(out.shape, carried[i].shape);
        stable = false;
      }
    }
    if (stable) return Status::Ok();
  }
  return Status::Ok();
}

Status LoopRule(InferContext& ctx) {
  Graph* body = Body(ctx, "body");
  if (!body) return ctx.Error("needs graph attribute body");
  const int carried_count = ctx.node().num_explicit_inputs() - 2;
  if (carried_count < 0) return ctx.Error("needs inputs M and cond (either may be empty)");
  std::vector<ValueType> carried;
  for (int i = 0; i < carried_count; ++i) carried.push_back(InputType(ctx, 2 + i));
  RETURN_IF_ERROR(TypeCarried(ctx, *body, "body",
                              {Scalar(DataType::kInt64), Scalar(DataType::kBool)}, carried, {},
                              /*out_first=*/1));
  const int outputs = ctx.num_outputs();
  if (static_cast<int>(body->outputs().size()) != 1 + outputs) {
    return ctx.Error("has " + std::to_string(outputs) + " outputs but its body returns " +
                     std::to_string(body->outputs().size()) + " (cond and one per output)");
  }
  for (int i = 0; i < outputs; ++i) {
    ValueType t = OutputType(*body, 1 + i);
    if (i < carried_count) {
      ctx.SetOutput(i, t.dtype, MergeShapes(t.shape, carried[i].shape));
    } else {
      std::optional<StaticShape> shape;
      if (t.shape) {
        shape = StaticShape{Dim{}};
        shape->insert(shape->end(), t.shape->begin(), t.shape->end());
      }
      ctx.SetOutput(i, t.dtype, shape);
    }
  }
  return Status::Ok();
}

// A shape without dim `axis` (nullopt when unknown or out of range).
std::optional<StaticShape> Without(const std::optional<StaticShape>& shape, int64_t axis) {
  if (!shape || axis < 0 || axis >= static_cast<int64_t>(shape->size())) return std::nullopt;
  StaticShape out = *shape;
  out.erase(out.begin() + axis);
  return out;
}

Status ScanRule(InferContext& ctx) {
  Graph* body = Body(ctx, "body");
  if (!body) return ctx.Error("needs graph attribute body");
  ASSIGN_OR_RETURN(const int64_t num_scan_inputs, ctx.node().GetInt("num_scan_inputs", -1));
  const bool v8 = ctx.opset() < 9;
  const int first = v8 ? 1 : 0;  // opset 8: sequence_lens first
  const int inputs = ctx.node().num_explicit_inputs() - first;
  if (num_scan_inputs < 1 || num_scan_inputs > inputs) {
    return ctx.Error("num_scan_inputs must be between 1 and the number of inputs (" +
                     std::to_string(inputs) + ")");
  }
  const int states = inputs - static_cast<int>(num_scan_inputs);
  ASSIGN_OR_RETURN(std::vector<int64_t> in_axes,
                   ctx.node().GetInts("scan_input_axes", std::vector<int64_t>(num_scan_inputs, 0)));
  // Opset 8 adds a leading batch axis everywhere: the body sees one batch
  // element and the scan axis is 1.
  std::vector<ValueType> carried, slices;
  Dim batch;
  for (int i = 0; i < states; ++i) {
    ValueType t = InputType(ctx, first + i);
    if (v8) {
      if (t.shape && !t.shape->empty()) batch = (*t.shape)[0];
      t.shape = Without(t.shape, 0);
    }
    carried.push_back(t);
  }
  Dim length;
  for (int j = 0; j < num_scan_inputs; ++j) {
    ValueType t = InputType(ctx, first + states + j);
    int64_t axis = v8 ? 1 : (j < static_cast<int>(in_axes.size()) ? in_axes[j] : 0);
    if (t.shape) {
      const int64_t rank = static_cast<int64_t>(t.shape->size());
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank) return ctx.Error("scan input axis out of range");
      if (j == 0) length = (*t.shape)[axis];
      if (v8 && j == 0 && rank > 0) batch = (*t.shape)[0];
    }
    t.shape = Without(t.shape, axis);
    if (v8) t.shape = Without(t.shape, 0);
    slices.push_back(t);
  }
  RETURN_IF_ERROR(TypeCarried(ctx, *body, "body", {}, carried, slices, 0));
  const int outputs = ctx.num_outputs();
  if (static_cast<int>(body->outputs().size()) != outputs) {
    return ctx.Error("has " + std::to_string(outputs) + " outputs but its body returns " +
                     std::to_string(body->outputs().size()));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> out_axes,
                   ctx.node().GetInts("scan_output_axes",
                                      std::vector<int64_t>(outputs - states, 0)));
  for (int i = 0; i < outputs; ++i) {
    ValueType t = OutputType(*body, i);
    std::optional<StaticShape> shape;
    if (i < states) {
      shape = MergeShapes(t.shape, carried[i].shape);
    } else if (t.shape) {
      StaticShape s = *t.shape;
      int64_t axis = v8 ? 0 : (static_cast<size_t>(i - states) < out_axes.size() ? out_axes[i - states] : 0);
      if (axis < 0) axis += static_cast<int64_t>(s.size()) + 1;
      if (axis < 0 || axis > static_cast<int64_t>(s.size())) return ctx.Error("scan output axis out of range");
      s.insert(s.begin() + axis, length);
      shape = s;
    }
    if (v8 && shape) shape->insert(shape->begin(), batch);
    ctx.SetOutput(i, t.dtype, shape);
  }
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> SubgraphRules() {
  return {{OpKind::kIf, &IfRule}, {OpKind::kLoop, &LoopRule}, {OpKind::kScan, &ScanRule}};
}

}  // namespace bnfold::ir
