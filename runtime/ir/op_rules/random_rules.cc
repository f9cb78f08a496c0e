// Types and shapes of the random generators (the BNFOLD_OPS_RANDOM family in
// op_kind.h): `dtype` (default: float, the input's for *Like and Bernoulli,
// int32 for Multinomial); the `shape` attribute, the input's shape, or
// [batch, sample_size] for Multinomial.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

Status RandomRule(InferContext& ctx) {
  const OpKind kind = ctx.node().kind();
  const bool from_attribute = kind == OpKind::kRandomNormal || kind == OpKind::kRandomUniform;
  const DataType fallback = kind == OpKind::kMultinomial ? DataType::kInt32
                            : from_attribute            ? DataType::kFloat
                                                        : ctx.dtype(0);
  ASSIGN_OR_RETURN(int64_t dtype, ctx.node().GetInt("dtype", static_cast<int64_t>(fallback)));
  ctx.SetType(0, static_cast<DataType>(dtype));
  if (from_attribute) {
    ASSIGN_OR_RETURN(std::vector<int64_t> dims, ctx.node().GetInts("shape", {}));
    StaticShape shape;
    for (int64_t d : dims) shape.push_back(CheckedDim(d));
    ctx.SetShape(0, std::move(shape));
  } else if (kind == OpKind::kMultinomial) {
    ASSIGN_OR_RETURN(int64_t sample_size, ctx.node().GetInt("sample_size", 1));
    const std::optional<StaticShape>& x = ctx.shape(0);
    ctx.SetShape(0, {x && x->size() == 2 ? (*x)[0] : Dim{}, CheckedDim(sample_size)});
  } else if (ctx.shape(0)) {
    ctx.SetShape(0, *ctx.shape(0));
  }
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> RandomRules() {
  return {
      {OpKind::kRandomNormal, RandomRule},
      {OpKind::kRandomUniform, RandomRule},
      {OpKind::kRandomNormalLike, RandomRule},
      {OpKind::kRandomUniformLike, RandomRule},
      {OpKind::kBernoulli, RandomRule},
      {OpKind::kMultinomial, RandomRule},
  };
}

}  // namespace bnfold::ir
