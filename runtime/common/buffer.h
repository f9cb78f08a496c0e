// Owned, 64-byte aligned memory for tensors and compiled plans.
#pragma once

#include <cstddef>
#include <memory>

namespace bnfold {

// Buffers of at least this size come straight from mmap (see AllocateBuffer).
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` (at least 1) of 64-byte aligned memory, freed with the last copy
// of the pointer; null when it cannot be had. Zeroed when `zeroed`, and
// always from kHugePageBytes on: such buffers are fresh mmap memory that
// starts on a huge-page boundary and advises MADV_HUGEPAGE on its whole huge
// pages (large buffers are weights and activations: touching them 4 KiB at
// a time was most of what loading and folding a model cost, each page fault
// being slow in a VM). The tail short of a huge page keeps small pages, so
// the resident size does not grow.
std::shared_ptr<void> AllocateBuffer(size_t bytes, bool zeroed);

// AllocateBuffer's small-buffer path at any size: 64-byte aligned heap
// memory in small pages (freed heap memory is reused without new page
// faults), zeroed when `zeroed`; null when it cannot be had.
std::shared_ptr<void> AllocateHeapBuffer(size_t bytes, bool zeroed);

}  // namespace bnfold
