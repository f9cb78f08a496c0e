#include "runtime/backend/onednn/kernels/x86/cpu_features.h"

namespace bnfold::onednn {

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

}  // namespace bnfold::onednn
