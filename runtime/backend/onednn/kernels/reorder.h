// Layout conversion between two oneDNN descs of the same tensor. Inserted by
// the planner; not registered for any ONNX op.
#pragma once

#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

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
