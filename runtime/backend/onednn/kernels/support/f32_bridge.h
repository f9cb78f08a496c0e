// Runs a float32 kernel for a node whose tensors are float16, bfloat16 or
// float64: oneDNN has no float64 and few float16 CPU kernels, and such
// models are rare, so the bridge converts rather than specialises. Inputs of
// the node's type are converted into float32 scratch buffers (constants once,
// at compile time), the inner kernel runs on them, and its outputs are
// converted back. The inner kernel must keep every tensor plain.
#pragma once

#include <memory>
#include <vector>

#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

class F32Bridge : public Kernel {
 public:
  explicit F32Bridge(std::unique_ptr<Kernel> inner);
  ~F32Bridge() override;

  Status Compile(CompileContext& ctx) override;
  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override;
  Status Execute(ExecContext& ctx) const override;

  // Inputs and outputs per node the bridge handles.
  static constexpr int kMaxTensors = 8;

 private:
  struct Slot {
    bool convert = false;       // a tensor of the bridged type
    size_t offset = 0;          // its float32 buffer in the scratchpad
    int64_t elements = 0;
    std::shared_ptr<const Tensor> constant;  // converted once (inputs only)
  };

  std::unique_ptr<Kernel> inner_;
  DataType dtype_ = DataType::kUndefined;  // the bridged type
  std::vector<Slot> inputs_, outputs_;
  size_t inner_scratchpad_ = 0;
};

// The bridged type of the node (float16, bfloat16 or float64), or
// kUndefined when its first input is float32 or not floating point.
DataType BridgedType(const CompileContext& ctx);

// Kernel K (constructible as K(bool plain_only)) run natively on float32 and
// through F32Bridge, with plain layouts, for the bridged types.
template <typename K>
class FloatKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    if (BridgedType(ctx) != DataType::kUndefined) {
      impl_ = std::make_unique<F32Bridge>(std::make_unique<K>(/*plain_only=*/true));
    } else {
      impl_ = std::make_unique<K>(/*plain_only=*/false);
    }
    return impl_->Compile(ctx);
  }
  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return impl_->CreateState(engine);
  }
  Status Execute(ExecContext& ctx) const override { return impl_->Execute(ctx); }
  const char* Implementation() const override { return impl_->Implementation(); }

 private:
  std::unique_ptr<Kernel> impl_;
};

template <typename K>
std::unique_ptr<Kernel> MakeFloatKernel() {
  return std::make_unique<FloatKernel<K>>();
}

}  // namespace bnfold::onednn
