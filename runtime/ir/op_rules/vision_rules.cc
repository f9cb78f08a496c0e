// Types and shapes of the normalization, pooling and vision ops (the BNFOLD_OPS_* family in
// op_kind.h that names this file). One row per op whose kernel is
// registered; a kind without a row keeps the types the model declares.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

Status SameAsInput(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  return Status::Ok();
}

// Y like X; Mean and InvStdDev of stash_type with X's dims from axis on
// set to 1.
Status LayerNormRule(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  ASSIGN_OR_RETURN(const int64_t stash, ctx.node().GetInt("stash_type", 1));
  const DataType stash_type = static_cast<DataType>(stash);
  for (int i = 1; i < 3; ++i) ctx.SetType(i, stash_type);
  if (!ctx.shape(0)) return Status::Ok();
  StaticShape stats = *ctx.shape(0);
  ASSIGN_OR_RETURN(const int64_t raw_axis, ctx.node().GetInt("axis", -1));
  StatusOr<int64_t> axis = NormalizeAxis(raw_axis, static_cast<int64_t>(stats.size()), "axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  for (size_t d = static_cast<size_t>(*axis); d < stats.size(); ++d) stats[d] = FixedDim(1);
  for (int i = 1; i < 3; ++i) ctx.SetShape(i, stats);
  return Status::Ok();
}

// [N, C, O1..Or] from X [N, C, ...] and grid [N, O1..Or, r].
Status GridSampleRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  if (!ctx.shape(1)) return Status::Ok();
  const StaticShape& grid = *ctx.shape(1);
  if (grid.size() < 3) return ctx.Error("grid must have rank >= 3");
  const Dim channels = ctx.shape(0) && ctx.shape(0)->size() >= 2 ? (*ctx.shape(0))[1] : Dim{};
  StaticShape out = {grid[0], channels};
  out.insert(out.end(), grid.begin() + 1, grid.end() - 1);
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// [R, C, output_height, output_width].
Status RoiAlignRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ASSIGN_OR_RETURN(const int64_t h, ctx.node().GetInt("output_height", 1));
  ASSIGN_OR_RETURN(const int64_t w, ctx.node().GetInt("output_width", 1));
  const Dim rois = ctx.rank(1) == 2 ? (*ctx.shape(1))[0] : Dim{};
  const Dim channels = ctx.rank(0) == 4 ? (*ctx.shape(0))[1] : Dim{};
  ctx.SetShape(0, {rois, channels, CheckedDim(h), CheckedDim(w)});
  return Status::Ok();
}

// output_shape when its values are known, else (in - 1) * stride - pads +
// kernel per spatial axis.
Status MaxUnpoolRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  if (ctx.has_input(2)) {
    if (std::optional<std::vector<int64_t>> shape = ctx.known_ints(2)) {
      StaticShape out;
      for (int64_t d : *shape) out.push_back(CheckedDim(d));
      ctx.SetShape(0, std::move(out));
    } else if (ctx.rank(0) >= 0) {
      ctx.SetShape(0, UnknownDims(static_cast<size_t>(ctx.rank(0))));
    }
    return Status::Ok();
  }
  if (!ctx.shape(0)) return Status::Ok();
  const StaticShape& x = *ctx.shape(0);
  if (x.size() < 3) return ctx.Error("X must have rank >= 3");
  const size_t n = x.size() - 2;
  ASSIGN_OR_RETURN(const std::vector<int64_t> kernel, ctx.node().GetInts("kernel_shape", {}));
  ASSIGN_OR_RETURN(const std::vector<int64_t> strides,
                   ctx.node().GetInts("strides", std::vector<int64_t>(n, 1)));
  ASSIGN_OR_RETURN(const std::vector<int64_t> pads,
                   ctx.node().GetInts("pads", std::vector<int64_t>(2 * n, 0)));
  if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n) {
    return ctx.Error("kernel_shape, strides and pads do not fit the spatial dims");
  }
  StaticShape out = {x[0], x[1]};
  for (size_t d = 0; d < n; ++d) {
    const Dim& in = x[d + 2];
    out.push_back(in.is_fixed() ? CheckedDim((__int128{in.value} - 1) * strides[d] - pads[d] -
                                             pads[d + n] + kernel[d])
                                : Dim{});
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// [N, C, 1, ...] (global) or [N, C, ?, ...]: LpPool's window arithmetic is
// the kernel's.
Status LpPoolRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  if (!ctx.shape(0)) return Status::Ok();
  StaticShape out = *ctx.shape(0);
  if (out.size() < 3) return ctx.Error("X must have rank >= 3");
  const bool global = ctx.node().kind() == OpKind::kGlobalLpPool;
  for (size_t d = 2; d < out.size(); ++d) out[d] = global ? FixedDim(1) : Dim{};
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// [R, C, pooled_shape...].
Status MaxRoiPoolRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ASSIGN_OR_RETURN(const std::vector<int64_t> pooled, ctx.node().GetInts("pooled_shape", {}));
  if (pooled.size() != 2) return ctx.Error("pooled_shape must have 2 values");
  const Dim rois = ctx.rank(1) == 2 ? (*ctx.shape(1))[0] : Dim{};
  const Dim channels = ctx.rank(0) == 4 ? (*ctx.shape(0))[1] : Dim{};
  ctx.SetShape(0, {rois, channels, CheckedDim(pooled[0]), CheckedDim(pooled[1])});
  return Status::Ok();
}

// [N, C / prod(block_shape), image_shape...] when both are known.
Status Col2ImRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  std::optional<std::vector<int64_t>> image = ctx.known_ints(1), block = ctx.known_ints(2);
  if (!image || !block || !ctx.shape(0) || ctx.shape(0)->size() != 3) return Status::Ok();
  __int128 per = 1;
  for (int64_t b : *block) per *= b;
  const Dim& c = (*ctx.shape(0))[1];
  StaticShape out = {(*ctx.shape(0))[0], c.is_fixed() && per > 0 ? CheckedDim(c.value / per) : Dim{}};
  for (int64_t d : *image) out.push_back(CheckedDim(d));
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// X's dims with `axes` (all by default) set to `shape` when it is known.
Status CenterCropPadRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  std::optional<std::vector<int64_t>> shape = ctx.known_ints(1);
  if (!ctx.shape(0)) return Status::Ok();
  StaticShape out = *ctx.shape(0);
  const int64_t rank = static_cast<int64_t>(out.size());
  std::vector<int64_t> axes;
  if (ctx.node().FindAttribute("axes") != nullptr) {
    ASSIGN_OR_RETURN(axes, ctx.node().GetInts("axes", {}));
  } else {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    StatusOr<int64_t> axis = NormalizeAxis(axes[i], rank, "axes");
    if (!axis.ok()) return ctx.Error(axis.status().message());
    out[static_cast<size_t>(*axis)] = shape && i < shape->size() ? CheckedDim((*shape)[i]) : Dim{};
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// selected_indices: int64 [count, 3], the count known only from the
// boxes' and scores' values.
Status NonMaxSuppressionRule(InferContext& ctx) {
  ctx.SetOutput(0, DataType::kInt64, StaticShape{Dim{}, FixedDim(3)});
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> VisionRules() {
  return {
      {OpKind::kLayerNormalization, LayerNormRule},
      {OpKind::kMeanVarianceNormalization, SameAsInput},
      {OpKind::kGridSample, GridSampleRule},
      {OpKind::kRoiAlign, RoiAlignRule},
      {OpKind::kMaxUnpool, MaxUnpoolRule},
      {OpKind::kGroupNormalization, SameAsInput},
      {OpKind::kLpNormalization, SameAsInput},
      {OpKind::kLpPool, LpPoolRule},
      {OpKind::kGlobalLpPool, LpPoolRule},
      {OpKind::kMaxRoiPool, MaxRoiPoolRule},
      {OpKind::kCol2Im, Col2ImRule},
      {OpKind::kCenterCropPad, CenterCropPadRule},
      {OpKind::kNonMaxSuppression, NonMaxSuppressionRule},
  };
}

}  // namespace bnfold::ir
