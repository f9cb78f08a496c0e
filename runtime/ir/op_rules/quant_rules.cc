// Types and shapes of the quantization ops (the BNFOLD_OPS_* family in
// op_kind.h that names this file). One row per op whose kernel is
// registered; a kind without a row keeps the types the model declares.
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// The zero point's type, else output_dtype (opset >= 21), else uint8.
Status QuantizeRule(InferContext& ctx) {
  DataType out = DataType::kUint8;
  ASSIGN_OR_RETURN(const int64_t output_dtype, ctx.node().GetInt("output_dtype", 0));
  if (ctx.has_input(2)) {
    out = ctx.dtype(2);
  } else if (output_dtype != 0) {
    out = static_cast<DataType>(output_dtype);
  }
  ctx.SetOutput(0, out, ctx.shape(0));
  return Status::Ok();
}

// The scale's type (or output_dtype).
Status DequantizeRule(InferContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t output_dtype, ctx.node().GetInt("output_dtype", 0));
  ctx.SetOutput(0, output_dtype != 0 ? static_cast<DataType>(output_dtype) : ctx.dtype(1),
                ctx.shape(0));
  return Status::Ok();
}

Status DynamicQuantizeRule(InferContext& ctx) {
  ctx.SetOutput(0, DataType::kUint8, ctx.shape(0));
  ctx.SetOutput(1, DataType::kFloat, StaticShape{});
  ctx.SetOutput(2, DataType::kUint8, StaticShape{});
  return Status::Ok();
}

// The rule of `kind` (MatMul, Conv) on a context holding just inputs a and
// b of this node, its output typed `out`.
Status ShapeByRuleOf(OpKind kind, InferContext& ctx, int a_in, int b_in, DataType out) {
  ctx.SetType(0, out);
  auto operand = [&](int i) {
    return InferContext::Input{ctx.node().input(i), ctx.dtype(i), &ctx.shape(i), ctx.ints(i)};
  };
  InferContext sub(ctx.node(), {operand(a_in), operand(b_in)});
  RETURN_IF_ERROR(FindTypeRule(kind)(sub));
  if (sub.outputs()[0].shape) ctx.SetShape(0, *sub.outputs()[0].shape);
  return Status::Ok();
}

Status QLinearMatMulRule(InferContext& ctx) {
  return ShapeByRuleOf(OpKind::kMatMul, ctx, 0, 3, ctx.dtype(7));
}
Status MatMulIntegerRule(InferContext& ctx) {
  return ShapeByRuleOf(OpKind::kMatMul, ctx, 0, 1, DataType::kInt32);
}
// Conv's shape from X and W (its attributes are parsed as Conv's).
Status QLinearConvRule(InferContext& ctx) {
  return ShapeByRuleOf(OpKind::kConv, ctx, 0, 3, ctx.dtype(7));
}
Status ConvIntegerRule(InferContext& ctx) {
  return ShapeByRuleOf(OpKind::kConv, ctx, 0, 1, DataType::kInt32);
}

}  // namespace

std::vector<OpSchemaRow> QuantRules() {
  return {
      {OpKind::kQuantizeLinear, QuantizeRule},
      {OpKind::kDequantizeLinear, DequantizeRule},
      {OpKind::kDynamicQuantizeLinear, DynamicQuantizeRule},
      {OpKind::kQLinearMatMul, QLinearMatMulRule},
      {OpKind::kMatMulInteger, MatMulIntegerRule},
      {OpKind::kQLinearConv, QLinearConvRule},
      {OpKind::kConvInteger, ConvIntegerRule},
  };
}

}  // namespace bnfold::ir
