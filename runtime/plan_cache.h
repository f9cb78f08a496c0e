// A session's compiled plans: one per feed signature (the fed inputs'
// names, element types and shapes, plus the values of the inputs a kernel
// needs when compiling), each with a pool of idle execution contexts and
// the step times of its profiled runs.
//
// A run first asks the entry it used last (no key, no map, no lock when the
// feeds look the same); otherwise the feeds are checked (onednn::CheckFeeds),
// keyed and looked up, and a new key is compiled. When compiling shows that a
// kernel needs the value of a fed input (a Reshape shape fed at run time),
// that input joins the key and the plan is compiled again for its value.
//
// When a kernel needs the value of an input computed from fed data (a Range
// whose limit is computed from a fed size, NonMaxSuppression's selected
// boxes), the graph runs in stages around that node: the nodes before it
// (one plan, keyed by the feeds), the node itself (compiled for the values
// it gets, so its outputs are sized by them), then the nodes after it (one
// plan per shape of the values fed to it; it may split again). The last
// stage is the lease's plan, so a run reads its outputs as usual.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "runtime/backend/onednn/executor.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/ir/graph.h"

namespace bnfold {

class PlanCache {
 public:
  // An execution context and the input pointers of its run (kept, so that
  // a run allocates nothing).
  struct Context {
    explicit Context(std::shared_ptr<const onednn::Plan> plan)
        : state(std::move(plan)), pointers(state.plan().inputs.size()) {}
    onednn::ExecState state;
    std::vector<const void*> pointers;
  };

  // What a run's feeds must look like to use a plan without building its
  // key: the names, types and dims in the caller's order, and which feed
  // each plan input takes. Written once, before the entry is published.
  struct FeedSignature {
    struct Feed {
      std::string name;
      DataType dtype;
      std::vector<int64_t> dims;
    };
    std::vector<Feed> feeds;
    std::vector<int> plan_inputs;  // caller feed index of each plan input
    bool usable = false;

    bool Matches(const std::vector<NamedTensor>& given) const;
  };

  // One compiled plan, with a pool of idle contexts: one spare taken and
  // returned without the lock (the single-caller serving loop), the rest
  // under the cache's mutex.
  struct Entry {
    std::shared_ptr<const onednn::Plan> plan;
    std::vector<std::unique_ptr<Context>> idle;  // guarded by mutex_
    std::atomic<Context*> spare{nullptr};
    FeedSignature signature;
    // SessionOptions::profile, guarded by mutex_: each step's time in the
    // runs kept since the last TakeProfile (see RecordProfile), the sum over
    // all of them, and what ran each step.
    std::vector<std::vector<float>> step_ms;
    std::vector<double> step_ms_sum;
    uint64_t sampler = 0;
    std::vector<std::string> implementations;
    int64_t profiled_runs = 0;
    // No plan: the graph (or stage) runs in stages around the node at this
    // position of graph.nodes().
    size_t split_at = kNoSplit;

    ~Entry() { delete spare.load(); }
  };

  // What one run holds between Acquire and Release: its plan's entry and an
  // execution context whose input pointers point at the run's feeds.
  struct Lease {
    Entry* entry = nullptr;
    std::unique_ptr<Context> context;  // context->state.plan() is the plan
    // A staged run: the values earlier stages computed, which the last
    // stage's context reads.
    std::vector<Tensor> staged;
  };

  static constexpr size_t kNoSplit = static_cast<size_t>(-1);

  // `graph` must outlive the cache; `source` names the model in errors.
  // With `profile`, contexts time their steps (SessionOptions::profile).
  PlanCache(const ir::Graph& graph, onednn::CompileOptions options, bool profile,
            std::string source);
  ~PlanCache();
  PlanCache(const PlanCache&) = delete;
  PlanCache& operator=(const PlanCache&) = delete;

  // The plan for `feeds` (compiled on first sight of their signature) and an
  // idle context of it, bound to the feeds. Errors name the model.
  Status Acquire(const std::vector<NamedTensor>& feeds, Lease* lease) const;
  // Returns the lease's context to its plan's pool; after a successful run
  // of a profiled session, keeps its step times first.
  void Release(Lease lease, bool ran) const;

  SessionStats Stats() const;
  // See Session::TakeProfile.
  std::vector<PlanProfile> TakeProfile() const;

 private:
  struct PreparedFeeds;
  Status PrepareFeeds(const std::vector<NamedTensor>& feeds, PreparedFeeds* out) const;
  StatusOr<Entry*> FindOrCompile(const std::vector<NamedTensor>& feeds,
                                 std::vector<int>* plan_inputs) const;
  StatusOr<std::shared_ptr<const onednn::Plan>> Compile(PreparedFeeds* feeds,
                                                        size_t* split_at) const;
  // An idle context of `entry`'s plan (or a new one) and back.
  std::unique_ptr<Context> TakeContext(Entry* entry) const;
  void ReturnContext(Entry* entry, std::unique_ptr<Context> context) const;
  // Staged runs (see the file comment): runs the stages before the last and
  // leases the last one's context, its inputs bound.
  struct Stage;
  Status RunStages(const std::vector<NamedTensor>& feeds, size_t split, Lease* lease) const;
  StatusOr<Entry*> FindOrCompileStage(PreparedFeeds* feeds, const Stage& stage) const;
  void BindInputs(const std::vector<NamedTensor>& feeds, const Stage& stage,
                  Context* context) const;
  // Values earlier stages computed (a deque: stages borrow its tensors).
  using KnownValues = std::deque<std::pair<const ir::Value*, Tensor>>;
  Status RunStage(const std::vector<NamedTensor>& feeds, PreparedFeeds* prepared,
                  const Stage& stage, KnownValues* known) const;
  void RecordProfile(const onednn::ExecState& state, Entry* entry) const;

  const ir::Graph& graph_;
  const onednn::CompileOptions options_;
  const bool profile_;
  const std::string source_;

  mutable std::mutex mutex_;
  mutable std::map<std::string, Entry> plans_;  // guarded by mutex_
  // The entry the last slow-path run used, when its feeds have a signature
  // (no input the plan is specialised on): later runs with the same
  // signature skip the key, the map and the lock.
  mutable std::atomic<Entry*> hot_{nullptr};
  // Inputs whose values plans are specialised on, because a kernel needs
  // them when compiling (e.g. a Reshape shape fed as a graph input). Small
  // tensors only. Guarded by mutex_.
  mutable std::set<std::string> value_keyed_;
};

}  // namespace bnfold
