// Kernels of the quantization ops (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file), in three files: this one
// holds QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the
// family's registration; quantize_matmul.cc QLinearMatMul and
// MatMulInteger; quantize_conv.cc QLinearConv and ConvInteger (shared
// helpers in support/quant_util.h).
//
// Scales and zero points are read when the node runs (the suite and many
// exports feed them as inputs). Quantize/Dequantize handle per-tensor,
// per-axis (opset >= 13) and blocked (opset >= 21, block_size) parameters.
// Rounding is half to even (std::nearbyint in the default mode), results
// saturate to the output type, as the spec's reference does. The integer
// products accumulate exactly in 64 bits; MatMulInteger/ConvInteger return
// the low 32 bits as int32. These are C++ loops: oneDNN's int8 matmul and
// convolution need int8 (not uint8) weights with zero point 0 and scales
// known when the primitive is built, which the suite's models and the
// general op do not give.
// float8 and int4 element types are not bnfold DataTypes: such nodes are
// refused as unsupported types.
#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/quant_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Where element e of X finds its scale and zero point: one for all
// (per-tensor), one per index along `axis`, or one per block of
// `block` indices along `axis` (the parameter tensor then has X's rank).
struct QuantLayout {
  enum Mode { kTensor, kAxis, kBlock } mode = kTensor;
  int64_t len = 1, inner = 1, block = 1, blocks = 1;

  int64_t Index(int64_t e) const {
    switch (mode) {
      case kTensor: return 0;
      case kAxis: return (e / inner) % len;
      case kBlock: {
        const int64_t i = e % inner, c = (e / inner) % len, o = e / (inner * len);
        return (o * blocks + c / block) * inner + i;
      }
    }
    return 0;
  }
};

// The layout of `scale` (input `scale_input`) for X of `x_dims`, checked
// against the attributes of the node's opset; the zero point, when given,
// must have the same shape.
StatusOr<QuantLayout> ParseQuantLayout(const CompileContext& ctx, const std::vector<int64_t>& x_dims,
                                       int scale_input, int zero_point_input) {
  const std::string what = ctx.Describe() + ": ";
  const TensorDesc& scale = ctx.input(scale_input);
  if (ctx.num_inputs() > zero_point_input && ctx.has_input(zero_point_input) &&
      ctx.input(zero_point_input).dims != scale.dims) {
    return InvalidModel(what + "zero point shape " + ShapeToString(ctx.input(zero_point_input).dims) +
                        " differs from the scale's " + ShapeToString(scale.dims));
  }
  QuantLayout q;
  if (scale.dims.empty() || (scale.dims.size() == 1 && scale.dims[0] == 1)) return q;
  const int64_t opset = ctx.node().opset();
  if (opset < 13) return InvalidModel(what + "the scale must be a scalar before opset 13");
  const int64_t rank = static_cast<int64_t>(x_dims.size());
  ASSIGN_OR_RETURN(const int64_t raw_axis, ctx.node().GetInt("axis", 1));
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, raw_axis, rank));
  ASSIGN_OR_RETURN(const int64_t block, ctx.node().GetInt("block_size", 0));
  q.len = x_dims[axis];
  for (int64_t d = axis + 1; d < rank; ++d) q.inner *= x_dims[d];
  if (block == 0) {
    if (scale.dims.size() != 1 || scale.dims[0] != q.len) {
      return InvalidModel(what + "per-axis scale has shape " + ShapeToString(scale.dims) +
                          ", expected [" + std::to_string(q.len) + "] (X.dims[axis])");
    }
    q.mode = QuantLayout::kAxis;
    return q;
  }
  if (block < 0 || opset < 21) return InvalidModel(what + "block_size must be >= 0 (opset >= 21)");
  std::vector<int64_t> want = x_dims;
  want[axis] = (q.len + block - 1) / block;
  if (scale.dims != want) {
    return InvalidModel(what + "blocked scale has shape " + ShapeToString(scale.dims) +
                        ", expected " + ShapeToString(want) + " for block_size " +
                        std::to_string(block));
  }
  q.mode = QuantLayout::kBlock;
  q.block = block;
  q.blocks = want[axis];
  return q;
}

// ------------------------------------------------------------ QuantizeLinear

struct QuantizeLoop {
  QuantLayout layout;
  int64_t count = 0;
  DataType scale_type = DataType::kFloat;
  DataType zero_type = DataType::kUndefined;  // undefined: no zero point input
};

// y = saturate(round(x / scale) + zero_point), the division in float as in
// the spec's reference.
template <DataType kIn, DataType kOut>
void RunQuantize(const QuantizeLoop& p, ExecContext& ctx) {
  using In = Element<kIn>;
  using Out = typename Element<kOut>::Storage;
  const auto* x = ctx.input_as<typename In::Storage>(0);
  const void* scale = ctx.input(1);
  const void* zero = p.zero_type == DataType::kUndefined ? nullptr : ctx.input(2);
  auto* y = ctx.output_as<Out>(0);
  for (int64_t e = 0; e < p.count; ++e) {
    const int64_t k = p.layout.Index(e);
    const float s = static_cast<float>(ValueAt(scale, p.scale_type, k));
    const double z = zero ? ValueAt(zero, p.zero_type, k) : 0.0;
    const float v = static_cast<float>(In::Load(x[e])) / s;
    y[e] = Saturate<Out>(std::nearbyint(static_cast<double>(v)) + z);
  }
}

class QuantizeKernel : public LoopKernel<QuantizeLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    if (ctx.num_inputs() < 2 || !ctx.has_input(1)) {
      return InvalidModel(what + "expects inputs x, y_scale and an optional y_zero_point");
    }
    const int64_t opset = ctx.node().opset();
    const TensorDesc& x = ctx.input(0);
    const bool x_ok = x.dtype == DataType::kFloat || x.dtype == DataType::kInt32 ||
                      (opset >= 19 && (x.dtype == DataType::kFloat16 || x.dtype == DataType::kBfloat16));
    if (!x_ok) return UnsupportedType(ctx, 0, opset >= 19 ? "float, float16, bfloat16, int32" : "float, int32");
    loop_.scale_type = ctx.input(1).dtype;
    if (!IsScaleType(loop_.scale_type)) return UnsupportedType(ctx, 1, "float, float16, bfloat16");
    DataType out = DataType::kUint8;
    ASSIGN_OR_RETURN(const int64_t output_dtype, ctx.node().GetInt("output_dtype", 0));
    if (ctx.num_inputs() > 2 && ctx.has_input(2)) {
      loop_.zero_type = ctx.input(2).dtype;
      out = loop_.zero_type;
      if (output_dtype != 0 && output_dtype != static_cast<int64_t>(out)) {
        return InvalidModel(what + "output_dtype differs from y_zero_point's type");
      }
    } else if (output_dtype != 0) {
      out = static_cast<DataType>(output_dtype);
    }
    const bool out_ok = out == DataType::kInt8 || out == DataType::kUint8 ||
                        (opset >= 21 && (out == DataType::kInt16 || out == DataType::kUint16));
    if (!out_ok) {
      return Unsupported(what + "output type " + DataTypeName(out) + " is not supported (" +
                         (opset >= 21 ? "int8, uint8, int16, uint16" : "int8, uint8") + ")");
    }
    ASSIGN_OR_RETURN(loop_.layout, ParseQuantLayout(ctx, x.dims, 1, 2));
    loop_.count = x.num_elements();
    DispatchElement<kAllElements>(x.dtype, [&]<DataType kIn>() {
      DispatchElement<kAllElements>(out, [&]<DataType kOut>() {
        if constexpr ((Element<kIn>::kFloating || kIn == DataType::kInt32) &&
                      (kOut == DataType::kInt8 || kOut == DataType::kUint8 ||
                       kOut == DataType::kInt16 || kOut == DataType::kUint16)) {
          fn_ = &RunQuantize<kIn, kOut>;
        }
      });
    });
    ctx.SetOutput(0, out, x.dims);
    return Status::Ok();
  }
};

// ---------------------------------------------------------- DequantizeLinear

template <DataType kIn, DataType kOut>
void RunDequantize(const QuantizeLoop& p, ExecContext& ctx) {
  using In = typename Element<kIn>::Storage;
  using Out = Element<kOut>;
  const auto* x = ctx.input_as<In>(0);
  const void* scale = ctx.input(1);
  const void* zero = p.zero_type == DataType::kUndefined ? nullptr : ctx.input(2);
  auto* y = ctx.output_as<typename Out::Storage>(0);
  for (int64_t e = 0; e < p.count; ++e) {
    const int64_t k = p.layout.Index(e);
    const float s = static_cast<float>(ValueAt(scale, p.scale_type, k));
    const float z = zero ? static_cast<float>(ValueAt(zero, p.zero_type, k)) : 0.0f;
    y[e] = Out::Store(static_cast<typename Out::Compute>((static_cast<float>(x[e]) - z) * s));
  }
}

class DequantizeKernel : public LoopKernel<QuantizeLoop> {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    if (ctx.num_inputs() < 2 || !ctx.has_input(1)) {
      return InvalidModel(what + "expects inputs x, x_scale and an optional x_zero_point");
    }
    const int64_t opset = ctx.node().opset();
    const TensorDesc& x = ctx.input(0);
    const bool x_ok = x.dtype == DataType::kInt8 || x.dtype == DataType::kUint8 ||
                      x.dtype == DataType::kInt32 ||
                      (opset >= 21 && (x.dtype == DataType::kInt16 || x.dtype == DataType::kUint16));
    if (!x_ok) return UnsupportedType(ctx, 0, opset >= 21 ? "int8, uint8, int16, uint16, int32" : "int8, uint8, int32");
    loop_.scale_type = ctx.input(1).dtype;
    if (!IsScaleType(loop_.scale_type) || (opset < 19 && loop_.scale_type != DataType::kFloat)) {
      return UnsupportedType(ctx, 1, opset >= 19 ? "float, float16, bfloat16" : "float");
    }
    if (ctx.num_inputs() > 2 && ctx.has_input(2)) {
      loop_.zero_type = ctx.input(2).dtype;
      if (loop_.zero_type != x.dtype) return UnsupportedType(ctx, 2, DataTypeName(x.dtype));
    }
    ASSIGN_OR_RETURN(loop_.layout, ParseQuantLayout(ctx, x.dims, 1, 2));
    loop_.count = x.num_elements();
    DataType out = loop_.scale_type;
    ASSIGN_OR_RETURN(const int64_t output_dtype, ctx.node().GetInt("output_dtype", 0));
    if (output_dtype != 0) out = static_cast<DataType>(output_dtype);
    if (!IsScaleType(out)) return Unsupported(what + "output_dtype must be float, float16 or bfloat16");
    DispatchElement<kAllElements>(x.dtype, [&]<DataType kIn>() {
      DispatchElement<kFloatingElements>(out, [&]<DataType kOut>() {
        if constexpr (!Element<kIn>::kFloating && kIn != DataType::kBool) {
          fn_ = &RunDequantize<kIn, kOut>;
        }
      });
    });
    ctx.SetOutput(0, out, x.dims);
    return Status::Ok();
  }
};

// ----------------------------------------------------- DynamicQuantizeLinear

// uint8 with the range widened to include 0: scale = (max - min) / 255,
// zero_point = saturate(round(-min / scale)), y as QuantizeLinear. An
// all-zero (or empty) x has scale 0; its zero point and y are then 0.
class DynamicQuantizeKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    if (x.dtype != DataType::kFloat) return UnsupportedType(ctx, 0, "float");
    count_ = x.num_elements();
    ctx.SetOutput(0, DataType::kUint8, x.dims);
    if (ctx.num_outputs() > 1 && ctx.has_output(1)) ctx.SetOutput(1, DataType::kFloat, {});
    if (ctx.num_outputs() > 2 && ctx.has_output(2)) ctx.SetOutput(2, DataType::kUint8, {});
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const float* x = ctx.input_as<float>(0);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t e = 0; e < count_; ++e) {
      lo = std::min(lo, x[e]);
      hi = std::max(hi, x[e]);
    }
    const float scale = (hi - lo) / 255.0f;
    const uint8_t zero = scale > 0.0f ? Saturate<uint8_t>(std::nearbyint(-lo / scale)) : 0;
    uint8_t* y = ctx.output_as<uint8_t>(0);
    for (int64_t e = 0; e < count_; ++e) {
      y[e] = scale > 0.0f ? Saturate<uint8_t>(std::nearbyint(x[e] / scale) + zero) : zero;
    }
    if (float* s = ctx.output_as<float>(1)) *s = scale;
    if (uint8_t* z = ctx.output_as<uint8_t>(2)) *z = zero;
    return Status::Ok();
  }

 private:
  int64_t count_ = 0;
};

}  // namespace

void RegisterQuantKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kQuantizeLinear, MakeKernel<QuantizeKernel>);
  registry.Register(ir::OpKind::kDequantizeLinear, MakeKernel<DequantizeKernel>);
  registry.Register(ir::OpKind::kDynamicQuantizeLinear, MakeKernel<DynamicQuantizeKernel>);
  RegisterQuantMatMulKernels(registry);
  RegisterQuantConvKernels(registry);
}

}  // namespace bnfold::onednn
