// Gather: blocks of the data picked by indices that arrive at run time,
// bounds-checked before any copy (or at compile time when constant): an
// out-of-range index is an error, not a read outside the buffer.
#include <cstring>
#include <tuple>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/block_copy.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

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

void RegisterGatherKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kGather, MakeKernel<GatherKernel>);
}

}  // namespace bnfold::onednn
