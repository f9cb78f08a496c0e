// Concat, Split and Gather: each output is a sequence of contiguous blocks
// of an input ("outer" rows of "inner" bytes), copied with memcpy. Gather's
// indices arrive at run time and are bounds-checked before any copy.
#include "runtime/backend/onednn/kernels/block_copy.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <tuple>

#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Below this many bytes a copy runs on one thread.
constexpr size_t kParallelBytes = size_t{1} << 16;

// Splits `dims` around `axis` into (outer count, bytes of one inner block).
std::pair<int64_t, size_t> OuterInner(const std::vector<int64_t>& dims, int64_t axis,
                                      size_t element_size) {
  int64_t outer = 1;
  size_t inner = element_size;
  for (int64_t i = 0; i < static_cast<int64_t>(dims.size()); ++i) {
    if (i < axis) outer *= dims[i];
    if (i > axis) inner *= static_cast<size_t>(dims[i]);
  }
  return {outer, inner};
}

// Runs fn(o) for o in [0, outer), on several threads when `bytes` is large.
template <typename Fn>
void ForOuter(int64_t outer, size_t bytes, int threads, Fn&& fn) {
  if (bytes < kParallelBytes || threads <= 1 || outer <= 1) {
    for (int64_t o = 0; o < outer; ++o) fn(o);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t o = 0; o < outer; ++o) fn(o);
}

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

// ------------------------------------------------------------------- Gather

// Gather: indices arrive at run time, so they are checked there (or at
// compile time when constant) and an out-of-range one is an error, not a read
// outside the buffer.
class GatherKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& data = ctx.input(0);
    const TensorDesc& indices = ctx.input(1);
    ASSIGN_OR_RETURN(const size_t element_size, MovableElementSize(ctx, 0));
    if (indices.dtype != DataType::kInt32 && indices.dtype != DataType::kInt64) {
      return UnsupportedType(ctx, 1, "int32, int64");
    }
    if (data.dims.empty()) return InvalidModel(ctx.Describe() + ": data is a scalar");
    ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
    ASSIGN_OR_RETURN(axis_, NormalizeAxis(ctx, attr_axis, static_cast<int64_t>(data.dims.size())));
    std::vector<int64_t> dims(data.dims.begin(), data.dims.begin() + axis_);
    dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
    dims.insert(dims.end(), data.dims.begin() + axis_ + 1, data.dims.end());
    RETURN_IF_ERROR(CheckOutputSize(ctx, data.dtype, dims));
    std::tie(outer_, inner_bytes_) = OuterInner(data.dims, axis_, element_size);
    axis_dim_ = data.dims[axis_];
    num_indices_ = indices.num_elements();
    int64_index_ = indices.dtype == DataType::kInt64;
    threads_ = ctx.threads();
    if (const Tensor* constant = ctx.constant_input(1)) {
      RETURN_IF_ERROR(CheckIndices(constant->data()).WithContext(ctx.Describe()));
    }
    ctx.SetOutput(0, data.dtype, std::move(dims));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    RETURN_IF_ERROR(CheckIndices(ctx.input(1)));
    if (int64_index_) Copy(ctx, ctx.input_as<int64_t>(1));
    else Copy(ctx, ctx.input_as<int32_t>(1));
    return Status::Ok();
  }

 private:
  Status CheckIndices(const void* indices) const {
    for (int64_t j = 0; j < num_indices_; ++j) {
      const int64_t index = int64_index_ ? static_cast<const int64_t*>(indices)[j]
                                         : static_cast<const int32_t*>(indices)[j];
      if (index < -axis_dim_ || index >= axis_dim_) {
        return InvalidArgument("index " + std::to_string(index) + " is out of range for axis " +
                               std::to_string(axis_) + " of size " + std::to_string(axis_dim_));
      }
    }
    return Status::Ok();
  }

  template <typename I>
  void Copy(ExecContext& ctx, const I* indices) const {
    const char* in = static_cast<const char*>(ctx.input(0));
    char* out = static_cast<char*>(ctx.output(0));
    const size_t bytes = static_cast<size_t>(outer_ * num_indices_) * inner_bytes_;
    ForOuter(outer_, bytes, threads_, [&](int64_t o) {
      const char* src = in + o * axis_dim_ * inner_bytes_;
      char* dst = out + o * num_indices_ * inner_bytes_;
      for (int64_t j = 0; j < num_indices_; ++j, dst += inner_bytes_) {
        const int64_t index = indices[j] < 0 ? indices[j] + axis_dim_ : indices[j];
        std::memcpy(dst, src + index * inner_bytes_, inner_bytes_);
      }
    });
  }

  int64_t axis_ = 0, axis_dim_ = 0, outer_ = 0, num_indices_ = 0;
  size_t inner_bytes_ = 0;
  bool int64_index_ = true;
  int threads_ = 1;
};

}  // namespace

void RegisterBlockCopyKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kConcat, MakeKernel<ConcatKernel>);
  registry.Register(ir::OpKind::kSplit, MakeKernel<SplitKernel>);
  registry.Register(ir::OpKind::kGather, MakeKernel<GatherKernel>);
}

}  // namespace bnfold::onednn
