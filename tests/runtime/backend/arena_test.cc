// Arena placement (memory.h PlaceArena): two values whose lifetimes overlap
// never share a byte, on either side of kGreedyArenaValues (greedy by size
// below, best fit step by step above), and the arena sizes of hand-computed
// cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "runtime/backend/onednn/memory.h"
#include "runtime/backend/onednn/plan.h"

namespace bnfold::onednn {
namespace {

struct Spec {
  int first;
  int last;
  int64_t floats;
};

// A plan of arena values with the given lifetimes and sizes (float32 [n]).
Plan MakePlan(const std::vector<Spec>& specs, ValueLifetimes* lifetimes) {
  Plan plan;
  for (const Spec& s : specs) {
    PlanValue v;
    v.name = "v" + std::to_string(plan.values.size());
    v.desc = TensorDesc{DataType::kFloat, {s.floats}, {}};
    plan.values.push_back(std::move(v));
    lifetimes->first.push_back(s.first);
    lifetimes->last.push_back(s.last);
    lifetimes->images.push_back(1);
  }
  return plan;
}

// Every pair of lifetime-overlapping values has disjoint bytes, and every
// value ends inside the arena.
void ExpectNoSharing(const Plan& plan, const ValueLifetimes& lt) {
  const size_t n = plan.values.size();
  // Values by first step: only those starting before v's last step can meet v.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return lt.first[a] < lt.first[b]; });
  int failures = 0;
  for (size_t x = 0; x < n && failures < 5; ++x) {
    const size_t a = order[x];
    const size_t a_begin = plan.values[a].arena_offset;
    const size_t a_end = a_begin + plan.values[a].desc.byte_size();
    EXPECT_LE(a_end, plan.arena_bytes);
    for (size_t y = x + 1; y < n && lt.first[order[y]] <= lt.last[a]; ++y) {
      const size_t b = order[y];
      const size_t b_begin = plan.values[b].arena_offset;
      const size_t b_end = b_begin + plan.values[b].desc.byte_size();
      if (a_begin < b_end && b_begin < a_end) {
        ADD_FAILURE() << "values " << a << " [" << lt.first[a] << "," << lt.last[a] << "] and "
                      << b << " [" << lt.first[b] << "," << lt.last[b] << "] share bytes";
        ++failures;
      }
    }
  }
}

std::vector<Spec> Chain(int n) {
  // v_i written by step i, read by step i + 1: two live at a time.
  std::vector<Spec> specs;
  for (int i = 0; i < n; ++i) specs.push_back({i, i + 1, 16});
  return specs;
}

TEST(ArenaTest, ChainNeedsTwoSlotsOnBothSidesOfTheLimit) {
  for (int n : {100, static_cast<int>(kGreedyArenaValues) + 1000}) {
    ValueLifetimes lt;
    Plan plan = MakePlan(Chain(n), &lt);
    ASSERT_TRUE(PlaceArena(plan, lt).ok());
    ExpectNoSharing(plan, lt);
    EXPECT_EQ(plan.arena_bytes, 2u * 64) << n << " values";
  }
}

TEST(ArenaTest, AllLiveAtOnceNeedTheirSum) {
  // Every value live from step 0 to the end: nothing can share.
  for (int n : {50, static_cast<int>(kGreedyArenaValues) + 10}) {
    std::vector<Spec> specs;
    size_t sum = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t floats = 16 * (1 + i % 3);
      specs.push_back({i, n, floats});
      sum += static_cast<size_t>(floats) * 4;
    }
    ValueLifetimes lt;
    Plan plan = MakePlan(specs, &lt);
    ASSERT_TRUE(PlaceArena(plan, lt).ok());
    ExpectNoSharing(plan, lt);
    EXPECT_EQ(plan.arena_bytes, sum) << n << " values";
  }
}

TEST(ArenaTest, FreedBlocksAreMergedAndReused) {
  // Above the limit (padded with a long chain after the interesting part):
  // two 64-byte values die at step 2, a 128-byte one born at step 3 takes
  // their merged block instead of growing the arena.
  std::vector<Spec> specs = {{0, 2, 16}, {1, 2, 16}, {3, 4, 32}};
  for (int i = 0; i < static_cast<int>(kGreedyArenaValues); ++i) specs.push_back({5 + i, 6 + i, 16});
  ValueLifetimes lt;
  Plan plan = MakePlan(specs, &lt);
  ASSERT_TRUE(PlaceArena(plan, lt).ok());
  ExpectNoSharing(plan, lt);
  EXPECT_EQ(plan.values[2].arena_offset, 0u);
  EXPECT_EQ(plan.arena_bytes, 128u);
}

TEST(ArenaTest, RandomLifetimesNeverShare) {
  std::mt19937 rng(15);
  for (int n : {300, static_cast<int>(kGreedyArenaValues) + 700}) {
    std::vector<Spec> specs;
    for (int i = 0; i < n; ++i) {
      const int first = static_cast<int>(rng() % n);
      const int length = static_cast<int>(rng() % 40);
      specs.push_back({first, first + length, static_cast<int64_t>(1 + rng() % 300)});
    }
    ValueLifetimes lt;
    Plan plan = MakePlan(specs, &lt);
    ASSERT_TRUE(PlaceArena(plan, lt).ok());
    ExpectNoSharing(plan, lt);
    // Never more than every value side by side.
    size_t sum = 0;
    for (const PlanValue& v : plan.values) sum += (v.desc.byte_size() + 63) / 64 * 64;
    EXPECT_LE(plan.arena_bytes, sum);
  }
}

}  // namespace
}  // namespace bnfold::onednn
