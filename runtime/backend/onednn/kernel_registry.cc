#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

const KernelRegistry& KernelRegistry::Global() {
  static const KernelRegistry* const registry = [] {
    auto* r = new KernelRegistry();
    RegisterActivationKernels(*r);
    RegisterBinaryKernels(*r);
    RegisterCastKernels(*r);
    RegisterConvKernels(*r);
    RegisterGemmKernels(*r);
    RegisterNormalizationKernels(*r);
    RegisterPoolKernels(*r);
    RegisterReduceKernels(*r);
    RegisterResizeKernels(*r);
    RegisterShapeKernels(*r);
    RegisterSoftmaxKernels(*r);
    RegisterTensorKernels(*r);
    return r;
  }();
  return *registry;
}

void KernelRegistry::Register(ir::OpKind kind, KernelFactory factory) {
  factories_[static_cast<size_t>(kind)] = factory;
}

KernelFactory KernelRegistry::Find(ir::OpKind kind) const {
  return factories_[static_cast<size_t>(kind)];
}

}  // namespace bnfold::onednn
