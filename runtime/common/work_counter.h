// A process-wide count of the work done by the load/compile loops whose cost
// must stay linear in the graph's size (issue 15): the topological sort
// (nodes + edges), the arena placement (values compared or placed), the
// planner's conversion memo and the shared reordered-constant cache (entries
// scanned). Not a timer: the same graph gives the same count on a busy or a
// quiet machine, so a test can compare the counts of graphs of N and 4N
// nodes and fail on a quadratic regression without timing anything.
//
// Each loop adds its total once per call (a relaxed atomic add), so the cost
// is nothing next to the loop itself.
#pragma once

#include <atomic>
#include <cstdint>

namespace bnfold {

inline std::atomic<uint64_t>& CompileWorkCounter() {
  static std::atomic<uint64_t> counter{0};
  return counter;
}

inline void AddCompileWork(uint64_t units) {
  CompileWorkCounter().fetch_add(units, std::memory_order_relaxed);
}

// The units counted so far in this process.
inline uint64_t CompileWork() { return CompileWorkCounter().load(std::memory_order_relaxed); }

}  // namespace bnfold
