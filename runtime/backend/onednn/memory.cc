#include "runtime/backend/onednn/memory.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "runtime/common/work_counter.h"

namespace bnfold::onednn {

std::shared_ptr<void> AllocateAligned(size_t bytes) {
  return AllocateHeapBuffer(bytes, /*zeroed=*/false);
}

std::shared_ptr<void> ConstantArena::Allocate(size_t bytes) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  placed_ += rounded;
  if (placed_ <= kHeapBytes || placed_ > kHeapBytes + kHugeBytes) return AllocateAligned(bytes);
  if (!chunk_ || used_ + rounded > chunk_bytes_) {
    const size_t pages = (rounded + kHugePageBytes - 1) / kHugePageBytes;
    chunk_bytes_ = std::max(kChunkBytes, pages * kHugePageBytes);
    chunk_ = AllocateBuffer(chunk_bytes_, /*zeroed=*/false);
    used_ = 0;
    if (!chunk_) return AllocateAligned(bytes);
  }
  // Shares the chunk's ownership: the chunk goes when its last constant does.
  std::shared_ptr<void> buffer(chunk_, static_cast<char*>(chunk_.get()) + used_);
  used_ += rounded;
  return buffer;
}

std::shared_ptr<void> ReorderedConstantCache::Find(const ir::ConstTensorPtr& source,
                                                   const dnnl::memory::desc& layout) {
  std::lock_guard<std::mutex> lock(mutex_);
  AddCompileWork(entries_.size());
  for (const Entry& entry : entries_) {
    // A live weak_ptr to the same object: `source` itself, not a new tensor
    // at a freed one's address.
    if (entry.source.lock() == source && entry.layout == layout) {
      if (std::shared_ptr<void> data = entry.data.lock()) return data;
    }
  }
  return nullptr;
}

void ReorderedConstantCache::Insert(const ir::ConstTensorPtr& source,
                                    const dnnl::memory::desc& layout,
                                    const std::shared_ptr<void>& data) {
  std::lock_guard<std::mutex> lock(mutex_);
  AddCompileWork(entries_.size());
  std::erase_if(entries_, [](const Entry& e) { return e.source.expired() || e.data.expired(); });
  entries_.push_back({source, layout, data});
}

ValueLifetimes StepLifetimes(const Plan& plan) {
  const int num_steps = static_cast<int>(plan.steps.size());
  ValueLifetimes lifetimes;
  std::vector<int>& first = lifetimes.first;
  std::vector<int>& last = lifetimes.last;
  first.assign(plan.values.size(), -1);
  last.assign(plan.values.size(), -1);
  lifetimes.images.assign(plan.values.size(), 1);
  for (int s = 0; s < num_steps; ++s) {
    for (int id : plan.steps[s].outputs) {
      if (id >= 0 && first[id] < 0) first[id] = s;
      if (id >= 0) last[id] = std::max(last[id], s);
    }
    for (int id : plan.steps[s].inputs) {
      if (id >= 0) last[id] = std::max(last[id], s);
    }
  }
  for (int id : plan.outputs) last[id] = num_steps;
  for (size_t id = 0; id < plan.values.size(); ++id) {
    const PlanValue& v = plan.values[id];
    if (v.storage == PlanValue::Storage::kAlias) {
      last[v.alias_of] = std::max(last[v.alias_of], last[id]);
    }
  }
  return lifetimes;
}

namespace {

struct ArenaItem {
  int id;
  size_t bytes;
};

// Greedy by size: the biggest value first, each at the lowest offset free
// for its whole lifetime. Looks at every placed value per value: O(n^2).
size_t PlaceGreedyBySize(Plan& plan, const ValueLifetimes& lifetimes,
                         std::vector<ArenaItem> items) {
  const std::vector<int>& first = lifetimes.first;
  const std::vector<int>& last = lifetimes.last;
  std::stable_sort(items.begin(), items.end(),
                   [](const ArenaItem& a, const ArenaItem& b) { return a.bytes > b.bytes; });
  std::vector<ArenaItem> placed;
  std::vector<std::pair<size_t, size_t>> busy;
  size_t total = 0;
  for (const ArenaItem& item : items) {
    // Intervals of placed, lifetime-overlapping values, by offset.
    busy.clear();
    for (const ArenaItem& p : placed) {
      if (first[p.id] <= last[item.id] && first[item.id] <= last[p.id]) {
        busy.push_back({plan.values[p.id].arena_offset, plan.values[p.id].arena_offset + p.bytes});
      }
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + item.bytes <= begin) break;
      offset = std::max(offset, end);
    }
    plan.values[item.id].arena_offset = offset;
    total = std::max(total, offset + item.bytes);
    placed.push_back(item);
    AddCompileWork(placed.size());
  }
  return total;
}

// Step by step, as an allocator would: a value takes the smallest free
// block that fits when its first step starts and gives it back (merged with
// free neighbours) after its last step. O(n log n).
size_t PlaceBestFitByStep(Plan& plan, const ValueLifetimes& lifetimes,
                          const std::vector<ArenaItem>& items) {
  const std::vector<int>& first = lifetimes.first;
  const std::vector<int>& last = lifetimes.last;
  int max_step = 0;
  for (const ArenaItem& item : items) max_step = std::max({max_step, first[item.id], last[item.id]});
  // Items by first step and by last step (counting sort keeps id order).
  std::vector<std::vector<size_t>> starting(max_step + 1), ending(max_step + 1);
  for (size_t k = 0; k < items.size(); ++k) {
    starting[first[items[k].id]].push_back(k);
    ending[std::max(last[items[k].id], first[items[k].id])].push_back(k);
  }
  std::map<size_t, size_t> free_by_offset;             // offset -> bytes
  std::multimap<size_t, size_t> free_by_size;          // bytes -> offset
  auto erase_free = [&](std::map<size_t, size_t>::iterator it) {
    auto range = free_by_size.equal_range(it->second);
    for (auto s = range.first; s != range.second; ++s) {
      if (s->second == it->first) {
        free_by_size.erase(s);
        break;
      }
    }
    return free_by_offset.erase(it);
  };
  size_t top = 0;  // the arena's end so far
  AddCompileWork(items.size() + max_step);
  for (int step = 0; step <= max_step; ++step) {
    for (size_t k : starting[step]) {
      const size_t bytes = items[k].bytes;
      size_t offset;
      auto fit = free_by_size.lower_bound(bytes);
      if (fit != free_by_size.end()) {
        offset = fit->second;
        const size_t block = fit->first;
        free_by_size.erase(fit);
        free_by_offset.erase(offset);
        if (block > bytes) {
          free_by_offset[offset + bytes] = block - bytes;
          free_by_size.insert({block - bytes, offset + bytes});
        }
      } else if (!free_by_offset.empty() &&
                 std::prev(free_by_offset.end())->first +
                         std::prev(free_by_offset.end())->second == top) {
        // Grow the free block at the end rather than leave it unused.
        auto tail = std::prev(free_by_offset.end());
        offset = tail->first;
        erase_free(tail);
        top = offset + bytes;
      } else {
        offset = top;
        top += bytes;
      }
      plan.values[items[k].id].arena_offset = offset;
    }
    for (size_t k : ending[step]) {
      size_t offset = plan.values[items[k].id].arena_offset;
      size_t bytes = items[k].bytes;
      auto next = free_by_offset.lower_bound(offset);
      if (next != free_by_offset.end() && next->first == offset + bytes) {
        bytes += next->second;
        next = erase_free(next);
      }
      if (next != free_by_offset.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second == offset) {
          offset = prev->first;
          bytes += prev->second;
          erase_free(prev);
        }
      }
      free_by_offset[offset] = bytes;
      free_by_size.insert({bytes, offset});
    }
  }
  return top;
}

}  // namespace

Status PlaceArena(Plan& plan, const ValueLifetimes& lifetimes) {
  const std::vector<int>& first = lifetimes.first;
  std::vector<ArenaItem> items;
  for (size_t id = 0; id < plan.values.size(); ++id) {
    const PlanValue& v = plan.values[id];
    if (v.storage != PlanValue::Storage::kArena) continue;
    if (first[id] < 0) {
      return Internal("value '" + v.name + "' is never written");
    }
    const size_t bytes = std::max<size_t>(v.desc.byte_size() * lifetimes.images[id], 1);
    items.push_back({static_cast<int>(id), (bytes + 63) / 64 * 64});
  }
  plan.arena_bytes = items.size() <= kGreedyArenaValues
                         ? PlaceGreedyBySize(plan, lifetimes, std::move(items))
                         : PlaceBestFitByStep(plan, lifetimes, items);
  return Status::Ok();
}

}  // namespace bnfold::onednn
