// Memory of a plan: aligned buffers, the arena where reordered constants
// go (ConstantArena), the reordered-constant cache shared by a session's
// plans, and the placement of activations in one arena by lifetime.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "bnfold/status.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/common/buffer.h"

namespace bnfold::onednn {

// Plan constants, arenas and scratchpads: 64-byte aligned heap memory in
// small pages, not the huge-page buffers of AllocateBuffer. A plan's
// buffers are all touched for the first time by its compile and first run,
// and on this VM a fresh huge page costs about 5x what 512 small pages do
// (0.35-0.8 vs 2-2.5 GB/s first touch, unless the host has not yet taken
// back pages another process freed a moment ago): ResNet-50 batch 8's
// first run went from ~1290 to ~710 ms, the steady run unchanged. Heap
// memory freed earlier in the process is also reused without new faults.
// No zeroing needed: every buffer is written before it is read (oneDNN
// zeroes blocked padding).
std::shared_ptr<void> AllocateAligned(size_t bytes);

// Where a plan places its reordered constants (the weights in the layouts
// its primitives read), one after another in the order the planner makes
// them, which is the order the steps read them. The first kHeapBytes go to
// the heap (AllocateAligned: a small model never touches a fresh huge
// page); the next kHugeBytes to 2 MiB-aligned chunks advised MADV_HUGEPAGE
// (AllocateBuffer): weights streamed from L3 or memory every run then miss
// the TLB far less. MobileNetV2 at batch 1, 1 thread (14 MB of weights),
// against heap placement, 140 interleaved pairs in three batches: 85
// faster, paired median ratio 0.984-0.999 per batch (about 1%). First runs
// (10, 10, 6 interleaved): MobileNetV2 b1 39.4 -> 35.9 ms, b8 76.6 -> 71.6
// ms, ResNet-50 b1 142 -> 136 ms. The cap: a huge page's first touch
// costs up to ~5x its small pages on this VM (see AllocateAligned), and
// ResNet-50's 100 MB all in huge pages made its first run 180-275 -> 90-470
// ms; with the cap 120-190 vs 125-230 ms.
class ConstantArena {
 public:
  // Null when out of memory.
  std::shared_ptr<void> Allocate(size_t bytes);

 private:
  static constexpr size_t kHeapBytes = kHugePageBytes;
  static constexpr size_t kHugeBytes = size_t{16} << 20;
  static constexpr size_t kChunkBytes = 2 * kHugePageBytes;
  size_t placed_ = 0;  // bytes of all constants so far
  std::shared_ptr<void> chunk_;
  size_t chunk_bytes_ = 0;
  size_t used_ = 0;
};

// Constants the planner reordered into a oneDNN layout, shared by the
// plans compiled with this cache (a session's plans for batch 1 and batch 8
// use the same blocked 1x1 Conv weights: ResNet-50 has 38 of them). An entry
// keeps neither its source nor its result alive, so it never outlives the
// plans using it, and a source is known by its tensor object, not by an
// address a new tensor could reuse. Thread-safe.
class ReorderedConstantCache {
 public:
  // `source` in `layout` if a live plan holds it, else null.
  std::shared_ptr<void> Find(const ir::ConstTensorPtr& source, const dnnl::memory::desc& layout);
  void Insert(const ir::ConstTensorPtr& source, const dnnl::memory::desc& layout,
              const std::shared_ptr<void>& data);

 private:
  struct Entry {
    std::weak_ptr<const Tensor> source;
    dnnl::memory::desc layout;
    std::weak_ptr<void> data;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
};

// Per plan value: the first step writing it, the last step reading it or a
// view of it (-1: none), and how many images it holds (the image loop).
struct ValueLifetimes {
  std::vector<int> first;
  std::vector<int> last;
  std::vector<size_t> images;
};

// The lifetimes the steps of `plan` give its values; graph outputs live
// past the last step, a viewed value as long as its views.
ValueLifetimes StepLifetimes(const Plan& plan);

// Plans with more arena values than this are placed step by step (best fit,
// O(n log n)) instead of greedy by size (O(n^2), a smaller arena).
inline constexpr size_t kGreedyArenaValues = 4096;

// Places the arena values by lifetime: sets each one's arena_offset and the
// plan's arena_bytes. Two values whose lifetimes overlap (both inclusive)
// never share bytes. Greedy by size up to kGreedyArenaValues values, best
// fit step by step above.
Status PlaceArena(Plan& plan, const ValueLifetimes& lifetimes);

}  // namespace bnfold::onednn
