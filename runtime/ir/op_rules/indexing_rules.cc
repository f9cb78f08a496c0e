// Types and shapes of the arg/top-k, gather/scatter and index ops (the
// BNFOLD_OPS_* family in op_kind.h that names this file; the further
// reductions share ReduceRule in nn_rules.cc). One row per op whose kernel
// is registered; a kind without a row keeps the types the model declares.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// ArgMax / ArgMin: int64, the input's shape with `axis` dropped (kept as 1
// with keepdims).
Status ArgRule(InferContext& ctx) {
  ctx.SetType(0, DataType::kInt64);
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
  ASSIGN_OR_RETURN(const int64_t keepdims, ctx.node().GetInt("keepdims", 1));
  StatusOr<int64_t> axis = NormalizeAxis(attr_axis, rank, "axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  StaticShape out;
  for (int d = 0; d < rank; ++d) {
    if (d != *axis) out.push_back((*ctx.shape(0))[d]);
    else if (keepdims) out.push_back(FixedDim(1));
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// The data's type with the shape of input `shape_from` (GatherElements: the
// indices; the scatters: the data).
template <int kShapeFrom>
Status DataTypeShapeOf(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(kShapeFrom));
  return Status::Ok();
}

// GatherND: data[:b] + indices[b:-1] + data[b + k:], k = indices' last dim.
Status GatherNdRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int r = ctx.rank(0), q = ctx.rank(1);
  if (r < 0 || q < 1) return Status::Ok();
  int64_t b = 0;
  if (ctx.opset() >= 12) {
    ASSIGN_OR_RETURN(b, ctx.node().GetInt("batch_dims", 0));
  }
  const StaticShape& data = *ctx.shape(0);
  const StaticShape& indices = *ctx.shape(1);
  if (!indices.back().is_fixed()) return Status::Ok();
  const int64_t k = indices.back().value;
  if (b < 0 || b >= q || b + k > r) return ctx.Error("index tuples do not fit the data's rank");
  StaticShape out(data.begin(), data.begin() + b);
  out.insert(out.end(), indices.begin() + b, indices.end() - 1);
  out.insert(out.end(), data.begin() + b + k, data.end());
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// TopK: values (the input's type) and int64 indices, the input's shape with
// `axis` of size k when k is known.
Status TopKRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ctx.SetType(1, DataType::kInt64);
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", -1));
  StatusOr<int64_t> axis = NormalizeAxis(attr_axis, rank, "axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  StaticShape out = *ctx.shape(0);
  out[*axis] = Dim{-1, ""};
  if (ctx.opset() < 10) {
    ASSIGN_OR_RETURN(const int64_t k, ctx.node().GetInt("k", -1));
    if (k >= 0) out[*axis] = FixedDim(k);
  } else if (const std::optional<std::vector<int64_t>> k = ctx.known_ints(1); k && k->size() == 1) {
    out[*axis] = FixedDim((*k)[0]);
  }
  ctx.SetShape(0, out);
  ctx.SetShape(1, out);
  return Status::Ok();
}

// Output 0 of Compress and Unique: without an `axis` attribute a 1-D
// tensor of unknown length, with one the input's shape with that axis' size
// unknown (it depends on values).
Status ValueDependentAxisShape(InferContext& ctx) {
  if (ctx.node().FindAttribute("axis") == nullptr) {
    ctx.SetShape(0, UnknownDims(1));
    return Status::Ok();
  }
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
  StatusOr<int64_t> axis = NormalizeAxis(attr_axis, rank, "axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  StaticShape out = *ctx.shape(0);
  out[*axis] = Dim{-1, ""};
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// Compress: the input's type and a value-dependent shape.
Status CompressRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  return ValueDependentAxisShape(ctx);
}

// NonZero: int64 [rank, count].
Status NonZeroRule(InferContext& ctx) {
  ctx.SetType(0, DataType::kInt64);
  const int rank = ctx.rank(0);
  if (rank >= 0) ctx.SetShape(0, StaticShape{FixedDim(rank), Dim{-1, ""}});
  return Status::Ok();
}

// Unique: Y of the input's type, then int64 indices, inverse indices and
// counts; the sizes depend on values.
Status UniqueRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  for (int i = 1; i < ctx.num_outputs(); ++i) {
    if (ctx.has_output(i)) ctx.SetOutput(i, DataType::kInt64, UnknownDims(1));
  }
  return ValueDependentAxisShape(ctx);
}

}  // namespace

std::vector<OpSchemaRow> IndexingRules() {
  return {
      {OpKind::kArgMax, ArgRule},
      {OpKind::kArgMin, ArgRule},
      {OpKind::kGatherElements, DataTypeShapeOf<1>},
      {OpKind::kScatterElements, DataTypeShapeOf<0>},
      {OpKind::kScatter, DataTypeShapeOf<0>},
      {OpKind::kScatterND, DataTypeShapeOf<0>},
      {OpKind::kGatherND, GatherNdRule},
      {OpKind::kReverseSequence, DataTypeShapeOf<0>},
      {OpKind::kTopK, TopKRule},
      {OpKind::kCompress, CompressRule},
      {OpKind::kNonZero, NonZeroRule},
      {OpKind::kUnique, UniqueRule},
  };
}

}  // namespace bnfold::ir
