// Types and shapes of the losses, windows and spectral ops (the BNFOLD_OPS_*
// family in op_kind.h that names this file). One row per op whose kernel is
// registered; a kind without a row keeps the types the model declares.
#include <optional>

#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss: input [N, C, d...]
// -> loss [N, d...] with reduction "none", a scalar otherwise;
// SoftmaxCrossEntropyLoss's optional log_prob has the input's shape.
Status LossRule(InferContext& ctx) {
  const DataType dtype = ctx.dtype(0);
  ctx.SetType(0, dtype);
  if (ctx.num_outputs() > 1 && ctx.has_output(1)) ctx.SetOutput(1, dtype, ctx.shape(0));
  ASSIGN_OR_RETURN(const std::string reduction, ctx.node().GetString("reduction", "mean"));
  if (reduction != "none") {
    ctx.SetShape(0, StaticShape{});
    return Status::Ok();
  }
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  if (rank < 2) return ctx.Error("input has rank " + std::to_string(rank) + ", expected >= 2");
  const StaticShape& x = *ctx.shape(0);
  StaticShape out = {x[0]};
  out.insert(out.end(), x.begin() + 2, x.end());
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// A scalar integer input's value, when known before the run.
std::optional<int64_t> KnownScalar(const InferContext& ctx, int i) {
  if (!ctx.has_input(i)) return std::nullopt;
  const std::optional<std::vector<int64_t>> v = ctx.known_ints(i);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

Dim DimOf(std::optional<int64_t> v) { return v && *v >= 0 ? FixedDim(*v) : Dim{-1, ""}; }

// output_datatype (float by default).
DataType OutputDatatype(const InferContext& ctx) {
  StatusOr<int64_t> code = ctx.node().GetInt("output_datatype", 1);
  return code.ok() ? static_cast<DataType>(*code) : DataType::kUndefined;
}

// The windows: [size] of output_datatype.
Status WindowRule(InferContext& ctx) {
  ctx.SetOutput(0, OutputDatatype(ctx), StaticShape{DimOf(KnownScalar(ctx, 0))});
  return Status::Ok();
}

// MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] of output_datatype.
Status MelWeightMatrixRule(InferContext& ctx) {
  const std::optional<int64_t> dft_length = KnownScalar(ctx, 1);
  ctx.SetOutput(0, OutputDatatype(ctx),
                StaticShape{DimOf(dft_length ? std::optional<int64_t>(*dft_length / 2 + 1)
                                             : std::nullopt),
                            DimOf(KnownScalar(ctx, 0))});
  return Status::Ok();
}

// DFT: the input's shape with the transformed axis' length set by
// dft_length (halved + 1 when onesided) and a last dim of 2.
Status DftRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 2) return Status::Ok();
  std::optional<int64_t> axis = ctx.opset() >= 20 ? std::optional<int64_t>(-2) : std::nullopt;
  if (ctx.opset() >= 20) {
    if (ctx.has_input(2)) axis = KnownScalar(ctx, 2);
  } else {
    ASSIGN_OR_RETURN(axis, ctx.node().GetInt("axis", 1));
  }
  StaticShape out = *ctx.shape(0);
  out.back() = FixedDim(2);
  if (!axis) {
    for (int d = 0; d + 1 < rank; ++d) out[d] = Dim{-1, ""};
    ctx.SetShape(0, std::move(out));
    return Status::Ok();
  }
  StatusOr<int64_t> a = NormalizeAxis(*axis, rank, "axis");
  if (!a.ok()) return ctx.Error(a.status().message());
  std::optional<int64_t> n = ctx.has_input(1) ? KnownScalar(ctx, 1) : std::nullopt;
  if (!ctx.has_input(1) && out[*a].is_fixed()) n = out[*a].value;
  ASSIGN_OR_RETURN(const int64_t onesided, ctx.node().GetInt("onesided", 0));
  out[*a] = DimOf(n && onesided ? std::optional<int64_t>(*n / 2 + 1) : n);
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// STFT: [batch, frames, bins, 2].
Status StftRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  if (ctx.rank(0) != 3) return Status::Ok();
  const StaticShape& x = *ctx.shape(0);
  std::optional<int64_t> length = KnownScalar(ctx, 3);
  if (!length && ctx.has_input(2) && ctx.shape(2) && ctx.shape(2)->size() == 1 &&
      (*ctx.shape(2))[0].is_fixed()) {
    length = (*ctx.shape(2))[0].value;
  }
  const std::optional<int64_t> step = KnownScalar(ctx, 1);
  ASSIGN_OR_RETURN(const int64_t onesided, ctx.node().GetInt("onesided", 1));
  std::optional<int64_t> frames, bins;
  if (length && step && *step > 0 && x[1].is_fixed() && x[1].value >= *length) {
    frames = (x[1].value - *length) / *step + 1;
  }
  if (length) bins = onesided ? *length / 2 + 1 : *length;
  ctx.SetShape(0, StaticShape{x[0], DimOf(frames), DimOf(bins), FixedDim(2)});
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> LossSignalRules() {
  return {
      {OpKind::kNegativeLogLikelihoodLoss, LossRule},
      {OpKind::kSoftmaxCrossEntropyLoss, LossRule},
      {OpKind::kHannWindow, WindowRule},
      {OpKind::kHammingWindow, WindowRule},
      {OpKind::kBlackmanWindow, WindowRule},
      {OpKind::kMelWeightMatrix, MelWeightMatrixRule},
      {OpKind::kDFT, DftRule},
      {OpKind::kSTFT, StftRule},
  };
}

}  // namespace bnfold::ir
