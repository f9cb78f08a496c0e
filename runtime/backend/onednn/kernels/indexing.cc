// Kernels of the arg/top-k, gather/scatter, index ops and the further reductions (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file).
#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

void RegisterIndexingKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace bnfold::onednn
