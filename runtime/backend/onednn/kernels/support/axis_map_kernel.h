// The base of the kernels whose output 0 is input 0 read through per-axis
// offset tables (AxisMapCopy, axis_map.h): Transpose, DepthToSpace,
// SpaceToDepth, Slice, Tile, Pad. A kernel says its output dims and fills
// the tables; the base checks sizes, builds the copy, and rebuilds the
// tables per run when they depend on run-time operands.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

using Offsets = std::vector<std::vector<int64_t>>;

// Offset tables sized by `dims`, and pointers to them.
struct Tables {
  explicit Tables(const std::vector<int64_t>& dims) : offsets(dims.size()) {
    for (size_t k = 0; k < dims.size(); ++k) {
      offsets[k].resize(dims[k]);
      pointers.push_back(offsets[k].data());
    }
  }
  Offsets offsets;
  std::vector<int64_t*> pointers;
};

// Output 0 is input 0 read through per-axis offset tables: built once at
// compile time, or on every run when they depend on a run-time operand
// (then in per-context state, so Execute stays allocation-free).
class AxisMapKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(element_size_, MovableElementSize(ctx, 0));
    ASSIGN_OR_RETURN(dims_, OutputDims(ctx));
    RETURN_IF_ERROR(CheckOutputSize(ctx, ctx.input(0).dtype, dims_));
    if (table_dims_.empty()) table_dims_ = dims_;
    if (!tables_at_run_time_) {
      Tables tables(table_dims_);
      RETURN_IF_ERROR(BuildTables(ctx, tables.pointers.data()));
      RETURN_IF_ERROR(copy_.Init(std::move(tables.offsets), element_size_)
                          .WithContext(ctx.Describe()));
    } else if (dims_.size() > AxisMapCopy::kMaxAxes) {
      return Unsupported(ctx.Describe() + ": rank " + std::to_string(dims_.size()) + " is above " +
                         std::to_string(AxisMapCopy::kMaxAxes));
    }
    threads_ = ctx.threads();
    ctx.SetOutput(0, ctx.input(0).dtype, dims_);
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine&) const override {
    if (!tables_at_run_time_) return nullptr;
    auto state = std::make_unique<RunTimeTables>(table_dims_);
    return state;
  }

  Status Execute(ExecContext& ctx) const override {
    if (!tables_at_run_time_) {
      RETURN_IF_ERROR(CheckAtRunTime(ctx));
      copy_.Run(ctx.input(0), ctx.output(0), Fill(ctx), threads_);
      return Status::Ok();
    }
    auto& state = *static_cast<RunTimeTables*>(ctx.state());
    RETURN_IF_ERROR(FillTablesAtRunTime(ctx, state.tables.pointers.data()));
    RETURN_IF_ERROR(state.copy.InitView(table_dims_.size(), state.tables.pointers.data(),
                                        table_dims_.data(), element_size_));
    state.copy.Run(ctx.input(0), ctx.output(0), Fill(ctx), threads_);
    return Status::Ok();
  }

 protected:
  // Output dims first, so their size is checked before tables are sized by
  // them. Sets tables_at_run_time_ when the tables need run-time operands.
  virtual StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) = 0;
  // Fills tables[k][0..dims_[k]) at compile time.
  virtual Status BuildTables(CompileContext& ctx, int64_t* const* tables) = 0;
  // Fills them from the run-time operands (bare errors).
  virtual Status FillTablesAtRunTime(const ExecContext& ctx, int64_t* const* tables) const {
    (void)ctx, (void)tables;
    return Internal("no run-time tables");
  }
  // Checks run-time operands the compile-time tables depend on.
  virtual Status CheckAtRunTime(const ExecContext& ctx) const {
    (void)ctx;
    return Status::Ok();
  }
  // The element that kOutside offsets read.
  virtual const void* Fill(const ExecContext& ctx) const {
    (void)ctx;
    return nullptr;
  }

  std::vector<int64_t> dims_;
  // Dims the tables index, when not the output's (a finer view of it).
  std::vector<int64_t> table_dims_;
  bool tables_at_run_time_ = false;

 private:
  struct RunTimeTables : KernelState {
    explicit RunTimeTables(const std::vector<int64_t>& dims) : tables(dims) {}
    Tables tables;
    AxisMapCopy copy;
  };

  AxisMapCopy copy_;
  size_t element_size_ = 0;
  int threads_ = 1;
};

}  // namespace bnfold::onednn
