// Types and shapes of the ops that move or describe data: Reshape, Flatten,
// Squeeze/Unsqueeze, Transpose, Concat, Split, Slice, Gather, Tile, Pad,
// Expand, Shape, Constant, ConstantOfShape. Shape computations are followed
// through their values (data propagation): Shape gives the dims it reads,
// symbols included, and Gather/Slice/Concat/Squeeze/Unsqueeze (and the
// integer arithmetic in elementwise_rules.cc) carry them on to the Reshape
// or Expand that consumes them.
#include <algorithm>
#include <set>

#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// The elements a shape-like integer input holds, as a list of SymInts: its
// propagated value, or `length` unknowns when only its length is fixed.
std::optional<std::vector<SymInt>> ShapeOperand(const InferContext& ctx, int i) {
  if (const SymInts* v = ctx.ints(i)) return v->elements;
  const std::optional<StaticShape>& s = ctx.shape(i);
  if (s && s->size() == 1 && (*s)[0].is_fixed() && (*s)[0].value <= kMaxPropagatedInts) {
    return std::vector<SymInt>(static_cast<size_t>((*s)[0].value));
  }
  return std::nullopt;
}

// Axes from an attribute (before `input_since`) or a constant input.
// nullopt when the input is there but not known before the run.
StatusOr<std::optional<std::vector<int64_t>>> Axes(const InferContext& ctx, int64_t input_since,
                                                   int input) {
  if (ctx.opset() < input_since) {
    ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.node().GetInts("axes", {}));
    return std::optional<std::vector<int64_t>>(std::move(axes));
  }
  if (!ctx.has_input(input)) return std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  return ctx.known_ints(input);
}

// ---------------------------------------------------------------- Reshape

// A symbolic product: the fixed factor and the symbols' names; `unknown`
// when a factor is neither.
struct SymbolicCount {
  int64_t fixed = 1;
  std::multiset<std::string> symbols;
  bool unknown = false;

  void Multiply(const Dim& d) {
    if (d.is_fixed()) {
      if (__builtin_mul_overflow(fixed, d.value, &fixed)) unknown = true;
    } else if (!d.param.empty()) {
      symbols.insert(d.param);
    } else {
      unknown = true;
    }
  }
};

// The dim a -1 stands for: the input's element count divided by the other
// output dims', when the symbols cancel out (all of them, or all but one
// that the fixed factors leave alone).
Dim InferredDim(const StaticShape& in, const StaticShape& out, size_t skip) {
  SymbolicCount total, known;
  for (const Dim& d : in) total.Multiply(d);
  for (size_t i = 0; i < out.size(); ++i) {
    if (i != skip) known.Multiply(out[i]);
  }
  if (total.unknown || known.unknown) return Dim{};
  for (const std::string& s : known.symbols) {
    auto it = total.symbols.find(s);
    if (it == total.symbols.end()) return Dim{};
    total.symbols.erase(it);
  }
  if (known.fixed == 0 || total.fixed % known.fixed != 0) return Dim{};
  const int64_t factor = total.fixed / known.fixed;
  if (total.symbols.empty()) return FixedDim(factor);
  if (total.symbols.size() == 1 && factor == 1) return Dim{-1, *total.symbols.begin()};
  return Dim{};
}

Status ReshapeRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const ReshapeAttrs& a = ctx.node().attrs<ReshapeAttrs>();
  std::optional<std::vector<SymInt>> shape;
  if (ctx.opset() < 5) {
    if (a.shape) {
      shape.emplace();
      for (int64_t d : *a.shape) shape->push_back(SymInt::Known(d));
    }
  } else {
    shape = ShapeOperand(ctx, 1);
  }
  if (!shape) return Status::Ok();
  const std::optional<StaticShape>& in = ctx.shape(0);
  StaticShape out(shape->size());
  int inferred = -1;
  for (size_t i = 0; i < shape->size(); ++i) {
    const SymInt& e = (*shape)[i];
    if (!e.known()) {
      out[i] = Dim{-1, e.param};
    } else if (*e.value == 0 && !a.allowzero) {
      if (in && i >= in->size()) return ctx.Error("0 copies a dim the input does not have");
      out[i] = in ? (*in)[i] : Dim{};
    } else if (*e.value == -1) {
      if (inferred >= 0) return ctx.Error("more than one -1 in the shape");
      inferred = static_cast<int>(i);
    } else if (*e.value < -1) {
      return ctx.Error("negative dim " + std::to_string(*e.value) + " in the shape");
    } else {
      out[i] = FixedDim(*e.value);
    }
  }
  if (inferred >= 0 && in) out[inferred] = InferredDim(*in, out, static_cast<size_t>(inferred));
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

Status FlattenRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 0) {
    ctx.SetShape(0, UnknownDims(2));
    return Status::Ok();
  }
  int64_t axis = ctx.node().attrs<FlattenAttrs>().axis;
  if (axis < -rank || axis > rank) {
    return ctx.Error("axis " + std::to_string(axis) + " is out of range for rank " +
                     std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  const StaticShape& x = *ctx.shape(0);
  ctx.SetShape(0, {DimProduct(x, 0, static_cast<size_t>(axis)),
                   DimProduct(x, static_cast<size_t>(axis), x.size())});
  return Status::Ok();
}

// ---------------------------------------------------------------- Squeeze

Status SqueezeRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ASSIGN_OR_RETURN(const std::optional<std::vector<int64_t>> axes, Axes(ctx, 13, 1));
  const SymInts* ints = ctx.ints(0);
  if (ints && ints->elements.size() == 1 && !ints->scalar) {
    ctx.SetInts(0, SymInts{ints->elements, true});
  }
  const int rank = ctx.rank(0);
  if (rank < 0 || !axes) return Status::Ok();
  const StaticShape& x = *ctx.shape(0);
  std::vector<bool> squeezed(static_cast<size_t>(rank), false);
  if (axes->empty()) {
    for (int d = 0; d < rank; ++d) {
      if (!x[d].is_fixed()) return Status::Ok();  // may or may not be 1
      squeezed[d] = x[d].value == 1;
    }
  }
  for (int64_t axis : *axes) {
    StatusOr<int64_t> a = NormalizeAxis(axis, rank, "axis");
    if (!a.ok()) return ctx.Error(a.status().message());
    if (x[*a].is_fixed() && x[*a].value != 1) {
      return ctx.Error("cannot squeeze axis " + std::to_string(*a) + " of size " +
                       std::to_string(x[*a].value));
    }
    squeezed[*a] = true;
  }
  StaticShape out;
  for (int d = 0; d < rank; ++d) {
    if (!squeezed[d]) out.push_back(x[d]);
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

Status UnsqueezeRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ASSIGN_OR_RETURN(const std::optional<std::vector<int64_t>> axes, Axes(ctx, 13, 1));
  if (!axes) {
    if (const std::optional<std::vector<SymInt>> n = ShapeOperand(ctx, 1); n && ctx.rank(0) >= 0) {
      ctx.SetShape(0, UnknownDims(static_cast<size_t>(ctx.rank(0)) + n->size()));
    }
    return Status::Ok();
  }
  const SymInts* ints = ctx.ints(0);
  if (ints && ints->scalar && axes->size() == 1) ctx.SetInts(0, SymInts{ints->elements, false});
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  const int64_t out_rank = rank + static_cast<int64_t>(axes->size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t axis : *axes) {
    StatusOr<int64_t> a = NormalizeAxis(axis, out_rank, "axis");
    if (!a.ok()) return ctx.Error(a.status().message());
    if (inserted[*a]) return ctx.Error("axis " + std::to_string(axis) + " is repeated");
    inserted[*a] = true;
  }
  const StaticShape& x = *ctx.shape(0);
  StaticShape out;
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) out.push_back(inserted[d] ? FixedDim(1) : x[next++]);
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// ---------------------------------------------------------------- Transpose

Status TransposeRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const std::optional<std::vector<int64_t>>& perm = ctx.node().attrs<TransposeAttrs>().perm;
  const int rank = ctx.rank(0) >= 0 ? ctx.rank(0) : (perm ? static_cast<int>(perm->size()) : -1);
  if (rank < 0) return Status::Ok();
  std::vector<int64_t> p = perm.value_or(std::vector<int64_t>{});
  if (!perm) {
    for (int i = rank - 1; i >= 0; --i) p.push_back(i);
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  bool valid = static_cast<int>(p.size()) == rank;
  for (int64_t& axis : p) {
    if (axis < 0) axis += rank;
    valid = valid && axis >= 0 && axis < rank && !seen[axis];
    if (valid) seen[axis] = true;
  }
  if (!valid) return ctx.Error("perm is not a permutation of the " + std::to_string(rank) + " axes");
  const StaticShape x = ctx.shape(0).value_or(UnknownDims(static_cast<size_t>(rank)));
  StaticShape out;
  for (int64_t axis : p) out.push_back(x[axis]);
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// ---------------------------------------------------------------- Concat, Split

// A dim two inputs must share: the fixed one (they must agree), else the
// symbol, else unknown.
StatusOr<Dim> MergeDims(const Dim& a, const Dim& b) {
  if (a.is_fixed() && b.is_fixed() && a.value != b.value) {
    return InvalidModel("dims " + std::to_string(a.value) + " and " + std::to_string(b.value) +
                        " differ");
  }
  if (a.is_fixed()) return a;
  if (b.is_fixed()) return b;
  return a.param.empty() ? b : a;
}

Status ConcatRule(InferContext& ctx) {
  DataType type = DataType::kUndefined;
  for (int i = 0; i < ctx.num_inputs() && type == DataType::kUndefined; ++i) type = ctx.dtype(i);
  ctx.SetType(0, type);
  ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 1));
  // Data propagation: 1-D integer pieces of a shape, joined.
  if (IsIndexType(type)) {
    SymInts joined;
    bool all = ctx.num_inputs() > 0;
    for (int i = 0; i < ctx.num_inputs() && all; ++i) {
      const SymInts* v = ctx.ints(i);
      all = v != nullptr && !v->scalar;
      if (all) joined.elements.insert(joined.elements.end(), v->elements.begin(), v->elements.end());
    }
    if (all && joined.elements.size() <= static_cast<size_t>(kMaxPropagatedInts)) {
      ctx.SetInts(0, std::move(joined));
    }
  }
  int rank = -1;
  for (int i = 0; i < ctx.num_inputs() && rank < 0; ++i) rank = ctx.rank(i);
  if (rank < 0) return Status::Ok();
  if (rank == 0) return ctx.Error("cannot concatenate scalars");
  StatusOr<int64_t> axis = NormalizeAxis(attr_axis, rank, "axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  StaticShape out = UnknownDims(static_cast<size_t>(rank));
  int64_t total = 0;
  bool total_known = true;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.shape(i)) {
      total_known = false;
      continue;
    }
    const StaticShape& s = *ctx.shape(i);
    if (static_cast<int>(s.size()) != rank) {
      return ctx.Error("input " + std::to_string(i) + " has rank " + std::to_string(s.size()) +
                       ", input 0 rank " + std::to_string(rank));
    }
    for (int d = 0; d < rank; ++d) {
      if (d == *axis) continue;
      StatusOr<Dim> merged = i == 0 ? StatusOr<Dim>(s[d]) : MergeDims(out[d], s[d]);
      if (!merged.ok()) return ctx.Error("input " + std::to_string(i) + " off the axis: " +
                                         merged.status().message());
      out[d] = *merged;
    }
    const bool counted =
        s[*axis].is_fixed() && !__builtin_add_overflow(total, s[*axis].value, &total);
    total_known = total_known && counted;
  }
  if (total_known) out[*axis] = FixedDim(total);
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// Split: sizes from the `split` attribute (before 13) or input, else equal
// parts (from opset 18 the last may be smaller, `num_outputs` parts).
Status SplitRule(InferContext& ctx) {
  for (int i = 0; i < ctx.num_outputs(); ++i) ctx.SetType(i, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  const Node& node = ctx.node();
  ASSIGN_OR_RETURN(const int64_t attr_axis, node.GetInt("axis", 0));
  StatusOr<int64_t> axis = NormalizeAxis(attr_axis, rank, "axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  const StaticShape& x = *ctx.shape(0);
  const int64_t n = ctx.num_outputs();
  if (n <= 0) return ctx.Error("has no outputs");
  const bool split_is_input = node.opset() >= 13 || (node.opset() < 2 && ctx.has_input(1));
  std::optional<std::vector<int64_t>> sizes;
  if (split_is_input && ctx.has_input(1)) {
    sizes = ctx.known_ints(1);
  } else if (!split_is_input) {
    ASSIGN_OR_RETURN(sizes, node.GetInts("split", {}));
  } else {
    sizes = std::vector<int64_t>{};
  }
  if (sizes && sizes->empty()) {
    const Dim& dim = x[*axis];
    if (!dim.is_fixed()) {
      sizes.reset();
    } else {
      if (node.opset() < 18 && dim.value % n != 0) {
        return ctx.Error("axis of size " + std::to_string(dim.value) + " does not split into " +
                         std::to_string(n) + " equal parts");
      }
      const int64_t part = (dim.value + n - 1) / n;
      for (int64_t i = 0; i < n; ++i) sizes->push_back(std::clamp<int64_t>(dim.value - i * part, 0, part));
    }
  }
  if (sizes && static_cast<int64_t>(sizes->size()) != n) {
    return ctx.Error(std::to_string(sizes->size()) + " split sizes for " + std::to_string(n) +
                     " outputs");
  }
  for (int i = 0; i < n; ++i) {
    StaticShape out = x;
    out[*axis] = sizes ? FixedDim((*sizes)[i]) : Dim{};
    ctx.SetShape(i, std::move(out));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- Slice, Gather

// The length of one sliced axis (the kernel's clamping rules).
int64_t SliceCount(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (dim == 0) return 0;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start - 1) / step + 1 : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  const uint64_t span = start > end ? static_cast<uint64_t>(start - end) : 0;
  const uint64_t stride = 0 - static_cast<uint64_t>(step);
  return span ? static_cast<int64_t>((span - 1) / stride + 1) : 0;
}

Status SliceRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const Node& node = ctx.node();
  std::optional<std::vector<int64_t>> starts, ends, axes, steps;
  if (node.opset() < 10) {
    ASSIGN_OR_RETURN(starts, node.GetInts("starts", {}));
    ASSIGN_OR_RETURN(ends, node.GetInts("ends", {}));
    ASSIGN_OR_RETURN(axes, node.GetInts("axes", {}));
    steps = std::vector<int64_t>{};
  } else {
    starts = ctx.known_ints(1);
    ends = ctx.known_ints(2);
    axes = ctx.has_input(3) ? ctx.known_ints(3) : std::vector<int64_t>{};
    steps = ctx.has_input(4) ? ctx.known_ints(4) : std::vector<int64_t>{};
  }
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  const StaticShape& x = *ctx.shape(0);
  StaticShape out = x;
  if (!starts || !ends || !axes || !steps) {
    if (!axes || !axes->empty() || !starts) {
      ctx.SetShape(0, UnknownDims(x.size()));
    } else {  // the first len(starts) axes are sliced, by unknown amounts
      for (size_t j = 0; j < starts->size() && j < out.size(); ++j) out[j] = Dim{};
      ctx.SetShape(0, std::move(out));
    }
    return Status::Ok();
  }
  if (ends->size() != starts->size() || (!axes->empty() && axes->size() != starts->size()) ||
      (!steps->empty() && steps->size() != starts->size())) {
    return ctx.Error("starts, ends, axes and steps differ in length");
  }
  if (axes->empty() && starts->size() > x.size()) return ctx.Error("more starts than axes");
  std::vector<bool> seen(x.size(), false);
  for (size_t j = 0; j < starts->size(); ++j) {
    int64_t axis = static_cast<int64_t>(j);
    if (!axes->empty()) {
      StatusOr<int64_t> a = NormalizeAxis((*axes)[j], rank, "axis");
      if (!a.ok()) return ctx.Error(a.status().message());
      axis = *a;
    }
    if (seen[axis]) return ctx.Error("axis " + std::to_string(axis) + " is repeated");
    seen[axis] = true;
    const int64_t step = steps->empty() ? 1 : (*steps)[j];
    if (step == 0) return ctx.Error("a step is 0");
    out[axis] = x[axis].is_fixed()
                    ? FixedDim(SliceCount(x[axis].value, (*starts)[j], (*ends)[j], step))
                    : Dim{};
  }
  // Data propagation: a slice of a 1-D shape value.
  const SymInts* v = ctx.ints(0);
  if (v && !v->scalar && rank == 1 && starts->size() == 1 && !v->elements.empty()) {
    const int64_t dim = static_cast<int64_t>(v->elements.size());
    const int64_t step = steps->empty() ? 1 : (*steps)[0];
    int64_t start = (*starts)[0];
    if (start < 0) start += dim;
    start = step > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, dim - 1);
    const int64_t count = SliceCount(dim, (*starts)[0], (*ends)[0], step);
    SymInts sliced;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t i = start + k * step;
      if (i < 0 || i >= dim) return ctx.Error("slice out of range");  // cannot happen
      sliced.elements.push_back(v->elements[i]);
    }
    ctx.SetInts(0, std::move(sliced));
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

Status GatherRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
  const int rank = ctx.rank(0);
  if (rank == 0) return ctx.Error("data is a scalar");
  // Data propagation: elements of a 1-D shape value picked by constant indices.
  const SymInts* data = ctx.ints(0);
  const Tensor* indices = ctx.constant(1);
  if (data && !data->scalar && indices && indices->shape().size() <= 1 &&
      IsIndexType(indices->dtype())) {
    SymInts picked;
    picked.scalar = indices->shape().empty();
    const int64_t n = static_cast<int64_t>(data->elements.size());
    bool ok = true;
    for (int64_t k = 0; k < indices->num_elements() && ok; ++k) {
      int64_t i = static_cast<int64_t>(indices->GetAsDouble(k));
      if (i < 0) i += n;
      ok = i >= 0 && i < n;
      if (ok) picked.elements.push_back(data->elements[i]);
    }
    if (ok) ctx.SetInts(0, std::move(picked));
  }
  if (rank < 0 || !ctx.shape(1)) return Status::Ok();
  StatusOr<int64_t> axis = NormalizeAxis(attr_axis, rank, "axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  const StaticShape& x = *ctx.shape(0);
  StaticShape out(x.begin(), x.begin() + *axis);
  out.insert(out.end(), ctx.shape(1)->begin(), ctx.shape(1)->end());
  out.insert(out.end(), x.begin() + *axis + 1, x.end());
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// ---------------------------------------------------------------- Tile, Pad, Expand

Status TileRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 0 || ctx.opset() < 6) return Status::Ok();
  const std::optional<std::vector<SymInt>> repeats = ShapeOperand(ctx, 1);
  if (!repeats) {
    ctx.SetShape(0, UnknownDims(static_cast<size_t>(rank)));
    return Status::Ok();
  }
  if (static_cast<int>(repeats->size()) != rank) {
    return ctx.Error(std::to_string(repeats->size()) + " repeats for a rank-" +
                     std::to_string(rank) + " input");
  }
  const StaticShape& x = *ctx.shape(0);
  StaticShape out;
  for (int d = 0; d < rank; ++d) {
    const SymInt& r = (*repeats)[d];
    if (r.known() && *r.value < 0) return ctx.Error("a repeat is negative");
    int64_t product = 0;
    if (r.known() && *r.value == 1) out.push_back(x[d]);
    else if (r.known() && x[d].is_fixed() && !__builtin_mul_overflow(x[d].value, *r.value, &product))
      out.push_back(FixedDim(product));
    else out.push_back(Dim{});
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

Status PadRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  const Node& node = ctx.node();
  std::optional<std::vector<int64_t>> pads, axes = std::vector<int64_t>{};
  if (node.opset() < 11) {
    ASSIGN_OR_RETURN(pads, node.GetInts(node.opset() < 2 ? "paddings" : "pads", {}));
  } else {
    pads = ctx.known_ints(1);
    if (ctx.has_input(3)) axes = ctx.known_ints(3);
  }
  const StaticShape& x = *ctx.shape(0);
  if (!pads || !axes) {
    ctx.SetShape(0, UnknownDims(x.size()));
    return Status::Ok();
  }
  const int64_t n = axes->empty() ? rank : static_cast<int64_t>(axes->size());
  if (static_cast<int64_t>(pads->size()) != 2 * n) {
    return ctx.Error(std::to_string(pads->size()) + " pads for " + std::to_string(n) + " axes");
  }
  StaticShape out = x;
  for (int64_t j = 0; j < n; ++j) {
    int64_t axis = j;
    if (!axes->empty()) {
      StatusOr<int64_t> a = NormalizeAxis((*axes)[j], rank, "axis");
      if (!a.ok()) return ctx.Error(a.status().message());
      axis = *a;
    }
    const int64_t b = (*pads)[j], e = (*pads)[j + n];
    if (b == 0 && e == 0) continue;
    if (!x[axis].is_fixed()) {
      out[axis] = Dim{};
      continue;
    }
    const __int128 size = __int128{x[axis].value} + b + e;
    if (size < 0) return ctx.Error("pads do not fit axis " + std::to_string(axis));
    out[axis] = CheckedDim(size);
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

Status ExpandRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const std::optional<std::vector<SymInt>> shape = ShapeOperand(ctx, 1);
  if (!shape || ctx.rank(0) < 0) return Status::Ok();
  StaticShape target;
  for (const SymInt& e : *shape) target.push_back(e.ToDim());
  StatusOr<StaticShape> out = BroadcastShapes(*ctx.shape(0), target);
  if (!out.ok()) return ctx.Error(out.status().message());
  ctx.SetShape(0, std::move(*out));
  return Status::Ok();
}

// ---------------------------------------------------------------- Shape, constants

SymInts IntsOfTensor(const Tensor& t) {
  SymInts v;
  v.scalar = t.shape().empty();
  for (int64_t k = 0; k < t.num_elements(); ++k) {
    v.elements.push_back(SymInt::Known(static_cast<int64_t>(t.GetAsDouble(k))));
  }
  return v;
}

// Shape (opset 15: start/end, clamped): int64 [end - start]; its elements
// are the input's dims, symbols included.
Status ShapeRule(InferContext& ctx) {
  ctx.SetType(0, DataType::kInt64);
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  ASSIGN_OR_RETURN(int64_t start, ctx.node().GetInt("start", 0));
  ASSIGN_OR_RETURN(int64_t end, ctx.node().GetInt("end", rank));
  if (ctx.opset() < 15) start = 0, end = rank;
  auto clamp = [rank](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
  start = clamp(start);
  end = std::max(start, clamp(end));
  ctx.SetShape(0, {FixedDim(end - start)});
  SymInts dims;
  for (int64_t d = start; d < end; ++d) dims.elements.push_back(SymInt::FromDim((*ctx.shape(0))[d]));
  ctx.SetInts(0, std::move(dims));
  return Status::Ok();
}

// Constant: its data (the importer attached it to the output).
Status ConstantRule(InferContext& ctx) {
  const Value* out = ctx.node().output(0);
  if (out == nullptr || out->constant_data() == nullptr) return ctx.Error("has no value");
  const Tensor& t = *out->constant_data();
  StaticShape shape;
  for (int64_t d : t.shape()) shape.push_back(FixedDim(d));
  ctx.SetOutput(0, t.dtype(), std::move(shape));
  if (IsIndexType(t.dtype()) && t.shape().size() <= 1 && t.num_elements() <= kMaxPropagatedInts) {
    ctx.SetInts(0, IntsOfTensor(t));
  }
  return Status::Ok();
}

// ConstantOfShape: `value`'s type (float when absent), the shape its input
// holds.
Status ConstantOfShapeRule(InferContext& ctx) {
  const Attribute* value = ctx.node().FindAttribute("value");
  DataType type = DataType::kFloat;
  if (value != nullptr) {
    if (value->type != AttrType::kTensor || value->t == nullptr || value->t->num_elements() != 1) {
      return ctx.Error("value must be a one-element tensor");
    }
    type = value->t->dtype();
  }
  ctx.SetType(0, type);
  const std::optional<std::vector<SymInt>> shape = ShapeOperand(ctx, 0);
  if (!shape) return Status::Ok();
  StaticShape out;
  for (const SymInt& e : *shape) {
    if (e.known() && *e.value < 0) return ctx.Error("the shape has a negative dim");
    out.push_back(e.ToDim());
  }
  if (IsIndexType(type) && out.size() == 1 && out[0].is_fixed() &&
      out[0].value <= kMaxPropagatedInts) {
    const int64_t fill = static_cast<int64_t>(value->t->GetAsDouble(0));
    ctx.SetInts(0, SymInts{std::vector<SymInt>(static_cast<size_t>(out[0].value), SymInt::Known(fill)),
                           false});
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

}  // namespace

SymInts ConstantInts(const Tensor& tensor) { return IntsOfTensor(tensor); }

std::vector<OpSchemaRow> ShapeRules() {
  return {
      {OpKind::kReshape, ReshapeRule},
      {OpKind::kFlatten, FlattenRule},
      {OpKind::kSqueeze, SqueezeRule},
      {OpKind::kUnsqueeze, UnsqueezeRule},
      {OpKind::kTranspose, TransposeRule},
      {OpKind::kConcat, ConcatRule},
      {OpKind::kSplit, SplitRule},
      {OpKind::kSlice, SliceRule},
      {OpKind::kGather, GatherRule},
      {OpKind::kTile, TileRule},
      {OpKind::kPad, PadRule},
      {OpKind::kExpand, ExpandRule},
      {OpKind::kShape, ShapeRule},
      {OpKind::kConstant, ConstantRule},
      {OpKind::kConstantOfShape, ConstantOfShapeRule},
  };
}

}  // namespace bnfold::ir
