// Concat, Split and Gather: copies of whole contiguous blocks (registered
// with the tensor family).
#pragma once

#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

void RegisterBlockCopyKernels(KernelRegistry& registry);

}  // namespace bnfold::onednn
