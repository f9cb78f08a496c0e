#include "runtime/backend/onednn/memory_budget.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "runtime/backend/onednn/plan.h"

namespace bnfold::onednn {

std::string FormatBytes(size_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 6) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof(text), "%zu B", bytes);
  } else {
    std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

namespace {

// Sums that cannot wrap: a hostile shape may ask for nearly SIZE_MAX.
size_t SaturatingAdd(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

}  // namespace

void MemoryBudget::CountConstant(std::string owner, size_t bytes) {
  constant_bytes_ = SaturatingAdd(constant_bytes_, bytes);
  constants_.push_back({std::move(owner), bytes, "constant"});
}

Status MemoryBudget::ReserveConstant(std::string owner, size_t bytes) {
  CountConstant(std::move(owner), bytes);
  return CheckConstants();
}

Status MemoryBudget::CheckConstants() const {
  if (cap_ == 0 || constant_bytes_ <= cap_) return Status::Ok();
  return Refuse(constant_bytes_, "constants " + FormatBytes(constant_bytes_), constants_);
}

Status MemoryBudget::CheckPlan(const Plan& plan) const {
  const size_t total = SaturatingAdd(SaturatingAdd(constant_bytes_, plan.arena_bytes),
                                     plan.scratchpad_bytes);
  if (cap_ == 0 || total <= cap_) return Status::Ok();
  // Each arena value with the step that writes it.
  std::unordered_map<int, const std::string*> writer;
  for (const PlanStep& step : plan.steps) {
    for (int id : step.outputs) {
      if (id >= 0) writer.emplace(id, &step.label);
    }
  }
  std::vector<Consumer> consumers = constants_;
  for (size_t id = 0; id < plan.values.size(); ++id) {
    const PlanValue& v = plan.values[id];
    if (v.storage != PlanValue::Storage::kArena) continue;
    auto it = writer.find(static_cast<int>(id));
    const std::string owner =
        (it != writer.end() ? *it->second + " output '" : std::string("value '")) + v.name + "'";
    consumers.push_back({owner, v.desc.byte_size(), "arena"});
  }
  if (plan.scratchpad_bytes > 0) {
    consumers.push_back({"oneDNN scratchpad", plan.scratchpad_bytes, "per run"});
  }
  return Refuse(total,
                "arena " + FormatBytes(plan.arena_bytes) + ", constants " +
                    FormatBytes(constant_bytes_) + ", scratchpad " +
                    FormatBytes(plan.scratchpad_bytes),
                std::move(consumers));
}

Status MemoryBudget::Refuse(size_t total, const std::string& breakdown,
                            std::vector<Consumer> consumers) const {
  std::stable_sort(consumers.begin(), consumers.end(),
                   [](const Consumer& a, const Consumer& b) { return a.bytes > b.bytes; });
  std::string biggest;
  for (size_t i = 0; i < consumers.size() && i < 5; ++i) {
    biggest += (i ? "; " : "") + consumers[i].owner + ": " + FormatBytes(consumers[i].bytes) +
               " (" + consumers[i].where + ")";
  }
  return InvalidArgument("the plan needs " + FormatBytes(total) + " (" + breakdown +
                         "), over the memory cap of " + FormatBytes(cap_) +
                         " (SessionOptions::max_memory_bytes, --max-memory); biggest: " +
                         biggest);
}

}  // namespace bnfold::onednn
