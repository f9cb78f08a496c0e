// The quantization family's matrix products: QLinearMatMul and
// MatMulInteger, exact integer loops (see quantize.cc for why not oneDNN);
// registered by RegisterQuantKernels (quantize.cc).
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

// ------------------------------------------- QLinearMatMul, MatMulInteger

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
    RETURN_IF_ERROR(CheckQuantParam(ctx, a_.zero_input, geometry_.m, "a_zero_point", &a_.zero_count));
    RETURN_IF_ERROR(CheckQuantParam(ctx, b_.zero_input, geometry_.n, "b_zero_point", &b_.zero_count));
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
      RETURN_IF_ERROR(CheckQuantParam(ctx, 1, geometry_.m, "a_scale", &a_.scale_count));
      RETURN_IF_ERROR(CheckQuantParam(ctx, 4, geometry_.n, "b_scale", &b_.scale_count));
      RETURN_IF_ERROR(CheckQuantParam(ctx, 6, 1, "y_scale", &y_.scale_count));
      RETURN_IF_ERROR(CheckQuantParam(ctx, 7, 1, "y_zero_point", &y_.zero_count));
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

}  // namespace

void RegisterQuantMatMulKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kQLinearMatMul, MakeQLinearMatMul);
  registry.Register(ir::OpKind::kMatMulInteger, MakeMatMulInteger);
}

}  // namespace bnfold::onednn
