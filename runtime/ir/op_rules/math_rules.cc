// Types and shapes of the element-wise math, matrix and generator ops (the
// BNFOLD_OPS_MATH family in op_kind.h). One row per op whose kernel is
// registered.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// Output 0 is input 0's type and shape.
Status SameAsInput(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  return Status::Ok();
}

// Size: an int64 scalar, the product of the dims (known, or a symbol when
// only one dim is symbolic and the rest are 1).
Status SizeRule(InferContext& ctx) {
  ctx.SetOutput(0, DataType::kInt64, StaticShape{});
  const std::optional<StaticShape>& x = ctx.shape(0);
  if (!x) return Status::Ok();
  const Dim count = DimProduct(*x, 0, x->size());
  SymInts ints;
  ints.scalar = true;
  ints.elements.push_back(SymInt::FromDim(count));
  ctx.SetInts(0, std::move(ints));
  return Status::Ok();
}

// Trilu: X's type and shape; X needs rank >= 2.
Status TriluRule(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(0), ctx.shape(0));
  if (ctx.rank(0) >= 0 && ctx.rank(0) < 2) {
    return ctx.Error("input must have rank >= 2, got rank " + std::to_string(ctx.rank(0)));
  }
  return Status::Ok();
}

// CastLike: input's shape, target_type's element type.
Status CastLikeRule(InferContext& ctx) {
  ctx.SetOutput(0, ctx.dtype(1), ctx.shape(0));
  return Status::Ok();
}

// EyeLike: `dtype` (default: the input's), the input's 2-D shape.
Status EyeLikeRule(InferContext& ctx) {
  ASSIGN_OR_RETURN(int64_t dtype, ctx.node().GetInt("dtype", static_cast<int64_t>(ctx.dtype(0))));
  ctx.SetOutput(0, static_cast<DataType>(dtype), ctx.shape(0));
  if (ctx.rank(0) >= 0 && ctx.rank(0) != 2) {
    return ctx.Error("input must be 2-D, got rank " + std::to_string(ctx.rank(0)));
  }
  return Status::Ok();
}

// A dim from a computed double: fixed when it is a count that fits.
Dim DimFromDouble(double v) {
  if (!(v >= 0.0) || v > 0x1p62) return Dim{};
  return FixedDim(static_cast<int64_t>(v));
}

// One element of a constant as a double.
std::optional<double> ConstantScalar(const InferContext& ctx, int i) {
  const Tensor* t = ctx.constant(i);
  if (t == nullptr || t->num_elements() != 1) return std::nullopt;
  return t->GetAsDouble(0);
}

// Range: start's type; 1-D, of max(ceil((limit - start) / delta), 0)
// elements when all three are constants.
Status RangeRule(InferContext& ctx) {
  ctx.SetOutput(0, FirstKnownType(ctx, {0, 1, 2}), StaticShape{Dim{}});
  const std::optional<double> start = ConstantScalar(ctx, 0), limit = ConstantScalar(ctx, 1),
                              delta = ConstantScalar(ctx, 2);
  if (start && limit && delta && *delta != 0.0) {
    const double n = std::ceil((*limit - *start) / *delta);
    ctx.SetShape(0, {DimFromDouble(n > 0.0 ? n : 0.0)});
  }
  return Status::Ok();
}

// OneHot: values' type; indices' shape with a new axis of `depth` at
// `axis`.
Status OneHotRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(2));
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  ASSIGN_OR_RETURN(int64_t raw_axis, ctx.node().GetInt("axis", -1));
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(raw_axis, rank + 1, "axis"));
  Dim depth;
  if (const std::optional<double> d = ConstantScalar(ctx, 1)) {
    depth = DimFromDouble(std::trunc(*d));
  }
  StaticShape out = *ctx.shape(0);
  out.insert(out.begin() + axis, depth);
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// Det: X's type; X's shape without the two innermost (square) dims.
Status DetRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const std::optional<StaticShape>& x = ctx.shape(0);
  if (!x) return Status::Ok();
  if (x->size() < 2) return ctx.Error("input must be [..., M, M], got rank " + std::to_string(x->size()));
  ctx.SetShape(0, StaticShape(x->begin(), x->end() - 2));
  return Status::Ok();
}

// Einsum: the inputs' type; the output's rank (its dims are left to the
// kernel, which parses the equation against concrete dims): the output
// term's letters, or (implicit output) the letters used once, plus the
// widest ellipsis.
Status EinsumRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ASSIGN_OR_RETURN(std::string equation, ctx.node().GetString("equation", ""));
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  int64_t ellipsis = 0, letters_once = 0, letters_in_term = 0;
  int term = 0;
  bool term_has_ellipsis = false;
  int counts[128] = {};
  for (size_t i = 0; i <= lhs.size(); ++i) {
    if (i == lhs.size() || lhs[i] == ',') {
      if (term >= ctx.num_inputs() || ctx.rank(term) < 0) return Status::Ok();
      if (term_has_ellipsis) ellipsis = std::max<int64_t>(ellipsis, ctx.rank(term) - letters_in_term);
      ++term, letters_in_term = 0, term_has_ellipsis = false;
    } else if (lhs[i] == '.') {
      term_has_ellipsis = true;
    } else if (std::isalpha(static_cast<unsigned char>(lhs[i]))) {
      ++counts[static_cast<unsigned char>(lhs[i])], ++letters_in_term;
    }
  }
  int64_t rank = 0;
  if (arrow != std::string::npos) {
    const std::string out = equation.substr(arrow + 2);
    for (char c : out) rank += std::isalpha(static_cast<unsigned char>(c)) ? 1 : 0;
    if (out.find("...") != std::string::npos) rank += ellipsis;
  } else {
    for (int c : counts) letters_once += c == 1 ? 1 : 0;
    rank = letters_once + ellipsis;
  }
  ctx.SetShape(0, UnknownDims(static_cast<size_t>(rank)));
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> MathRules() {
  return {
      {OpKind::kSin, SameAsInput},
      {OpKind::kCos, SameAsInput},
      {OpKind::kTan, SameAsInput},
      {OpKind::kAsin, SameAsInput},
      {OpKind::kAcos, SameAsInput},
      {OpKind::kAtan, SameAsInput},
      {OpKind::kSinh, SameAsInput},
      {OpKind::kCosh, SameAsInput},
      {OpKind::kAsinh, SameAsInput},
      {OpKind::kAcosh, SameAsInput},
      {OpKind::kAtanh, SameAsInput},
      {OpKind::kRound, SameAsInput},
      {OpKind::kThresholdedRelu, SameAsInput},
      {OpKind::kShrink, SameAsInput},
      {OpKind::kCelu, SameAsInput},
      {OpKind::kMish, SameAsInput},
      {OpKind::kGelu, SameAsInput},
      {OpKind::kSize, SizeRule},
      {OpKind::kCastLike, CastLikeRule},
      {OpKind::kCumSum, SameAsInput},
      {OpKind::kHardmax, SameAsInput},
      {OpKind::kEyeLike, EyeLikeRule},
      {OpKind::kRange, RangeRule},
      {OpKind::kOneHot, OneHotRule},
      {OpKind::kDet, DetRule},
      {OpKind::kEinsum, EinsumRule},
      {OpKind::kTrilu, TriluRule},
  };
}

}  // namespace bnfold::ir
