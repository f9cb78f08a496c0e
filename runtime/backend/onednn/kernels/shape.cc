// Ops that only move or describe data: Identity, Dropout (inference), ...
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/kernel_util.h"

namespace bnfold::onednn {

namespace {

// Output 0 is a copy of input 0 (plain layout).
class CopyKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    bytes_ = static_cast<size_t>(x.num_elements()) * DataTypeSize(x.dtype);
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }
  Status Execute(ExecContext& ctx) const override {
    if (bytes_) std::memcpy(ctx.output(0), ctx.input(0), bytes_);
    return Status::Ok();
  }

 private:
  size_t bytes_ = 0;
};

}  // namespace

void RegisterShapeKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kIdentity, MakeKernel<CopyKernel>);
}

}  // namespace bnfold::onednn
