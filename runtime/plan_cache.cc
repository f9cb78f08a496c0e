#include "runtime/plan_cache.h"

#include <algorithm>
#include <cstring>

#include "runtime/backend/onednn/feeds.h"
#include "runtime/common/status_macros.h"

namespace bnfold {

namespace {

// Runs whose step times a profile keeps per plan (~64 KiB per step).
constexpr uint64_t kMaxProfiledRuns = 16384;
// The largest input whose value a plan may be specialised on.
constexpr int64_t kMaxValueKeyedElements = 4096;

StatusOr<Tensor> CopyTensor(const Tensor& t) {
  StatusOr<Tensor> copy = Tensor::Allocate(t.dtype(), t.shape());
  if (copy.ok() && t.byte_size()) std::memcpy(copy->data(), t.data(), t.byte_size());
  return copy;
}

}  // namespace

bool PlanCache::FeedSignature::Matches(const std::vector<NamedTensor>& given) const {
  if (!usable || given.size() != feeds.size()) return false;
  for (size_t i = 0; i < feeds.size(); ++i) {
    const Tensor& t = given[i].tensor;
    if (t.dtype() != feeds[i].dtype || t.shape() != feeds[i].dims ||
        given[i].name != feeds[i].name || (t.data() == nullptr && t.byte_size() > 0)) {
      return false;
    }
  }
  return true;
}

// A run's feeds checked and keyed: specs in graph-input order, the tensors
// fed, and the plan-cache key.
struct PlanCache::PreparedFeeds {
  std::vector<onednn::FeedSpec> specs;
  std::vector<const Tensor*> tensors;  // parallel to specs
  std::vector<int> plan_inputs;        // run-time feeds (caller index), in plan order
  bool value_keyed = false;            // the key holds an input's value
  std::string key;
};

PlanCache::PlanCache(const ir::Graph& graph, onednn::CompileOptions options, bool profile,
                     std::string source)
    : graph_(graph), options_(std::move(options)), profile_(profile), source_(std::move(source)) {}

PlanCache::~PlanCache() = default;

Status PlanCache::Acquire(const std::vector<NamedTensor>& feeds, Lease* lease) const {
  Entry* entry = hot_.load(std::memory_order_acquire);
  const std::vector<int>* plan_inputs = nullptr;  // caller feed of each plan input
  std::vector<int> prepared_inputs;
  if (entry != nullptr && entry->signature.Matches(feeds)) {
    plan_inputs = &entry->signature.plan_inputs;
  } else {
    StatusOr<Entry*> found = FindOrCompile(feeds, &prepared_inputs);
    if (!found.ok()) return found.status().WithContext(source_);
    entry = *found;
    plan_inputs = &prepared_inputs;
  }
  std::unique_ptr<Context> context(entry->spare.exchange(nullptr, std::memory_order_acquire));
  if (!context) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!entry->idle.empty()) {
      context = std::move(entry->idle.back());
      entry->idle.pop_back();
    }
  }
  if (!context) {
    context = std::make_unique<Context>(entry->plan);
    if (profile_) context->state.EnableProfiling();
  }
  for (size_t i = 0; i < plan_inputs->size(); ++i) {
    context->pointers[i] = feeds[(*plan_inputs)[i]].tensor.data();
  }
  lease->entry = entry;
  lease->context = std::move(context);
  return Status::Ok();
}

void PlanCache::Release(Lease lease, bool ran) const {
  Entry* entry = lease.entry;
  if (ran && profile_) RecordProfile(lease.context->state, entry);
  Context* expected = nullptr;
  if (entry->spare.compare_exchange_strong(expected, lease.context.get(),
                                           std::memory_order_release)) {
    lease.context.release();
  } else {
    std::lock_guard<std::mutex> lock(mutex_);
    entry->idle.push_back(std::move(lease.context));
  }
}

Status PlanCache::PrepareFeeds(const std::vector<NamedTensor>& feeds, PreparedFeeds* out) const {
  std::vector<onednn::FeedSpec> given;
  given.reserve(feeds.size());
  for (const NamedTensor& f : feeds) given.push_back({f.name, f.tensor.dtype(), f.tensor.shape()});
  ASSIGN_OR_RETURN(const std::vector<int> feed_of, onednn::CheckFeeds(graph_, given));
  for (const NamedTensor& f : feeds) {
    if (f.tensor.byte_size() > 0 && f.tensor.data() == nullptr) {
      return InvalidArgument("input '" + f.name + "' has no data");
    }
  }
  const std::vector<ir::Value*>& inputs = graph_.inputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (feed_of[i] < 0) continue;
    const std::string& name = inputs[i]->name();
    const Tensor& t = feeds[feed_of[i]].tensor;
    out->specs.push_back(std::move(given[feed_of[i]]));
    out->tensors.push_back(&t);
    out->key += name + ":" + std::to_string(static_cast<int>(t.dtype())) + ShapeToString(t.shape());
    if (value_keyed_.count(name)) {
      out->key += "=";
      out->key.append(static_cast<const char*>(t.data()), t.byte_size());
      out->value_keyed = true;
    } else {
      out->plan_inputs.push_back(feed_of[i]);
    }
    out->key += ";";
  }
  return Status::Ok();
}

// Compiles the plan for `feeds`, specialised on the fed values kernels have
// asked for; null when compiling asked for another input's value (then the
// key changes: prepare and try again). Called with mutex_ held.
StatusOr<std::shared_ptr<const onednn::Plan>> PlanCache::Compile(PreparedFeeds* feeds) const {
  for (size_t i = 0; i < feeds->specs.size(); ++i) {
    if (value_keyed_.count(feeds->specs[i].name)) {
      ASSIGN_OR_RETURN(Tensor copy, CopyTensor(*feeds->tensors[i]));
      feeds->specs[i].value = std::make_shared<const Tensor>(std::move(copy));
    }
  }
  std::vector<std::string> wanted;
  StatusOr<std::shared_ptr<const onednn::Plan>> plan =
      onednn::CompilePlan(graph_, feeds->specs, options_, &wanted);
  if (plan.ok()) return plan;
  bool added = false;
  for (const std::string& name : wanted) {
    for (size_t i = 0; i < feeds->specs.size(); ++i) {
      if (feeds->specs[i].name == name && !value_keyed_.count(name) &&
          feeds->tensors[i]->num_elements() <= kMaxValueKeyedElements) {
        value_keyed_.insert(name);
        added = true;
      }
    }
  }
  if (!added) return plan.status();
  return std::shared_ptr<const onednn::Plan>(nullptr);
}

// The slow path: checks the feeds, builds the plan key, compiles when the
// key is new; `plan_inputs` receives the feed of each plan input. The
// entry's signature is the feeds of its first run, unless the plan is
// specialised on an input's value (then the key must be built each run).
StatusOr<PlanCache::Entry*> PlanCache::FindOrCompile(const std::vector<NamedTensor>& feeds,
                                                     std::vector<int>* plan_inputs) const {
  std::lock_guard<std::mutex> lock(mutex_);
  // A second attempt happens when compiling showed that the plan must be
  // specialised on the value of a fed input.
  for (int attempt = 0; attempt < 2; ++attempt) {
    PreparedFeeds prepared;
    RETURN_IF_ERROR(PrepareFeeds(feeds, &prepared));
    auto it = plans_.try_emplace(prepared.key).first;
    Entry& entry = it->second;
    if (!entry.plan) {
      StatusOr<std::shared_ptr<const onednn::Plan>> compiled = Compile(&prepared);
      if (!compiled.ok() || *compiled == nullptr) plans_.erase(it);
      if (!compiled.ok()) return compiled.status();
      if (*compiled == nullptr) continue;
      entry.plan = *compiled;
      for (const NamedTensor& f : feeds) {
        entry.signature.feeds.push_back({f.name, f.tensor.dtype(), f.tensor.shape()});
      }
      entry.signature.plan_inputs = prepared.plan_inputs;
      entry.signature.usable = !prepared.value_keyed;
    }
    *plan_inputs = std::move(prepared.plan_inputs);
    if (entry.signature.Matches(feeds)) hot_.store(&entry, std::memory_order_release);
    return &entry;
  }
  return Internal("no plan after specialising on input values");
}

// Keeps the step times of a run. Past kMaxProfiledRuns runs a run's times
// replace a kept run's with probability kept/seen (reservoir sampling), so
// a profiled service holds bounded memory while its medians stay those of
// a uniform sample; the means stay exact.
void PlanCache::RecordProfile(const onednn::ExecState& state, Entry* entry) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::vector<double>& times = state.step_ms();
  entry->step_ms.resize(times.size());
  entry->step_ms_sum.resize(times.size(), 0.0);
  const uint64_t seen = static_cast<uint64_t>(entry->profiled_runs);
  size_t slot = seen;
  if (seen >= kMaxProfiledRuns) {
    entry->sampler = entry->sampler * 6364136223846793005ULL + 1442695040888963407ULL;
    slot = static_cast<size_t>((entry->sampler >> 11) % (seen + 1));
  }
  for (size_t s = 0; s < times.size(); ++s) {
    entry->step_ms_sum[s] += times[s];
    if (slot < entry->step_ms[s].size()) {
      entry->step_ms[s][slot] = static_cast<float>(times[s]);
    } else if (slot == entry->step_ms[s].size()) {
      entry->step_ms[s].push_back(static_cast<float>(times[s]));
    }
  }
  if (entry->implementations.empty()) entry->implementations = state.step_implementations();
  ++entry->profiled_runs;
}

SessionStats PlanCache::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SessionStats stats;
  stats.plans = static_cast<int64_t>(plans_.size());
  for (const auto& [key, entry] : plans_) {
    stats.idle_contexts += static_cast<int64_t>(entry.idle.size()) +
                           (entry.spare.load(std::memory_order_relaxed) != nullptr ? 1 : 0);
  }
  return stats;
}

std::vector<PlanProfile> PlanCache::TakeProfile() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PlanProfile> profiles;
  for (auto& [key, entry] : plans_) {
    if (entry.profiled_runs == 0) continue;
    PlanProfile profile;
    for (const FeedSignature::Feed& feed : entry.signature.feeds) {
      profile.inputs.push_back({feed.name, feed.dtype, feed.dims, {}});
    }
    profile.runs = entry.profiled_runs;
    for (size_t s = 0; s < entry.step_ms.size(); ++s) {
      const onednn::PlanStep& step = entry.plan->steps[s];
      StepProfile out;
      out.label = step.label;
      out.implementation = entry.implementations[s];
      for (int id : step.outputs) {
        if (id < 0) continue;
        const onednn::TensorDesc& desc = entry.plan->values[id].desc;
        out.output_shape = desc.dims;
        out.output_layout = desc.is_plain() ? "plain" : onednn::LayoutName(desc.layout);
        break;
      }
      std::vector<float>& times = entry.step_ms[s];
      out.mean_ms = entry.step_ms_sum[s] / static_cast<double>(entry.profiled_runs);
      // The lower median, as `bnfold bench` reports a run's.
      auto middle = times.begin() + static_cast<std::ptrdiff_t>((times.size() - 1) / 2);
      std::nth_element(times.begin(), middle, times.end());
      out.median_ms = *middle;
      profile.steps.push_back(std::move(out));
    }
    profiles.push_back(std::move(profile));
    entry.step_ms.clear();
    entry.step_ms_sum.clear();
    entry.profiled_runs = 0;
  }
  return profiles;
}

}  // namespace bnfold
