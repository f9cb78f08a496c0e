#include "runtime/backend/onednn/kernels/support/kernel_util.h"

#include "runtime/ir/tensor_util.h"

namespace bnfold::onednn {

StatusOr<int64_t> NormalizeAxis(const CompileContext& ctx, int64_t axis, int64_t rank) {
  const int64_t lo = -std::max<int64_t>(rank, 1), hi = std::max<int64_t>(rank, 1) - 1;
  if (axis < lo || axis > hi) {
    return InvalidModel(ctx.Describe() + ": axis " + std::to_string(axis) +
                        " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

StatusOr<int64_t> ElementCount(const CompileContext& ctx, const std::vector<int64_t>& dims) {
  StatusOr<int64_t> count = CheckedElementCount(dims);
  if (!count.ok()) return count.status().WithContext(ctx.Describe());
  return count;
}

StatusOr<std::vector<int64_t>> BroadcastShapes(const CompileContext& ctx,
                                               const std::vector<int64_t>& a,
                                               const std::vector<int64_t>& b) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return InvalidModel(ctx.Describe() + ": shapes " + ShapeToString(a) + " and " +
                          ShapeToString(b) + " cannot be broadcast together");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> RowMajorStrides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return strides;
}

std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& dims,
                                      const std::vector<int64_t>& out_dims) {
  std::vector<int64_t> strides(out_dims.size(), 0);
  const std::vector<int64_t> own = RowMajorStrides(dims);
  const size_t offset = out_dims.size() - dims.size();
  for (size_t i = 0; i < dims.size(); ++i) {
    strides[offset + i] = dims[i] == 1 ? 0 : own[i];
  }
  return strides;
}

StatusOr<std::vector<int64_t>> ConstantInts(const CompileContext& ctx, int i,
                                            const std::string& what) {
  const Tensor* t = ctx.constant_input(i);
  if (t == nullptr) {
    return Unsupported(ctx.Describe() + ": " + what +
                       " must be known when the model is compiled (a constant, "
                       "or computed from constants and input shapes)");
  }
  StatusOr<std::vector<int64_t>> v = ir::ToInt64Vector(*t);
  if (!v.ok()) return v.status().WithContext(ctx.Describe() + ": " + what);
  return v;
}

StatusOr<std::vector<double>> ConstantDoubles(const CompileContext& ctx, int i,
                                              const std::string& what) {
  const Tensor* t = ctx.constant_input(i);
  if (t == nullptr) {
    return Unsupported(ctx.Describe() + ": " + what +
                       " must be known when the model is compiled");
  }
  return ir::ToDoubleVector(*t);
}

Status RequireInput0(const CompileContext& ctx) {
  if (ctx.num_inputs() < 1 || !ctx.has_input(0)) {
    return InvalidModel(ctx.Describe() + ": input 0 is missing");
  }
  return Status::Ok();
}

Status UnsupportedType(const CompileContext& ctx, int input, const std::string& expected) {
  return Unsupported(ctx.Describe() + ": input " + std::to_string(input) +
                     " has element type " + DataTypeName(ctx.input(input).dtype) +
                     ", supported: " + expected);
}

}  // namespace bnfold::onednn
