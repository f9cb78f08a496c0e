// The memory cap of a plan (CompileOptions::max_memory_bytes, from
// SessionOptions::max_memory_bytes / the CLI's --max-memory): the bytes a
// plan holds -- its constants (initializers it reads, values folded and
// weights reordered at compile time) and what each run allocates (the arena,
// the scratchpad). The planner counts constants as it makes them, refusing
// before it allocates one that would pass the cap, and checks the whole plan
// once the arena is placed, before any run allocates it. A refusal names the
// biggest consumers.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bnfold/status.h"

namespace bnfold::onednn {

struct Plan;

// "1.5 GiB", "512 B": for messages.
std::string FormatBytes(size_t bytes);

class MemoryBudget {
 public:
  // 0: no cap (the consumers are still counted).
  explicit MemoryBudget(size_t cap) : cap_(cap) {}

  // Counts `bytes` of constant held for `owner` ("initializer 'w'",
  // "Expand 'e1' output 'y'"). ReserveConstant, before allocating them,
  // refuses when the constants would pass the cap; CheckConstants refuses
  // when they have.
  void CountConstant(std::string owner, size_t bytes);
  Status ReserveConstant(std::string owner, size_t bytes);
  Status CheckConstants() const;

  // The placed plan: its constants, arena and scratchpad together.
  Status CheckPlan(const Plan& plan) const;

  size_t constant_bytes() const { return constant_bytes_; }

 private:
  struct Consumer {
    std::string owner;
    size_t bytes;
    const char* where;  // "constant", "arena"
  };
  Status Refuse(size_t total, const std::string& breakdown,
                std::vector<Consumer> consumers) const;

  size_t cap_;
  size_t constant_bytes_ = 0;
  std::vector<Consumer> constants_;
};

}  // namespace bnfold::onednn
