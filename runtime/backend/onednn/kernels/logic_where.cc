// Where(cond, x, y) of the logic family: three-way broadcasting, any element
// type; registered by RegisterLogicKernels (logic.cc).
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_broadcast.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// ---------------------------------------------------------------- Where

// out[i] = cond[i] ? x[i] : y[i], all three broadcast together. The loop
// moves elements by their size, so it takes every element type.
template <typename E>
void RunWhere(const std::vector<int64_t>& dims, const std::vector<int64_t> (&strides)[3],
              const void* cond, const void* x, const void* y, void* out) {
  const auto* c = static_cast<const uint8_t*>(cond);
  const E* in[2] = {static_cast<const E*>(x), static_cast<const E*>(y)};
  E* o = static_cast<E*>(out);
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  if (total == 0) return;
  const size_t rank = dims.size();
  const int64_t inner = rank == 0 ? 1 : dims.back();
  const int64_t sc = rank == 0 ? 0 : strides[0].back();
  const int64_t sx = rank == 0 ? 0 : strides[1].back();
  const int64_t sy = rank == 0 ? 0 : strides[2].back();
  std::vector<int64_t> index(rank, 0);
  int64_t offset[3] = {0, 0, 0};
  for (int64_t row = 0; row < total / inner; ++row) {
    for (int64_t j = 0; j < inner; ++j) {
      *o++ = c[offset[0] + j * sc] ? in[0][offset[1] + j * sx] : in[1][offset[2] + j * sy];
    }
    // Next row: odometer over the dims above the innermost one.
    for (size_t d = rank > 0 ? rank - 1 : 0; d-- > 0;) {
      for (int k = 0; k < 3; ++k) offset[k] += strides[k][d];
      if (++index[d] < dims[d]) break;
      for (int k = 0; k < 3; ++k) offset[k] -= strides[k][d] * dims[d];
      index[d] = 0;
    }
  }
}

class WhereKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() != 3) {
      return InvalidModel(ctx.Describe() + ": needs 3 inputs, has " +
                          std::to_string(ctx.num_inputs()));
    }
    for (int i = 0; i < 3; ++i) {
      if (!ctx.has_input(i)) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) + " is missing");
      }
    }
    if (ctx.input(0).dtype != DataType::kBool) return UnsupportedType(ctx, 0, "bool");
    const DataType dtype = ctx.input(1).dtype;
    if (ctx.input(2).dtype != dtype) {
      return InvalidModel(ctx.Describe() + ": Y has element type " +
                          DataTypeName(ctx.input(2).dtype) + " but X has " + DataTypeName(dtype));
    }
    switch (DataTypeSize(dtype)) {
      case 1: fn_ = &RunWhere<uint8_t>; break;
      case 2: fn_ = &RunWhere<uint16_t>; break;
      case 4: fn_ = &RunWhere<uint32_t>; break;
      case 8: fn_ = &RunWhere<uint64_t>; break;
      default: return UnsupportedType(ctx, 1, "the numeric types and bool");
    }
    ASSIGN_OR_RETURN(dims_, BroadcastShapes(ctx, ctx.input(0).dims, ctx.input(1).dims));
    ASSIGN_OR_RETURN(dims_, BroadcastShapes(ctx, dims_, ctx.input(2).dims));
    for (int k = 0; k < 3; ++k) strides_[k] = BroadcastStrides(ctx.input(k).dims, dims_);
    ctx.SetOutput(0, dtype, dims_);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    fn_(dims_, strides_, ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0));
    return Status::Ok();
  }

 private:
  using WhereFn = void (*)(const std::vector<int64_t>&, const std::vector<int64_t> (&)[3],
                           const void*, const void*, const void*, void*);
  WhereFn fn_ = nullptr;
  std::vector<int64_t> dims_;
  std::vector<int64_t> strides_[3];
};

}  // namespace

void RegisterLogicWhereKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kWhere, MakeKernel<WhereKernel>);
}

}  // namespace bnfold::onednn
