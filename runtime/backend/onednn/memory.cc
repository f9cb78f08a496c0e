#include "runtime/backend/onednn/memory.h"

#include <algorithm>
#include <string>
#include <utility>

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

Status PlaceArena(Plan& plan, const ValueLifetimes& lifetimes) {
  const std::vector<int>& first = lifetimes.first;
  const std::vector<int>& last = lifetimes.last;
  struct Item {
    int id;
    size_t bytes;
  };
  std::vector<Item> items;
  for (size_t id = 0; id < plan.values.size(); ++id) {
    const PlanValue& v = plan.values[id];
    if (v.storage != PlanValue::Storage::kArena) continue;
    if (first[id] < 0) {
      return Internal("value '" + v.name + "' is never written");
    }
    const size_t bytes = std::max<size_t>(v.desc.byte_size() * lifetimes.images[id], 1);
    items.push_back({static_cast<int>(id), (bytes + 63) / 64 * 64});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.bytes > b.bytes; });
  std::vector<Item> placed;
  size_t total = 0;
  for (const Item& item : items) {
    // Intervals of placed, lifetime-overlapping values, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Item& p : placed) {
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
  }
  plan.arena_bytes = total;
  return Status::Ok();
}

}  // namespace bnfold::onednn
