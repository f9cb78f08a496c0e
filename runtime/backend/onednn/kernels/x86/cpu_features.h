// What the CPU running bnfold can execute, asked by the hand-written x86
// kernels here before they offer to run (PackedGemv::Worthwhile,
// NarrowOutputConv::Applies). Every such check goes through this file, so a
// new instruction set (or a way to turn one off) is added in one place.
#pragma once

namespace bnfold::onednn {

// AVX-512 Foundation: the 16-float vectors of gemv.h, narrow_conv.h and
// vector_activation.h. Asked once per process.
bool CpuHasAvx512();

}  // namespace bnfold::onednn
