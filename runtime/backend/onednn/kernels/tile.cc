// Ops that repeat their input: Tile (whole copies along each axis) and
// Expand (numpy broadcast against a shape operand). Both read the input
// through per-axis offset tables (support/axis_map.h).
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

// Tile
class TileKernel : public AxisMapKernel {
  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    if (ctx.node().opset() < 6) {
      return Unsupported(ctx.Describe() + ": Tile before opset 6 (tiles/axis inputs)");
    }
    in_dims_ = ctx.input(0).dims;
    ASSIGN_OR_RETURN(repeats_, IntOperand::FromInput(ctx, 1, "repeats"));
    if (repeats_.length() != in_dims_.size()) {
      return InvalidModel(ctx.Describe() + ": " + std::to_string(repeats_.length()) +
                          " repeats for a rank-" + std::to_string(in_dims_.size()) + " input");
    }
    if (!repeats_.is_constant()) return DeclaredOutputDims(ctx, 0, "repeats");
    int64_t dims[kMaxOperandLength];
    RETURN_IF_ERROR(TiledDims(repeats_.values(), dims).WithContext(ctx.Describe()));
    return std::vector<int64_t>(dims, dims + in_dims_.size());
  }

  Status TiledDims(std::span<const int64_t> repeats, int64_t* dims) const {
    for (size_t i = 0; i < in_dims_.size(); ++i) {
      if (repeats[i] < 0) return InvalidModel("a repeat is negative");
      if (__builtin_mul_overflow(in_dims_[i], repeats[i], &dims[i])) {
        return InvalidModel("the tiled shape overflows");
      }
    }
    return Status::Ok();
  }

  Status BuildTables(CompileContext& ctx, int64_t* const* tables) override {
    if (dims_.size() != in_dims_.size()) {
      return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
    }
    const std::vector<int64_t> strides = RowMajorStrides(in_dims_);
    for (size_t k = 0; k < dims_.size(); ++k) {
      if (in_dims_[k] == 0 ? dims_[k] != 0 : dims_[k] % in_dims_[k] != 0) {
        return InvalidModel(ctx.Describe() + ": declared output " + ShapeToString(dims_) +
                            " is not a tiling of " + ShapeToString(in_dims_));
      }
      for (int64_t i = 0; i < dims_[k]; ++i) tables[k][i] = (i % in_dims_[k]) * strides[k];
    }
    return Status::Ok();
  }

  Status CheckAtRunTime(const ExecContext& ctx) const override {
    if (repeats_.is_constant()) return Status::Ok();
    int64_t buffer[kMaxOperandLength], dims[kMaxOperandLength];
    RETURN_IF_ERROR(AsInputError(TiledDims(repeats_.Read(ctx, buffer), dims)));
    if (!std::equal(dims_.begin(), dims_.end(), dims)) {
      return OperandMismatch("repeats", {dims, dims_.size()}, dims_);
    }
    return Status::Ok();
  }

  std::vector<int64_t> in_dims_;
  IntOperand repeats_;
};

// Numpy broadcast of `a` and `b` into `out` (room for kMaxOperandLength);
// bare error when incompatible.
Status Broadcast(std::span<const int64_t> a, std::span<const int64_t> b, int64_t* out,
                 size_t* rank) {
  *rank = std::max(a.size(), b.size());
  if (*rank > kMaxOperandLength) return Unsupported("rank is too large");
  for (size_t i = 0; i < *rank; ++i) {
    const int64_t da = i < *rank - a.size() ? 1 : a[i - (*rank - a.size())];
    const int64_t db = i < *rank - b.size() ? 1 : b[i - (*rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return InvalidModel("shapes " + ShapeToString({a.begin(), a.end()}) + " and " +
                          ShapeToString({b.begin(), b.end()}) + " cannot be broadcast together");
    }
    out[i] = da == 1 ? db : da;
  }
  return Status::Ok();
}

// Expand: numpy broadcast of the input against the shape operand.
class ExpandKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    ASSIGN_OR_RETURN(const size_t element_size, MovableElementSize(ctx, 0));
    ASSIGN_OR_RETURN(shape_, IntOperand::FromInput(ctx, 1, "the shape input"));
    in_dims_ = x.dims;
    if (shape_.is_constant()) {
      int64_t out[kMaxOperandLength];
      size_t rank = 0;
      RETURN_IF_ERROR(Broadcast(in_dims_, shape_.values(), out, &rank).WithContext(ctx.Describe()));
      dims_.assign(out, out + rank);
    } else {
      ASSIGN_OR_RETURN(dims_, DeclaredOutputDims(ctx, 0, "the shape input"));
      if (dims_.size() < in_dims_.size()) {
        return InvalidModel(ctx.Describe() + ": declared output rank is below the input's");
      }
    }
    RETURN_IF_ERROR(CheckOutputSize(ctx, x.dtype, dims_));
    // Strides only: a table per output axis would hold 8 bytes per output
    // index, 16 GiB for a 1-D Expand to 2^31 elements, before the plan's
    // memory cap could see it.
    RETURN_IF_ERROR(copy_.InitStrided(dims_, BroadcastStrides(x.dims, dims_), element_size)
                        .WithContext(ctx.Describe()));
    threads_ = ctx.threads();
    ctx.SetOutput(0, x.dtype, dims_);
    return Status::Ok();
  }
  Status Execute(ExecContext& ctx) const override {
    if (!shape_.is_constant()) {
      int64_t buffer[kMaxOperandLength], out[kMaxOperandLength];
      size_t rank = 0;
      RETURN_IF_ERROR(AsInputError(Broadcast(in_dims_, shape_.Read(ctx, buffer), out, &rank)));
      if (!std::equal(out, out + rank, dims_.begin(), dims_.end())) {
        return OperandMismatch("the shape input", {out, rank}, dims_);
      }
    }
    copy_.Run(ctx.input(0), ctx.output(0), nullptr, threads_);
    return Status::Ok();
  }

 private:
  IntOperand shape_;
  std::vector<int64_t> in_dims_, dims_;
  AxisMapCopy copy_;
  int threads_ = 1;
};

}  // namespace

void RegisterTileKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kTile, MakeKernel<TileKernel>);
  registry.Register(ir::OpKind::kExpand, MakeKernel<ExpandKernel>);
}

}  // namespace bnfold::onednn
