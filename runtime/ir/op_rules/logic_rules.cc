// Types and shapes of the comparison, logic and bitwise ops (the
// BNFOLD_OPS_LOGIC family in op_kind.h): comparisons and And/Or/Xor give
// bool, the rest keep their input's type; binary ops broadcast (before
// opset 7 the output has A's shape), Where broadcasts all three inputs.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

bool ReturnsBool(OpKind kind) {
  switch (kind) {
    case OpKind::kEqual:
    case OpKind::kLess:
    case OpKind::kLessOrEqual:
    case OpKind::kGreater:
    case OpKind::kGreaterOrEqual:
    case OpKind::kAnd:
    case OpKind::kOr:
    case OpKind::kXor: return true;
    default: return false;
  }
}

Status BinaryLogicRule(InferContext& ctx) {
  const OpKind kind = ctx.node().kind();
  ctx.SetType(0, ReturnsBool(kind) ? DataType::kBool : FirstKnownType(ctx, {0, 1}));
  // Before opset 7 (Equal, Less, Greater, And, Or, Xor) B fits into A.
  if (ctx.opset() < 7) {
    if (ctx.shape(0)) ctx.SetShape(0, *ctx.shape(0));
    return Status::Ok();
  }
  return BroadcastInputsToOutput(ctx, 0, 2);
}

Status WhereRule(InferContext& ctx) {
  ctx.SetType(0, FirstKnownType(ctx, {1, 2}));
  return BroadcastInputsToOutput(ctx, 0, 3);
}

Status SameAsInput(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  return Status::Ok();
}

Status BoolOfInput(InferContext& ctx) {
  ctx.SetOutput(0, DataType::kBool, ctx.shape(0));
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> LogicRules() {
  return {
      {OpKind::kEqual, BinaryLogicRule},
      {OpKind::kLess, BinaryLogicRule},
      {OpKind::kLessOrEqual, BinaryLogicRule},
      {OpKind::kGreater, BinaryLogicRule},
      {OpKind::kGreaterOrEqual, BinaryLogicRule},
      {OpKind::kAnd, BinaryLogicRule},
      {OpKind::kOr, BinaryLogicRule},
      {OpKind::kXor, BinaryLogicRule},
      {OpKind::kBitShift, BinaryLogicRule},
      {OpKind::kMod, BinaryLogicRule},
      {OpKind::kBitwiseAnd, BinaryLogicRule},
      {OpKind::kBitwiseOr, BinaryLogicRule},
      {OpKind::kBitwiseXor, BinaryLogicRule},
      {OpKind::kWhere, WhereRule},
      {OpKind::kNot, SameAsInput},
      {OpKind::kBitwiseNot, SameAsInput},
      {OpKind::kSign, SameAsInput},
      {OpKind::kIsNaN, BoolOfInput},
      {OpKind::kIsInf, BoolOfInput},
  };
}

}  // namespace bnfold::ir
