// Types and shapes of the recurrent layers (the BNFOLD_OPS_* family in
// op_kind.h that names this file). One row per op whose kernel is
// registered; a kind without a row keeps the types the model declares.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// Y [T, D, N, H] (layout=1: [N, T, D, H]); Y_h, Y_c [D, N, H] (layout=1:
// [N, D, H]). H from hidden_size, else from R [D, G*H, H].
Status RecurrentRule(InferContext& ctx) {
  const DataType dtype = FirstKnownType(ctx, {0, 1, 2});
  for (int i = 0; i < ctx.num_outputs(); ++i) ctx.SetType(i, dtype);
  ASSIGN_OR_RETURN(const int64_t layout, ctx.opset() >= 14 ? ctx.node().GetInt("layout", 0)
                                                           : StatusOr<int64_t>(0));
  ASSIGN_OR_RETURN(const std::string direction, ctx.node().GetString("direction", "forward"));
  ASSIGN_OR_RETURN(const int64_t hidden, ctx.node().GetInt("hidden_size", 0));
  const Dim d = FixedDim(direction == "bidirectional" ? 2 : 1);
  Dim h = hidden > 0 ? FixedDim(hidden) : Dim{};
  if (hidden <= 0 && ctx.rank(2) == 3) h = (*ctx.shape(2))[2];
  if (ctx.rank(0) >= 0 && ctx.rank(0) != 3) return ctx.Error("X must have rank 3");
  const StaticShape x = ctx.shape(0) ? *ctx.shape(0) : UnknownDims(3);
  const Dim& seq = layout == 1 ? x[1] : x[0];
  const Dim& batch = layout == 1 ? x[0] : x[1];
  ctx.SetShape(0, layout == 1 ? StaticShape{batch, seq, d, h} : StaticShape{seq, d, batch, h});
  const StaticShape state = layout == 1 ? StaticShape{batch, d, h} : StaticShape{d, batch, h};
  for (int i = 1; i < ctx.num_outputs(); ++i) ctx.SetShape(i, state);
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> RecurrentRules() {
  return {
      {OpKind::kLSTM, RecurrentRule},
      {OpKind::kGRU, RecurrentRule},
      {OpKind::kRNN, RecurrentRule},
  };
}

}  // namespace bnfold::ir
