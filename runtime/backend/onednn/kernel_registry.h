// Kernels registered by op kind. Each op family registers its kernels from
// its own file (kernels/<family>.cc) through one Register<Family>Kernels
// function, listed once in kernel_registry.cc with the ops it runs.
#pragma once

#include <memory>
#include <vector>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/ir/op_kind.h"

namespace bnfold::onednn {

using KernelFactory = std::unique_ptr<Kernel> (*)();

class KernelRegistry {
 public:
  // The registry with every kernel family registered.
  static const KernelRegistry& Global();

  void Register(ir::OpKind kind, KernelFactory factory);
  // Null when no kernel handles `kind`.
  KernelFactory Find(ir::OpKind kind) const;

 private:
  std::vector<KernelFactory> factories_ =
      std::vector<KernelFactory>(static_cast<size_t>(ir::OpKind::kCount), nullptr);
};

// Shorthand for registering a kernel class with a default constructor.
template <typename K>
std::unique_ptr<Kernel> MakeKernel() {
  return std::make_unique<K>();
}

// One per family file in kernels/ (kernels/<family>.cc), each called once
// from KernelRegistry::Global in kernel_registry.cc.
void RegisterActivationKernels(KernelRegistry& registry);
void RegisterBinaryKernels(KernelRegistry& registry);
void RegisterCastKernels(KernelRegistry& registry);
void RegisterConcatKernels(KernelRegistry& registry);
void RegisterConstantKernels(KernelRegistry& registry);
void RegisterConvKernels(KernelRegistry& registry);
void RegisterGatherKernels(KernelRegistry& registry);
void RegisterGemmKernels(KernelRegistry& registry);
void RegisterNormalizationKernels(KernelRegistry& registry);
void RegisterPadKernels(KernelRegistry& registry);
void RegisterPoolKernels(KernelRegistry& registry);
void RegisterReduceKernels(KernelRegistry& registry);
void RegisterReshapeKernels(KernelRegistry& registry);
void RegisterResizeKernels(KernelRegistry& registry);
void RegisterShapeKernels(KernelRegistry& registry);
void RegisterSliceKernels(KernelRegistry& registry);
void RegisterSoftmaxKernels(KernelRegistry& registry);
void RegisterTileKernels(KernelRegistry& registry);
void RegisterTransposeKernels(KernelRegistry& registry);
void RegisterLogicKernels(KernelRegistry& registry);
void RegisterMathKernels(KernelRegistry& registry);
void RegisterIndexingKernels(KernelRegistry& registry);
void RegisterLossSignalKernels(KernelRegistry& registry);
void RegisterVisionKernels(KernelRegistry& registry);
void RegisterQuantKernels(KernelRegistry& registry);
void RegisterRecurrentKernels(KernelRegistry& registry);
void RegisterControlFlowKernels(KernelRegistry& registry);
void RegisterRandomKernels(KernelRegistry& registry);

}  // namespace bnfold::onednn
