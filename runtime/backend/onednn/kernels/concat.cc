// Concat and Split: each output is a sequence of contiguous blocks of an
// input ("outer" rows of "inner" bytes around the axis), copied with
// memcpy. Split's sizes may come from a run-time input.
#include <algorithm>
#include <cstring>
#include <span>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/block_copy.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

class ConcatKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() == 0) return InvalidModel(ctx.Describe() + ": has no inputs");
    const TensorDesc& first = ctx.input(0);
    ASSIGN_OR_RETURN(const size_t element_size, MovableElementSize(ctx, 0));
    const int64_t rank = static_cast<int64_t>(first.dims.size());
    if (rank == 0) return InvalidModel(ctx.Describe() + ": cannot concatenate scalars");
    ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 1));
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, attr_axis, rank));
    std::vector<int64_t> dims = first.dims;
    dims[axis] = 0;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i)) return InvalidModel(ctx.Describe() + ": an input is omitted");
      const TensorDesc& x = ctx.input(i);
      bool same = x.dtype == first.dtype && x.dims.size() == first.dims.size();
      for (int64_t k = 0; same && k < rank; ++k) same = k == axis || x.dims[k] == first.dims[k];
      if (!same) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) + " (" +
                            DataTypeName(x.dtype) + " " + ShapeToString(x.dims) +
                            ") does not match input 0 (" + DataTypeName(first.dtype) + " " +
                            ShapeToString(first.dims) + ") off axis " + std::to_string(axis));
      }
      dims[axis] += x.dims[axis];
      chunk_bytes_.push_back(OuterInner(x.dims, axis, element_size).second *
                             static_cast<size_t>(x.dims[axis]));
    }
    RETURN_IF_ERROR(CheckOutputSize(ctx, first.dtype, dims));
    outer_ = OuterInner(dims, axis, element_size).first;
    row_bytes_ = 0;
    for (size_t b : chunk_bytes_) row_bytes_ += b;
    threads_ = ctx.threads();
    ctx.SetOutput(0, first.dtype, std::move(dims));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    char* out = static_cast<char*>(ctx.output(0));
    ForOuter(outer_, outer_ * row_bytes_, threads_, [&](int64_t o) {
      char* dst = out + o * row_bytes_;
      for (size_t i = 0; i < chunk_bytes_.size(); ++i) {
        if (chunk_bytes_[i] == 0) continue;
        std::memcpy(dst, static_cast<const char*>(ctx.input(static_cast<int>(i))) +
                             o * chunk_bytes_[i], chunk_bytes_[i]);
        dst += chunk_bytes_[i];
      }
    });
    return Status::Ok();
  }

 private:
  std::vector<size_t> chunk_bytes_;  // per input: bytes per outer index
  size_t row_bytes_ = 0;
  int64_t outer_ = 0;
  int threads_ = 1;
};

class SplitKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const ir::Node& node = ctx.node();
    const TensorDesc& x = ctx.input(0);
    ASSIGN_OR_RETURN(const size_t element_size, MovableElementSize(ctx, 0));
    ASSIGN_OR_RETURN(const int64_t attr_axis, node.GetInt("axis", 0));
    ASSIGN_OR_RETURN(const int64_t axis,
                     NormalizeAxis(ctx, attr_axis, static_cast<int64_t>(x.dims.size())));
    if (x.dims.empty()) return InvalidModel(ctx.Describe() + ": cannot split a scalar");
    const int64_t dim = x.dims[axis];
    const int64_t n = ctx.num_outputs();
    std::vector<int64_t> sizes;
    const bool split_is_input = node.opset() >= 13 || (node.opset() < 2 && ctx.has_input(1));
    if (split_is_input && ctx.has_input(1)) {
      ASSIGN_OR_RETURN(split_, IntOperand::FromInput(ctx, 1, "split"));
      if (split_.is_constant()) {
        sizes = split_.values();
      } else {
        // Fed at run time: the declared output shapes give the sizes.
        for (int i = 0; i < n; ++i) {
          ASSIGN_OR_RETURN(const std::vector<int64_t> dims, DeclaredOutputDims(ctx, i, "split"));
          if (dims.size() != x.dims.size()) {
            return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
          }
          sizes.push_back(dims[axis]);
        }
      }
    } else if (!split_is_input) {
      ASSIGN_OR_RETURN(sizes, node.GetInts("split", {}));
    }
    if (sizes.empty()) {
      ASSIGN_OR_RETURN(const int64_t parts, node.GetInt("num_outputs", n));
      if (parts != n || n <= 0) {
        return InvalidModel(ctx.Describe() + ": num_outputs " + std::to_string(parts) +
                            " but the node has " + std::to_string(n) + " outputs");
      }
      // Opset 18 allows uneven parts (the last one smaller); before, the
      // axis must divide evenly.
      if (node.opset() < 18 && dim % n != 0) {
        return InvalidModel(ctx.Describe() + ": axis of size " + std::to_string(dim) +
                            " does not split into " + std::to_string(n) + " equal parts");
      }
      const int64_t part = (dim + n - 1) / n;
      for (int64_t i = 0; i < n; ++i) sizes.push_back(std::clamp<int64_t>(dim - i * part, 0, part));
    }
    int64_t total = 0;
    for (int64_t s : sizes) {
      if (s < 0) return InvalidModel(ctx.Describe() + ": a split size is negative");
      total += s;
    }
    if (static_cast<int64_t>(sizes.size()) != n || total != dim) {
      return InvalidModel(ctx.Describe() + ": split " + ShapeToString(sizes) + " does not cut " +
                          std::to_string(dim) + " into " + std::to_string(n) + " outputs");
    }
    sizes_ = sizes;
    const auto [outer, inner] = OuterInner(x.dims, axis, element_size);
    outer_ = outer;
    row_bytes_ = inner * static_cast<size_t>(dim);
    size_t offset = 0;
    for (int64_t i = 0; i < n; ++i) {
      chunk_offsets_.push_back(offset);
      chunk_bytes_.push_back(inner * static_cast<size_t>(sizes[i]));
      offset += chunk_bytes_.back();
      std::vector<int64_t> dims = x.dims;
      dims[axis] = sizes[i];
      if (ctx.has_output(static_cast<int>(i))) ctx.SetOutput(static_cast<int>(i), x.dtype, dims);
    }
    threads_ = ctx.threads();
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    if (!split_.is_constant()) {
      int64_t buffer[kMaxOperandLength];
      const std::span<const int64_t> split = split_.Read(ctx, buffer);
      if (!std::equal(split.begin(), split.end(), sizes_.begin(), sizes_.end())) {
        return InvalidArgument("split " + ShapeToString({split.begin(), split.end()}) +
                               " differs from the declared output sizes " +
                               ShapeToString(sizes_));
      }
    }
    const char* in = static_cast<const char*>(ctx.input(0));
    ForOuter(outer_, outer_ * row_bytes_, threads_, [&](int64_t o) {
      for (size_t i = 0; i < chunk_bytes_.size(); ++i) {
        char* out = static_cast<char*>(ctx.output(static_cast<int>(i)));
        if (out == nullptr || chunk_bytes_[i] == 0) continue;
        std::memcpy(out + o * chunk_bytes_[i], in + o * row_bytes_ + chunk_offsets_[i],
                    chunk_bytes_[i]);
      }
    });
    return Status::Ok();
  }

 private:
  IntOperand split_;
  std::vector<int64_t> sizes_;
  std::vector<size_t> chunk_offsets_, chunk_bytes_;  // per output, within a row
  size_t row_bytes_ = 0;
  int64_t outer_ = 0;
  int threads_ = 1;
};

}  // namespace

void RegisterConcatKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kConcat, MakeKernel<ConcatKernel>);
  registry.Register(ir::OpKind::kSplit, MakeKernel<SplitKernel>);
}

}  // namespace bnfold::onednn
