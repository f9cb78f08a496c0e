// Pad: constant, reflect, edge and wrap modes (pads and value as attributes
// before opset 11, inputs since); the input read through per-axis offset
// tables in which a padded position reads the fill value.
#include <algorithm>
#include <cstring>
#include <span>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/axis_map_kernel.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

class PadKernel : public AxisMapKernel {
  enum class Mode { kConstant, kReflect, kEdge, kWrap };

  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const ir::Node& node = ctx.node();
    in_dims_ = ctx.input(0).dims;
    strides_ = RowMajorStrides(in_dims_);
    if (in_dims_.size() > kMaxOperandLength) {
      return Unsupported(ctx.Describe() + ": rank is too large");
    }
    ASSIGN_OR_RETURN(const std::string mode, node.GetString("mode", "constant"));
    if (mode == "constant") mode_ = Mode::kConstant;
    else if (mode == "reflect") mode_ = Mode::kReflect;
    else if (mode == "edge") mode_ = Mode::kEdge;
    else if (mode == "wrap" && node.opset() >= 19) mode_ = Mode::kWrap;
    else return InvalidModel(ctx.Describe() + ": unknown mode '" + mode + "'");

    double value = 0.0;
    if (node.opset() < 11) {
      ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                       node.GetInts(node.opset() < 2 ? "paddings" : "pads", {}));
      pads_ = IntOperand(std::move(pads));
      ASSIGN_OR_RETURN(value, node.GetFloat("value", 0.0f));
    } else {
      ASSIGN_OR_RETURN(pads_, IntOperand::FromInput(ctx, 1, "pads"));
      if (ctx.has_input(2)) {
        if (ctx.input(2).dtype != ctx.input(0).dtype || ctx.input(2).num_elements() != 1) {
          return InvalidModel(ctx.Describe() + ": constant_value must be one element of the "
                              "data's type");
        }
        fill_from_input_ = true;
      }
      if (ctx.has_input(3)) {
        ASSIGN_OR_RETURN(axes_, IntOperand::FromInput(ctx, 3, "axes"));
      }
    }
    if (!fill_from_input_) {
      // The attribute value, stored in the data's type.
      ASSIGN_OR_RETURN(Tensor fill, Tensor::Allocate(ctx.input(0).dtype, {}));
      fill.SetFromDouble(0, value);
      std::memcpy(fill_, fill.data(), fill.byte_size());
    }
    if (!pads_.is_constant() || !axes_.is_constant()) {
      tables_at_run_time_ = true;
      ASSIGN_OR_RETURN(std::vector<int64_t> dims, DeclaredOutputDims(ctx, 0, "pads"));
      if (dims.size() != in_dims_.size()) {
        return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
      }
      return dims;
    }
    begin_.resize(in_dims_.size());
    std::vector<int64_t> dims(in_dims_.size());
    RETURN_IF_ERROR(Resolve(pads_.values(), axes_.values(), begin_.data(), dims.data())
                        .WithContext(ctx.Describe()));
    return dims;
  }

  // Leading pads and output dims from the operands (axes empty: all).
  Status Resolve(std::span<const int64_t> pads, std::span<const int64_t> axes, int64_t* begin,
                 int64_t* dims) const {
    const int64_t rank = static_cast<int64_t>(in_dims_.size());
    const int64_t n = axes.empty() ? rank : static_cast<int64_t>(axes.size());
    if (static_cast<int64_t>(pads.size()) != 2 * n) {
      return InvalidModel(std::to_string(pads.size()) + " pads for " + std::to_string(n) +
                          " axes");
    }
    bool seen[kMaxOperandLength] = {};
    std::copy(in_dims_.begin(), in_dims_.end(), dims);
    std::fill(begin, begin + rank, 0);
    for (int64_t j = 0; j < n; ++j) {
      int64_t axis = j;
      if (!axes.empty()) RETURN_IF_ERROR(NormalizeAxisAt(axes[j], rank, &axis));
      if (seen[axis]) return InvalidModel("axis " + std::to_string(axis) + " is repeated");
      seen[axis] = true;
      const int64_t b = pads[j], e = pads[j + n];
      constexpr int64_t kLimit = int64_t{1} << 48;  // keeps the sums exact
      if (b < -kLimit || b > kLimit || e < -kLimit || e > kLimit ||
          in_dims_[axis] + b + e < 0) {
        return InvalidModel("pads " + std::to_string(b) + ", " + std::to_string(e) +
                            " do not fit axis " + std::to_string(axis) + " of size " +
                            std::to_string(in_dims_[axis]));
      }
      begin[axis] = b;
      dims[axis] = in_dims_[axis] + b + e;
      if (mode_ != Mode::kConstant && in_dims_[axis] == 0 && dims[axis] > 0) {
        return InvalidModel("only constant mode can pad the empty axis " +
                            std::to_string(axis));
      }
    }
    return Status::Ok();
  }

  // The input index output index `i` (relative to the unpadded start) reads.
  int64_t SourceIndex(int64_t i, int64_t dim) const {
    if (i >= 0 && i < dim) return i;
    switch (mode_) {
      case Mode::kConstant: return AxisMapCopy::kOutside;
      case Mode::kEdge: return i < 0 ? 0 : dim - 1;
      case Mode::kWrap: return (i % dim + dim) % dim;
      case Mode::kReflect: {
        if (dim == 1) return 0;
        const int64_t period = 2 * (dim - 1);  // as numpy.pad: reflect repeatedly
        const int64_t m = (i % period + period) % period;
        return m < dim ? m : period - m;
      }
    }
    return AxisMapCopy::kOutside;
  }

  void PadTables(const int64_t* begin, int64_t* const* tables) const {
    for (size_t k = 0; k < dims_.size(); ++k) {
      for (int64_t o = 0; o < dims_[k]; ++o) {
        const int64_t i = SourceIndex(o - begin[k], in_dims_[k]);
        tables[k][o] = i == AxisMapCopy::kOutside ? i : i * strides_[k];
      }
    }
  }

  Status BuildTables(CompileContext&, int64_t* const* tables) override {
    PadTables(begin_.data(), tables);
    return Status::Ok();
  }

  Status FillTablesAtRunTime(const ExecContext& ctx, int64_t* const* tables) const override {
    int64_t pads[kMaxOperandLength], axes[kMaxOperandLength], begin[kMaxOperandLength],
        dims[kMaxOperandLength];
    RETURN_IF_ERROR(AsInputError(Resolve(pads_.Read(ctx, pads), axes_.Read(ctx, axes), begin,
                                         dims)));
    if (!std::equal(dims_.begin(), dims_.end(), dims)) {
      return OperandMismatch("pads", {dims, dims_.size()}, dims_);
    }
    PadTables(begin, tables);
    return Status::Ok();
  }

  const void* Fill(const ExecContext& ctx) const override {
    return fill_from_input_ ? ctx.input(2) : fill_;
  }

  Mode mode_ = Mode::kConstant;
  std::vector<int64_t> in_dims_, strides_;
  IntOperand pads_, axes_;
  std::vector<int64_t> begin_;  // when the operands are constant
  bool fill_from_input_ = false;
  alignas(16) unsigned char fill_[16] = {};
};

}  // namespace

void RegisterPadKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kPad, MakeKernel<PadKernel>);
}

}  // namespace bnfold::onednn
