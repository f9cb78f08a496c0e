// What the loss/signal family's kernel files (kernels/loss_signal.cc,
// loss_signal_spectral.cc) share.
#pragma once

#include <initializer_list>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

// Asks for the values of every listed input at once: a fed input's value
// makes the session specialise the plan on it, and it retries only once.
inline void AskForValues(const CompileContext& ctx, std::initializer_list<int> inputs) {
  for (int i : inputs) {
    if (ctx.num_inputs() > i && ctx.has_input(i)) ctx.constant_input(i);
  }
}


// DFT, STFT (kernels/loss_signal_spectral.cc), registered by
// RegisterLossSignalKernels.
void RegisterSpectralKernels(KernelRegistry& registry);

}  // namespace bnfold::onednn
