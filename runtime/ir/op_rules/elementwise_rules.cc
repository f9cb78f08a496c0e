// Types and shapes of element-wise ops: unary ops and activations keep their
// input's type and shape; binary and variadic ops broadcast (numpy rules,
// or opset < 7's `broadcast`/`axis`, where the output has A's shape);
// Cast takes `to`; the normalizations keep X's shape.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// Output 0 is input 0's type and shape (unary ops, activations, Softmax...).
Status SameAsInput(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  return Status::Ok();
}

// Identity also passes the known elements of an integer tensor on.
Status IdentityRule(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  if (const SymInts* v = ctx.ints(0)) ctx.SetInts(0, *v);
  return Status::Ok();
}

// Dropout: Y is X; the mask has X's type before opset 10, bool since.
Status DropoutRule(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  ctx.SetOutput(1, ctx.opset() < 10 ? ctx.dtype(0) : DataType::kBool, ctx.shape(0));
  return Status::Ok();
}

// BatchNormalization: Y is X; the running and saved statistics have mean's
// type (T2 from opset 15, X's before) and shape.
Status BatchNormRule(InferContext& ctx) {
  ctx.SetOutput(0, FirstKnownType(ctx, ctx.opset() < 15 ? std::initializer_list<int>{0, 1, 2, 3, 4}
                                                        : std::initializer_list<int>{0}),
                ctx.shape(0));
  const DataType stats = FirstKnownType(
      ctx, ctx.opset() < 15 ? std::initializer_list<int>{3, 4, 0} : std::initializer_list<int>{3, 4});
  for (int i = 1; i < ctx.num_outputs(); ++i) ctx.SetOutput(i, stats, ctx.shape(3));
  if (ctx.rank(0) >= 0 && ctx.rank(0) < 2) {
    return ctx.Error("X must have rank >= 2 (N x C x ...), got rank " +
                     std::to_string(ctx.rank(0)));
  }
  return Status::Ok();
}

// Elements of two integer operands combined element by element (scalar
// broadcast), for data propagation through shape arithmetic.
template <typename Fn>
void PropagateArithmetic(InferContext& ctx, Fn fn) {
  if (!IsIndexType(ctx.dtype(0))) return;
  const SymInts* a = ctx.ints(0);
  const SymInts* b = ctx.ints(1);
  if (a == nullptr || b == nullptr) return;
  const size_t n = std::max(a->elements.size(), b->elements.size());
  if ((a->elements.size() != n && a->elements.size() != 1) ||
      (b->elements.size() != n && b->elements.size() != 1)) {
    return;
  }
  SymInts out;
  out.scalar = a->scalar && b->scalar;
  for (size_t i = 0; i < n; ++i) {
    const SymInt& x = a->elements[a->elements.size() == 1 ? 0 : i];
    const SymInt& y = b->elements[b->elements.size() == 1 ? 0 : i];
    out.elements.push_back(fn(x, y));
  }
  ctx.SetInts(0, std::move(out));
}

// A dim times 1 (or divided by 1, plus 0) stays what it was, symbols too.
SymInt Arithmetic(OpKind kind, const SymInt& x, const SymInt& y) {
  const bool unit = y.known() && ((kind == OpKind::kMul || kind == OpKind::kDiv) ? *y.value == 1
                                                                                  : *y.value == 0);
  if (unit) return x;
  if (kind == OpKind::kMul && x.known() && *x.value == 1) return y;
  if (kind == OpKind::kAdd && x.known() && *x.value == 0) return y;
  if (!x.known() || !y.known()) return SymInt{};
  int64_t r = 0;
  const int64_t a = *x.value, b = *y.value;
  bool overflow = false;
  switch (kind) {
    case OpKind::kAdd: overflow = __builtin_add_overflow(a, b, &r); break;
    case OpKind::kSub: overflow = __builtin_sub_overflow(a, b, &r); break;
    case OpKind::kMul: overflow = __builtin_mul_overflow(a, b, &r); break;
    default:  // Div: truncation is numpy's floor for the non-negative dims it sees
      if (b <= 0 || a < 0) return SymInt{};
      r = a / b;
      break;
  }
  return overflow ? SymInt{} : SymInt::Known(r);
}

// Add, Sub, Mul, Div, Pow: A's type (Pow: the base's), numpy broadcasting,
// or before opset 7 A's shape (B fits into it by `broadcast`/`axis`).
Status BinaryRule(InferContext& ctx) {
  const OpKind kind = ctx.node().kind();
  ctx.SetType(0, kind == OpKind::kPow ? ctx.dtype(0) : FirstKnownType(ctx, {0, 1}));
  if (kind != OpKind::kPow) {
    PropagateArithmetic(ctx, [kind](const SymInt& x, const SymInt& y) {
      return Arithmetic(kind, x, y);
    });
  }
  if (ctx.opset() < 7) {
    if (ctx.shape(0)) ctx.SetShape(0, *ctx.shape(0));
    return Status::Ok();
  }
  if (!ctx.shape(0) || !ctx.shape(1)) return Status::Ok();
  StatusOr<StaticShape> out = BroadcastShapes(*ctx.shape(0), *ctx.shape(1));
  if (!out.ok()) return ctx.Error(out.status().message());
  ctx.SetShape(0, std::move(*out));
  return Status::Ok();
}

// PRelu: the slope broadcasts to X (opset < 7: a [C] slope is per channel);
// the output is X.
Status PReluRule(InferContext& ctx) {
  ctx.SetOutput(0, FirstKnownType(ctx, {0, 1}), ctx.shape(0));
  return Status::Ok();
}

// Max, Min, Sum, Mean: every input broadcasts together.
Status VariadicRule(InferContext& ctx) {
  DataType type = DataType::kUndefined;
  for (int i = 0; i < ctx.num_inputs() && type == DataType::kUndefined; ++i) type = ctx.dtype(i);
  ctx.SetType(0, type);
  return BroadcastInputsToOutput(ctx, 0, ctx.num_inputs());
}

// Clip: X's type and shape (min and max are attributes before opset 11,
// scalar inputs of X's type since).
Status ClipRule(InferContext& ctx) {
  ctx.SetOutput(0, FirstKnownType(ctx, {0, 1, 2}), ctx.shape(0));
  return Status::Ok();
}

// Cast: `to`, X's shape; integer elements stay known through integer casts.
Status CastRule(InferContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t to, ctx.node().GetInt("to", 0));
  const DataType type = static_cast<DataType>(to);
  if (to < 1 || to > static_cast<int64_t>(DataType::kBfloat16) || DataTypeSize(type) == 0) {
    ctx.SetOutput(0, DataType::kUndefined, ctx.shape(0));
    return ctx.Error("'to' = " + std::to_string(to) +
                     " is not an element type bnfold computes with");
  }
  ctx.SetOutput(0, type, ctx.shape(0));
  if (IsIndexType(type) && IsIndexType(ctx.dtype(0))) {
    if (const SymInts* v = ctx.ints(0)) ctx.SetInts(0, *v);
  }
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> ElementwiseRules() {
  return {
      {OpKind::kAbs, SameAsInput},
      {OpKind::kCeil, SameAsInput},
      {OpKind::kElu, SameAsInput},
      {OpKind::kErf, SameAsInput},
      {OpKind::kExp, SameAsInput},
      {OpKind::kFloor, SameAsInput},
      {OpKind::kHardSigmoid, SameAsInput},
      {OpKind::kHardSwish, SameAsInput},
      {OpKind::kLeakyRelu, SameAsInput},
      {OpKind::kLog, SameAsInput},
      {OpKind::kNeg, SameAsInput},
      {OpKind::kReciprocal, SameAsInput},
      {OpKind::kRelu, SameAsInput},
      {OpKind::kSelu, SameAsInput},
      {OpKind::kSigmoid, SameAsInput},
      {OpKind::kSoftplus, SameAsInput},
      {OpKind::kSoftsign, SameAsInput},
      {OpKind::kSqrt, SameAsInput},
      {OpKind::kTanh, SameAsInput},
      {OpKind::kSoftmax, SameAsInput},
      {OpKind::kLogSoftmax, SameAsInput},
      {OpKind::kLRN, SameAsInput},
      {OpKind::kInstanceNormalization, SameAsInput},
      {OpKind::kIdentity, IdentityRule},
      {OpKind::kDropout, DropoutRule},
      {OpKind::kBatchNormalization, BatchNormRule},
      {OpKind::kAdd, BinaryRule},
      {OpKind::kSub, BinaryRule},
      {OpKind::kMul, BinaryRule},
      {OpKind::kDiv, BinaryRule},
      {OpKind::kPow, BinaryRule},
      {OpKind::kPRelu, PReluRule},
      {OpKind::kMax, VariadicRule},
      {OpKind::kMin, VariadicRule},
      {OpKind::kSum, VariadicRule},
      {OpKind::kMean, VariadicRule},
      {OpKind::kClip, ClipRule},
      {OpKind::kCast, CastRule},
  };
}

}  // namespace bnfold::ir
