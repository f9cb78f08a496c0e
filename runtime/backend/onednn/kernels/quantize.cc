// Kernels of the quantization ops (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file): QuantizeLinear,
// DequantizeLinear, DynamicQuantizeLinear, QLinearMatMul, MatMulInteger,
// QLinearConv, ConvInteger.
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
#include <limits>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/conv_geometry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Element i of a buffer of any numeric type, as a double (scales and zero
// points: one dispatch per value, negligible next to the work per value).
double ValueAt(const void* data, DataType dtype, int64_t i) {
  double v = 0.0;
  DispatchElement<kAllElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    v = static_cast<double>(E::Load(static_cast<const typename E::Storage*>(data)[i]));
  });
  return v;
}

bool IsScaleType(DataType t) {
  return t == DataType::kFloat || t == DataType::kFloat16 || t == DataType::kBfloat16;
}

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

// Saturating cast of an already rounded value to integer type T.
template <typename T>
T Saturate(double v) {
  if (std::isnan(v)) return 0;
  v = std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()),
                 static_cast<double>(std::numeric_limits<T>::max()));
  return static_cast<T>(v);
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

// ------------------------------------------- QLinearMatMul, MatMulInteger

// Quantized operand of a matmul or convolution: its type, its zero point's
// input (-1 when absent) and how many zero points it has (1 or one per row
// of A / column of B / output channel of W).
struct QuantOperand {
  DataType dtype = DataType::kUint8;
  int zero_input = -1;
  int64_t zero_count = 1;
  int scale_input = -1;
  int64_t scale_count = 1;
  DataType scale_type = DataType::kFloat;
};

// Parameter `k` of an operand (per-tensor when its count is 1).
double ZeroAt(const QuantOperand& q, ExecContext& ctx, int64_t k) {
  if (q.zero_input < 0 || ctx.input(q.zero_input) == nullptr) return 0.0;
  return ValueAt(ctx.input(q.zero_input), q.dtype, q.zero_count == 1 ? 0 : k);
}
double ScaleAt(const QuantOperand& q, ExecContext& ctx, int64_t k) {
  return ValueAt(ctx.input(q.scale_input), q.scale_type, q.scale_count == 1 ? 0 : k);
}

// Checks a scale/zero-point input: a scalar, [1], or `per` values.
Status CheckParam(const CompileContext& ctx, int input, int64_t per, const std::string& name,
                  int64_t* count) {
  if (input < 0 || ctx.num_inputs() <= input || !ctx.has_input(input)) return Status::Ok();
  const TensorDesc& t = ctx.input(input);
  if (t.dims.size() > 1 || (t.num_elements() != 1 && t.num_elements() != per)) {
    return InvalidModel(ctx.Describe() + ": " + name + " has shape " + ShapeToString(t.dims) +
                        ", expected a scalar or " + std::to_string(per) + " values");
  }
  *count = t.num_elements();
  return Status::Ok();
}

struct MatMulGeometry {
  int64_t m = 0, k = 0, n = 0, batch = 1;
  std::vector<int64_t> a_batch_offset, b_batch_offset;  // per output batch, in matrices
  std::vector<int64_t> out_dims;
};

// numpy.matmul shapes: 1-D operands gain (and lose) a unit dim, batch dims
// broadcast.
StatusOr<MatMulGeometry> ComputeMatMulGeometry(const CompileContext& ctx, std::vector<int64_t> a,
                                               std::vector<int64_t> b) {
  if (a.empty() || b.empty()) return InvalidModel(ctx.Describe() + ": operands must have rank >= 1");
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  MatMulGeometry g;
  g.m = a[a.size() - 2];
  g.k = a.back();
  g.n = b.back();
  if (b[b.size() - 2] != g.k) {
    return InvalidModel(ctx.Describe() + ": A " + ShapeToString(a) + " and B " + ShapeToString(b) +
                        " do not share the inner dimension");
  }
  const std::vector<int64_t> a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  ASSIGN_OR_RETURN(std::vector<int64_t> batch, BroadcastShapes(ctx, a_batch, b_batch));
  const std::vector<int64_t> sa = BroadcastStrides(a_batch, batch);
  const std::vector<int64_t> sb = BroadcastStrides(b_batch, batch);
  for (int64_t d : batch) g.batch *= d;
  std::vector<int64_t> pos(batch.size(), 0);
  for (int64_t i = 0; i < g.batch; ++i) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < pos.size(); ++d) {
      oa += pos[d] * sa[d];
      ob += pos[d] * sb[d];
    }
    g.a_batch_offset.push_back(oa);
    g.b_batch_offset.push_back(ob);
    for (size_t d = pos.size(); d-- > 0;) {
      if (++pos[d] < batch[d]) break;
      pos[d] = 0;
    }
  }
  g.out_dims = batch;
  if (!a_vector) g.out_dims.push_back(g.m);
  if (!b_vector) g.out_dims.push_back(g.n);
  return g;
}

// Exact integer products of (A - a_zero) x (B - b_zero), per row zero
// points of A and per column ones of B; `emit(batch, row, col, acc)` stores.
template <typename TA, typename TB, typename Emit>
void QuantizedMatMul(const MatMulGeometry& g, const TA* a, const TB* b,
                     const std::vector<int32_t>& a_zero, const std::vector<int32_t>& b_zero,
                     Emit&& emit) {
  std::vector<int64_t> column(static_cast<size_t>(g.k));
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    const TA* am = a + g.a_batch_offset[bi] * g.m * g.k;
    const TB* bm = b + g.b_batch_offset[bi] * g.k * g.n;
    for (int64_t j = 0; j < g.n; ++j) {
      const int32_t bz = b_zero.size() == 1 ? b_zero[0] : b_zero[j];
      for (int64_t p = 0; p < g.k; ++p) column[p] = static_cast<int64_t>(bm[p * g.n + j]) - bz;
      for (int64_t i = 0; i < g.m; ++i) {
        const int32_t az = a_zero.size() == 1 ? a_zero[0] : a_zero[i];
        int64_t acc = 0;
        for (int64_t p = 0; p < g.k; ++p) acc += (static_cast<int64_t>(am[i * g.k + p]) - az) * column[p];
        emit(bi, i, j, acc);
      }
    }
  }
}

std::vector<int32_t> ZeroPoints(const QuantOperand& q, ExecContext& ctx) {
  std::vector<int32_t> z(static_cast<size_t>(q.zero_count));
  for (int64_t k = 0; k < q.zero_count; ++k) z[k] = static_cast<int32_t>(ZeroAt(q, ctx, k));
  return z;
}

bool Is8Bit(DataType t) { return t == DataType::kInt8 || t == DataType::kUint8; }

// Calls fn.template operator()<TA, TB>() for int8/uint8 A and B.
template <typename Fn>
void Dispatch8Bit(DataType a, DataType b, Fn&& fn) {
  auto inner = [&]<typename TA>() {
    if (b == DataType::kInt8) {
      fn.template operator()<TA, int8_t>();
    } else {
      fn.template operator()<TA, uint8_t>();
    }
  };
  if (a == DataType::kInt8) {
    inner.template operator()<int8_t>();
  } else {
    inner.template operator()<uint8_t>();
  }
}

// QLinearMatMul (quantized = true): inputs a, a_scale, a_zero_point, b,
// b_scale, b_zero_point, y_scale, y_zero_point; y = saturate(round(acc *
// a_scale * b_scale / y_scale) + y_zero_point), a per-tensor or per-row,
// b per-tensor or per-column, y per-tensor. MatMulInteger: inputs A, B and
// optional zero points; int32 output.
class QuantMatMulKernel : public Kernel {
 public:
  explicit QuantMatMulKernel(bool quantized) : quantized_(quantized) {}

  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const int a_in = 0, b_in = quantized_ ? 3 : 1;
    if (quantized_ && (ctx.num_inputs() != 8 || !ctx.has_input(1) || !ctx.has_input(4) ||
                       !ctx.has_input(6))) {
      return InvalidModel(what + "expects 8 inputs (a, a_scale, a_zero_point, b, b_scale, "
                                 "b_zero_point, y_scale, y_zero_point)");
    }
    if (!quantized_ && (ctx.num_inputs() < 2 || ctx.num_inputs() > 4)) {
      return InvalidModel(what + "expects inputs A, B and optional zero points");
    }
    a_.dtype = ctx.input(a_in).dtype;
    b_.dtype = ctx.input(b_in).dtype;
    if (!Is8Bit(a_.dtype)) return UnsupportedType(ctx, a_in, "int8, uint8");
    if (!Is8Bit(b_.dtype)) return UnsupportedType(ctx, b_in, "int8, uint8");
    ASSIGN_OR_RETURN(geometry_, ComputeMatMulGeometry(ctx, ctx.input(a_in).dims, ctx.input(b_in).dims));
    a_.zero_input = 2;
    b_.zero_input = quantized_ ? 5 : 3;
    RETURN_IF_ERROR(CheckParam(ctx, a_.zero_input, geometry_.m, "a_zero_point", &a_.zero_count));
    RETURN_IF_ERROR(CheckParam(ctx, b_.zero_input, geometry_.n, "b_zero_point", &b_.zero_count));
    for (const QuantOperand* q : {&a_, &b_}) {
      if (ctx.num_inputs() > q->zero_input && ctx.has_input(q->zero_input) &&
          ctx.input(q->zero_input).dtype != q->dtype) {
        return UnsupportedType(ctx, q->zero_input, DataTypeName(q->dtype));
      }
    }
    DataType out = DataType::kInt32;
    if (quantized_) {
      a_.scale_input = 1;
      b_.scale_input = 4;
      y_.scale_input = 6;
      y_.zero_input = 7;
      RETURN_IF_ERROR(CheckParam(ctx, 1, geometry_.m, "a_scale", &a_.scale_count));
      RETURN_IF_ERROR(CheckParam(ctx, 4, geometry_.n, "b_scale", &b_.scale_count));
      RETURN_IF_ERROR(CheckParam(ctx, 6, 1, "y_scale", &y_.scale_count));
      RETURN_IF_ERROR(CheckParam(ctx, 7, 1, "y_zero_point", &y_.zero_count));
      for (QuantOperand* q : {&a_, &b_, &y_}) {
        q->scale_type = ctx.input(q->scale_input).dtype;
        if (!IsScaleType(q->scale_type)) return UnsupportedType(ctx, q->scale_input, "float, float16, bfloat16");
      }
      if (!ctx.has_input(7)) return InvalidModel(what + "y_zero_point is missing");
      y_.dtype = out = ctx.input(7).dtype;
      if (!Is8Bit(out)) return UnsupportedType(ctx, 7, "int8, uint8");
    }
    ctx.SetOutput(0, out, geometry_.out_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const std::vector<int32_t> az = ZeroPoints(a_, ctx), bz = ZeroPoints(b_, ctx);
    const MatMulGeometry& g = geometry_;
    const int b_in = quantized_ ? 3 : 1;
    if (!quantized_) {
      int32_t* y = ctx.output_as<int32_t>(0);
      Dispatch8Bit(a_.dtype, b_.dtype, [&]<typename TA, typename TB>() {
        QuantizedMatMul(g, ctx.input_as<TA>(0), ctx.input_as<TB>(b_in), az, bz,
                        [&](int64_t bi, int64_t i, int64_t j, int64_t acc) {
                          y[(bi * g.m + i) * g.n + j] = static_cast<int32_t>(static_cast<uint32_t>(acc));
                        });
      });
      return Status::Ok();
    }
    std::vector<float> row_scale(static_cast<size_t>(g.m)), col_scale(static_cast<size_t>(g.n));
    const float y_scale = static_cast<float>(ScaleAt(y_, ctx, 0));
    const double y_zero = ZeroAt(y_, ctx, 0);
    for (int64_t i = 0; i < g.m; ++i) row_scale[i] = static_cast<float>(ScaleAt(a_, ctx, i));
    for (int64_t j = 0; j < g.n; ++j) col_scale[j] = static_cast<float>(ScaleAt(b_, ctx, j));
    Dispatch8Bit(y_.dtype, y_.dtype, [&]<typename TY, typename>() {
      TY* y = ctx.output_as<TY>(0);
      Dispatch8Bit(a_.dtype, b_.dtype, [&]<typename TA2, typename TB>() {
        QuantizedMatMul(g, ctx.input_as<TA2>(0), ctx.input_as<TB>(b_in), az, bz,
                        [&](int64_t bi, int64_t i, int64_t j, int64_t acc) {
                          const float v = static_cast<float>(acc) * (row_scale[i] * col_scale[j] / y_scale);
                          y[(bi * g.m + i) * g.n + j] =
                              Saturate<TY>(std::nearbyint(static_cast<double>(v)) + y_zero);
                        });
      });
    });
    return Status::Ok();
  }

 private:
  bool quantized_;
  QuantOperand a_, b_, y_;
  MatMulGeometry geometry_;
};

std::unique_ptr<Kernel> MakeQLinearMatMul() { return std::make_unique<QuantMatMulKernel>(true); }
std::unique_ptr<Kernel> MakeMatMulInteger() { return std::make_unique<QuantMatMulKernel>(false); }

// ------------------------------------------------ QLinearConv, ConvInteger

// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, optional int32 B; w's scale and zero point per-tensor or per
// output channel. ConvInteger: x, w, optional x_zero_point (per-tensor) and
// w_zero_point (per-tensor or per output channel); int32 output.
class QuantConvKernel : public Kernel {
 public:
  explicit QuantConvKernel(bool quantized) : quantized_(quantized) {}

  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    w_in_ = quantized_ ? 3 : 1;
    if (quantized_ && (ctx.num_inputs() < 8 || !ctx.has_input(1) || !ctx.has_input(4) ||
                       !ctx.has_input(6) || !ctx.has_input(7))) {
      return InvalidModel(what + "expects inputs x, x_scale, x_zero_point, w, w_scale, "
                                 "w_zero_point, y_scale, y_zero_point and an optional B");
    }
    if (!quantized_ && (ctx.num_inputs() < 2 || ctx.num_inputs() > 4)) {
      return InvalidModel(what + "expects inputs x, w and optional zero points");
    }
    x_.dtype = ctx.input(0).dtype;
    w_.dtype = ctx.input(w_in_).dtype;
    if (!Is8Bit(x_.dtype)) return UnsupportedType(ctx, 0, "int8, uint8");
    if (!Is8Bit(w_.dtype)) return UnsupportedType(ctx, w_in_, "int8, uint8");
    x_dims_ = ctx.input(0).dims;
    w_dims_ = ctx.input(w_in_).dims;
    ASSIGN_OR_RETURN(geometry_, ComputeConvGeometry(ctx, x_dims_, w_dims_));
    const int64_t channels = geometry_.out_channels;
    x_.zero_input = 2;
    w_.zero_input = quantized_ ? 5 : 3;
    RETURN_IF_ERROR(CheckParam(ctx, x_.zero_input, 1, "x_zero_point", &x_.zero_count));
    RETURN_IF_ERROR(CheckParam(ctx, w_.zero_input, channels, "w_zero_point", &w_.zero_count));
    for (const QuantOperand* q : {&x_, &w_}) {
      if (ctx.num_inputs() > q->zero_input && ctx.has_input(q->zero_input) &&
          ctx.input(q->zero_input).dtype != q->dtype) {
        return UnsupportedType(ctx, q->zero_input, DataTypeName(q->dtype));
      }
    }
    DataType out = DataType::kInt32;
    if (quantized_) {
      x_.scale_input = 1;
      w_.scale_input = 4;
      y_.scale_input = 6;
      y_.zero_input = 7;
      RETURN_IF_ERROR(CheckParam(ctx, 1, 1, "x_scale", &x_.scale_count));
      RETURN_IF_ERROR(CheckParam(ctx, 4, channels, "w_scale", &w_.scale_count));
      RETURN_IF_ERROR(CheckParam(ctx, 6, 1, "y_scale", &y_.scale_count));
      RETURN_IF_ERROR(CheckParam(ctx, 7, 1, "y_zero_point", &y_.zero_count));
      for (QuantOperand* q : {&x_, &w_, &y_}) {
        q->scale_type = ctx.input(q->scale_input).dtype;
        if (!IsScaleType(q->scale_type)) return UnsupportedType(ctx, q->scale_input, "float, float16, bfloat16");
      }
      y_.dtype = out = ctx.input(7).dtype;
      if (!Is8Bit(out)) return UnsupportedType(ctx, 7, "int8, uint8");
      has_bias_ = ctx.num_inputs() > 8 && ctx.has_input(8);
      if (has_bias_) {
        const TensorDesc& b = ctx.input(8);
        if (b.dtype != DataType::kInt32) return UnsupportedType(ctx, 8, "int32");
        if (b.num_elements() != channels || b.dims.size() != 1) {
          return InvalidModel(what + "B has shape " + ShapeToString(b.dims) + ", expected [" +
                              std::to_string(channels) + "]");
        }
      }
    }
    ctx.SetOutput(0, out, geometry_.output_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const std::vector<int32_t> wz = ZeroPoints(w_, ctx);
    const int32_t xz = ZeroPoints(x_, ctx)[0];
    std::vector<float> multiplier;
    float y_zero = 0.0f;
    if (quantized_) {
      const double xs = ScaleAt(x_, ctx, 0), ys = ScaleAt(y_, ctx, 0);
      for (int64_t m = 0; m < geometry_.out_channels; ++m) {
        multiplier.push_back(static_cast<float>(xs) * static_cast<float>(ScaleAt(w_, ctx, m)) /
                             static_cast<float>(ys));
      }
      y_zero = static_cast<float>(ZeroAt(y_, ctx, 0));
    }
    const int32_t* bias = has_bias_ ? ctx.input_as<int32_t>(8) : nullptr;
    Dispatch8Bit(x_.dtype, w_.dtype, [&]<typename TX, typename TW>() {
      auto emit_int = [&](int64_t at, int64_t, int64_t acc) {
        ctx.output_as<int32_t>(0)[at] = static_cast<int32_t>(static_cast<uint32_t>(acc));
      };
      if (!quantized_) {
        Run(ctx.input_as<TX>(0), ctx.input_as<TW>(w_in_), xz, wz, emit_int);
        return;
      }
      Dispatch8Bit(y_.dtype, y_.dtype, [&]<typename TY, typename>() {
        TY* y = ctx.output_as<TY>(0);
        Run(ctx.input_as<TX>(0), ctx.input_as<TW>(w_in_), xz, wz,
            [&](int64_t at, int64_t m, int64_t acc) {
              if (bias) acc += bias[m];
              const float v = static_cast<float>(acc) * multiplier[m];
              y[at] = Saturate<TY>(std::nearbyint(static_cast<double>(v)) + y_zero);
            });
      });
    });
    return Status::Ok();
  }

 private:
  // Direct convolution over up to 3 spatial axes (missing ones are 1);
  // padded positions contribute nothing (they hold the zero point).
  template <typename TX, typename TW, typename Emit>
  void Run(const TX* x, const TW* w, int32_t xz, const std::vector<int32_t>& wz, Emit&& emit) const {
    const ConvGeometry& g = geometry_;
    const size_t spatial = x_dims_.size() - 2;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
            dl[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
    for (size_t d = 0; d < spatial; ++d) {
      const size_t at = 3 - spatial + d;
      in[at] = x_dims_[d + 2];
      out[at] = g.output_dims[d + 2];
      k[at] = g.kernel[d];
      s[at] = g.strides[d];
      dl[at] = g.dilations[d];
      pad[at] = g.pads_begin[d];
    }
    const int64_t batch = x_dims_[0], channels = x_dims_[1], m_total = g.out_channels;
    const int64_t c_per = channels / g.group, m_per = m_total / g.group;
    const int64_t in_plane = in[0] * in[1] * in[2], k_plane = k[0] * k[1] * k[2];
    const int64_t out_plane = out[0] * out[1] * out[2];
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t m = 0; m < m_total; ++m) {
        const int64_t grp = m / m_per;
        const int32_t mz = wz.size() == 1 ? wz[0] : wz[m];
        const TW* wm = w + m * c_per * k_plane;
        for (int64_t o0 = 0; o0 < out[0]; ++o0)
          for (int64_t o1 = 0; o1 < out[1]; ++o1)
            for (int64_t o2 = 0; o2 < out[2]; ++o2) {
              int64_t acc = 0;
              for (int64_t c = 0; c < c_per; ++c) {
                const TX* xc = x + (n * channels + grp * c_per + c) * in_plane;
                const TW* wc = wm + c * k_plane;
                for (int64_t k0 = 0; k0 < k[0]; ++k0) {
                  const int64_t i0 = o0 * s[0] - pad[0] + k0 * dl[0];
                  if (i0 < 0 || i0 >= in[0]) continue;
                  for (int64_t k1 = 0; k1 < k[1]; ++k1) {
                    const int64_t i1 = o1 * s[1] - pad[1] + k1 * dl[1];
                    if (i1 < 0 || i1 >= in[1]) continue;
                    for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                      const int64_t i2 = o2 * s[2] - pad[2] + k2 * dl[2];
                      if (i2 < 0 || i2 >= in[2]) continue;
                      acc += (static_cast<int64_t>(xc[(i0 * in[1] + i1) * in[2] + i2]) - xz) *
                             (static_cast<int64_t>(wc[(k0 * k[1] + k1) * k[2] + k2]) - mz);
                    }
                  }
                }
              }
              emit((n * m_total + m) * out_plane + (o0 * out[1] + o1) * out[2] + o2, m, acc);
            }
      }
    }
  }

  bool quantized_;
  int w_in_ = 3;
  bool has_bias_ = false;
  QuantOperand x_, w_, y_;
  std::vector<int64_t> x_dims_, w_dims_;
  ConvGeometry geometry_;
};

std::unique_ptr<Kernel> MakeQLinearConv() { return std::make_unique<QuantConvKernel>(true); }
std::unique_ptr<Kernel> MakeConvInteger() { return std::make_unique<QuantConvKernel>(false); }

}  // namespace

void RegisterQuantKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kQuantizeLinear, MakeKernel<QuantizeKernel>);
  registry.Register(ir::OpKind::kDequantizeLinear, MakeKernel<DequantizeKernel>);
  registry.Register(ir::OpKind::kDynamicQuantizeLinear, MakeKernel<DynamicQuantizeKernel>);
  registry.Register(ir::OpKind::kQLinearMatMul, MakeQLinearMatMul);
  registry.Register(ir::OpKind::kMatMulInteger, MakeMatMulInteger);
  registry.Register(ir::OpKind::kQLinearConv, MakeQLinearConv);
  registry.Register(ir::OpKind::kConvInteger, MakeConvInteger);
}

}  // namespace bnfold::onednn
