// Kernels of the normalization, pooling and vision ops (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file).
#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

void RegisterVisionKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace bnfold::onednn
