// Kernels of the losses, windows and spectral ops (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file).
#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

void RegisterLossSignalKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace bnfold::onednn
