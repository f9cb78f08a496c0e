// Slice: starts, ends, axes and steps (attributes before opset 10, inputs
// since), clamped as the spec says; the input read through per-axis offset
// tables, built at run time when the operands are.
#include <algorithm>
#include <span>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/axis_map_kernel.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

class SliceKernel : public AxisMapKernel {
  struct AxisSlice {
    int64_t start = 0, step = 1, count = 0;
  };

  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const ir::Node& node = ctx.node();
    in_dims_ = ctx.input(0).dims;
    strides_ = RowMajorStrides(in_dims_);
    const size_t rank = in_dims_.size();
    if (rank > kMaxOperandLength) return Unsupported(ctx.Describe() + ": rank is too large");
    if (node.opset() < 10) {
      ASSIGN_OR_RETURN(std::vector<int64_t> starts, node.GetInts("starts", {}));
      ASSIGN_OR_RETURN(std::vector<int64_t> ends, node.GetInts("ends", {}));
      ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.GetInts("axes", {}));
      starts_ = IntOperand(std::move(starts));
      ends_ = IntOperand(std::move(ends));
      axes_ = IntOperand(std::move(axes));
    } else {
      ASSIGN_OR_RETURN(starts_, IntOperand::FromInput(ctx, 1, "starts"));
      ASSIGN_OR_RETURN(ends_, IntOperand::FromInput(ctx, 2, "ends"));
      if (ctx.has_input(3)) {
        ASSIGN_OR_RETURN(axes_, IntOperand::FromInput(ctx, 3, "axes"));
      }
      if (ctx.has_input(4)) {
        ASSIGN_OR_RETURN(steps_, IntOperand::FromInput(ctx, 4, "steps"));
      }
    }
    if (starts_.is_constant() && ends_.is_constant() && axes_.is_constant() &&
        steps_.is_constant()) {
      slices_.resize(rank);
      RETURN_IF_ERROR(Resolve(starts_.values(), ends_.values(), axes_.values(), steps_.values(),
                              slices_.data())
                          .WithContext(ctx.Describe()));
      std::vector<int64_t> dims(rank);
      for (size_t i = 0; i < rank; ++i) dims[i] = slices_[i].count;
      return dims;
    }
    tables_at_run_time_ = true;
    ASSIGN_OR_RETURN(std::vector<int64_t> dims,
                     DeclaredOutputDims(ctx, 0, "starts, ends, axes and steps"));
    if (dims.size() != rank) {
      return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
    }
    return dims;
  }

  // The spec's clamping: negative indices count from the end, then starts
  // and ends are clamped to the axis (one before it for negative steps).
  static AxisSlice Clamp(int64_t dim, int64_t start, int64_t end, int64_t step) {
    AxisSlice s;
    s.step = step;
    if (dim == 0) return s;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      s.count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      // -step may be 2^63: compute in unsigned.
      const uint64_t span = start > end ? static_cast<uint64_t>(start - end) : 0;
      const uint64_t stride = 0 - static_cast<uint64_t>(step);
      s.count = span ? static_cast<int64_t>((span - 1) / stride + 1) : 0;
    }
    s.start = start;
    return s;
  }

  // Per-axis slices from the operands (axes and steps may be empty: all
  // leading axes, steps of 1). Bare errors.
  Status Resolve(std::span<const int64_t> starts, std::span<const int64_t> ends,
                 std::span<const int64_t> axes, std::span<const int64_t> steps,
                 AxisSlice* out) const {
    const int64_t rank = static_cast<int64_t>(in_dims_.size());
    if (ends.size() != starts.size() || (!axes.empty() && axes.size() != starts.size()) ||
        (!steps.empty() && steps.size() != starts.size())) {
      return InvalidModel("starts, ends, axes and steps differ in length");
    }
    if (axes.empty() && starts.size() > in_dims_.size()) {
      return InvalidModel("more starts than axes");
    }
    bool seen[kMaxOperandLength] = {};
    for (int64_t i = 0; i < rank; ++i) out[i] = AxisSlice{0, 1, in_dims_[i]};
    for (size_t j = 0; j < starts.size(); ++j) {
      int64_t axis = static_cast<int64_t>(j);
      if (!axes.empty()) RETURN_IF_ERROR(NormalizeAxisAt(axes[j], rank, &axis));
      if (seen[axis]) return InvalidModel("axis " + std::to_string(axis) + " is repeated");
      seen[axis] = true;
      const int64_t step = steps.empty() ? 1 : steps[j];
      if (step == 0) return InvalidModel("a step is 0");
      out[axis] = Clamp(in_dims_[axis], starts[j], ends[j], step);
    }
    return Status::Ok();
  }

  void SliceTables(const AxisSlice* slices, int64_t* const* tables) const {
    for (size_t k = 0; k < in_dims_.size(); ++k) {
      for (int64_t i = 0; i < slices[k].count; ++i) {
        tables[k][i] = (slices[k].start + i * slices[k].step) * strides_[k];
      }
    }
  }

  Status BuildTables(CompileContext&, int64_t* const* tables) override {
    SliceTables(slices_.data(), tables);
    return Status::Ok();
  }

  Status FillTablesAtRunTime(const ExecContext& ctx, int64_t* const* tables) const override {
    int64_t starts[kMaxOperandLength], ends[kMaxOperandLength], axes[kMaxOperandLength],
        steps[kMaxOperandLength], counts[kMaxOperandLength];
    AxisSlice slices[kMaxOperandLength];
    RETURN_IF_ERROR(AsInputError(Resolve(starts_.Read(ctx, starts), ends_.Read(ctx, ends),
                                         axes_.Read(ctx, axes), steps_.Read(ctx, steps),
                                         slices)));
    for (size_t k = 0; k < dims_.size(); ++k) counts[k] = slices[k].count;
    if (!std::equal(dims_.begin(), dims_.end(), counts)) {
      return OperandMismatch("starts, ends, axes and steps", {counts, dims_.size()}, dims_);
    }
    SliceTables(slices, tables);
    return Status::Ok();
  }

  std::vector<int64_t> in_dims_, strides_;
  IntOperand starts_, ends_, axes_, steps_;
  std::vector<AxisSlice> slices_;  // when all operands are constant
};

}  // namespace

void RegisterSliceKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kSlice, MakeKernel<SliceKernel>);
}

}  // namespace bnfold::onednn
