// Layout conversion between two oneDNN descs of the same tensor: at run time
// a ReorderKernel step (inserted by the planner; not registered for any ONNX
// op), for constants once at compile time (ReorderConstant).
#pragma once

#include "bnfold/tensor.h"
#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

// Writes the constant at `data` (described by `plain`) to `out` in layout
// `target`. Winograd weights are transformed by winograd_weights.h (oneDNN's
// own reorder to them is 3.5-10x slower); everything else by oneDNN's reorder.
void ReorderConstantInto(const void* data, const dnnl::memory::desc& plain,
                         const dnnl::memory::desc& target, void* out,
                         const dnnl::engine& engine);

// The same into kernel-owned memory oneDNN allocates.
dnnl::memory ReorderConstant(const Tensor& data, const dnnl::memory::desc& plain,
                             const dnnl::memory::desc& target, const dnnl::engine& engine);

class ReorderKernel : public Kernel {
 public:
  ReorderKernel(const dnnl::memory::desc& src, const dnnl::memory::desc& dst);
  Status Compile(CompileContext& ctx) override;
  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return runner_.CreateState(engine);
  }
  Status Execute(ExecContext& ctx) const override;

 private:
  PrimitiveRunner runner_;
};

}  // namespace bnfold::onednn
