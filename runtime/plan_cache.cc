#include "runtime/plan_cache.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "runtime/backend/onednn/feeds.h"
#include "runtime/common/status_macros.h"

namespace bnfold {

namespace {

// Runs whose step times a profile keeps per plan (~64 KiB per step).
constexpr uint64_t kMaxProfiledRuns = 16384;
// The largest input whose value a plan may be specialised on: shape-like
// operands (shapes, axes, pads, repeats, scales). Larger ones, whose values
// change from run to run (NonMaxSuppression's boxes), run in stages
// instead, so a served model does not compile and keep a plan per request.
constexpr int64_t kMaxValueKeyedElements = 64;

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
    if (entry->split_at != kNoSplit) {
      Status staged = RunStages(feeds, entry->split_at, lease);
      return staged.ok() ? staged : staged.WithContext(source_);
    }
  }
  std::unique_ptr<Context> context = TakeContext(entry);
  for (size_t i = 0; i < plan_inputs->size(); ++i) {
    context->pointers[i] = feeds[(*plan_inputs)[i]].tensor.data();
  }
  lease->entry = entry;
  lease->context = std::move(context);
  return Status::Ok();
}

std::unique_ptr<PlanCache::Context> PlanCache::TakeContext(Entry* entry) const {
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
  return context;
}

void PlanCache::ReturnContext(Entry* entry, std::unique_ptr<Context> context) const {
  Context* expected = nullptr;
  if (entry->spare.compare_exchange_strong(expected, context.get(), std::memory_order_release)) {
    context.release();
  } else {
    std::lock_guard<std::mutex> lock(mutex_);
    entry->idle.push_back(std::move(context));
  }
}

void PlanCache::Release(Lease lease, bool ran) const {
  if (ran && profile_) RecordProfile(lease.context->state, lease.entry);
  ReturnContext(lease.entry, std::move(lease.context));
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
StatusOr<std::shared_ptr<const onednn::Plan>> PlanCache::Compile(PreparedFeeds* feeds,
                                                                  size_t* split_at) const {
  for (size_t i = 0; i < feeds->specs.size(); ++i) {
    if (value_keyed_.count(feeds->specs[i].name)) {
      ASSIGN_OR_RETURN(Tensor copy, CopyTensor(*feeds->tensors[i]));
      feeds->specs[i].value = std::make_shared<const Tensor>(std::move(copy));
    }
  }
  std::vector<std::string> wanted;
  StatusOr<std::shared_ptr<const onednn::Plan>> plan =
      onednn::CompilePlan(graph_, feeds->specs, options_, &wanted, nullptr, split_at);
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
  if (added) *split_at = kNoSplit;  // specialising comes first
  if (!added && *split_at == kNoSplit) return plan.status();
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
    if (!entry.plan && entry.split_at == kNoSplit) {
      size_t split_at = kNoSplit;
      StatusOr<std::shared_ptr<const onednn::Plan>> compiled = Compile(&prepared, &split_at);
      if (compiled.ok() && *compiled == nullptr && split_at != kNoSplit) {
        entry.split_at = split_at;  // runs in stages; no signature: keyed each run
        *plan_inputs = std::move(prepared.plan_inputs);
        return &entry;
      }
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

// One stage of a staged run: the nodes it runs (PlanSegment), the data of
// the values it is fed, and its plan-cache key.
struct PlanCache::Stage {
  onednn::PlanSegment segment;
  std::vector<const Tensor*> fed;  // parallel to segment.fed
  std::string key;
};

namespace {


// Positions in graph.nodes(); a node missing (a subgraph's) counts as after
// every stage.
size_t PositionOf(const std::unordered_map<const ir::Node*, size_t>& position,
                  const ir::Node* node) {
  auto it = position.find(node);
  return it == position.end() ? static_cast<size_t>(-1) : it->second;
}

std::string ValueKey(const std::string& name, const Tensor& t) {
  return name + ":" + std::to_string(static_cast<int>(t.dtype())) + ShapeToString(t.shape()) + ";";
}

// A tensor seen as a plan constant without a copy: valid while `t` lives.
std::shared_ptr<const Tensor> Borrow(const Tensor& t) {
  return std::shared_ptr<const Tensor>(&t, [](const Tensor*) {});
}

}  // namespace

// Points `context`'s inputs at the stage's fed values and the run's feeds,
// by name (a stage's plan takes the graph inputs, then its fed values).
void PlanCache::BindInputs(const std::vector<NamedTensor>& feeds, const Stage& stage,
                           Context* context) const {
  const onednn::Plan& plan = context->state.plan();
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const void* data = nullptr;
    for (size_t k = 0; k < stage.fed.size() && !data; ++k) {
      if (stage.segment.fed[k].first->name() == plan.inputs[i].name) data = stage.fed[k]->data();
    }
    for (size_t k = 0; k < feeds.size() && !data; ++k) {
      if (feeds[k].name == plan.inputs[i].name) data = feeds[k].tensor.data();
    }
    context->pointers[i] = data;
  }
}

// Runs the stages before the last (see the file comment) and leases the
// last: each split node's inputs are computed by a stage of their own, the
// node is compiled for their values, and the rest is compiled (once per
// shape of what it is fed) and may split again.
Status PlanCache::RunStages(const std::vector<NamedTensor>& feeds, size_t split,
                            Lease* lease) const {
  PreparedFeeds prepared;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    RETURN_IF_ERROR(PrepareFeeds(feeds, &prepared));
    // Inputs the plans are specialised on are constants of every stage.
    for (size_t i = 0; i < prepared.specs.size(); ++i) {
      if (value_keyed_.count(prepared.specs[i].name)) {
        prepared.specs[i].value = Borrow(*prepared.tensors[i]);
      }
    }
  }
  const std::vector<ir::Node*> nodes = graph_.nodes();
  std::unordered_map<const ir::Node*, size_t> position;
  for (size_t i = 0; i < nodes.size(); ++i) position[nodes[i]] = i;
  KnownValues known;
  // The stage running nodes [begin, end): fed the known values they read
  // (the last stage also those that are graph outputs), returning the
  // values they compute that later nodes read or that are graph outputs.
  auto make_stage = [&](size_t begin, size_t end, bool last) {
    Stage stage;
    stage.segment.begin = begin;
    stage.segment.end = end;
    stage.key = prepared.key + "|stage " + std::to_string(begin) + "-" + std::to_string(end) + "|";
    for (const auto& [value, tensor] : known) {
      bool read = last && value->is_graph_output();
      for (const ir::Use& use : value->uses()) {
        const size_t at = PositionOf(position, use.node);
        read = read || (at >= begin && at < end);
      }
      if (!read) continue;
      stage.segment.fed.push_back(
          {value, onednn::FeedSpec{value->name(), tensor.dtype(), tensor.shape(), nullptr}});
      stage.fed.push_back(&tensor);
      stage.key += ValueKey(value->name(), tensor);
    }
    for (size_t p = begin; !last && p < end; ++p) {
      for (const ir::Value* out : nodes[p]->outputs()) {
        if (out == nullptr) continue;
        bool needed = out->is_graph_output();
        for (const ir::Use& use : out->uses()) needed = needed || PositionOf(position, use.node) >= end;
        if (needed) stage.segment.outputs.push_back(out);
      }
    }
    return stage;
  };
  omp_set_num_threads(std::max(1, options_.threads));
  for (size_t begin = 0;;) {
    if (split > begin) {
      Stage before = make_stage(begin, split, false);
      if (!before.segment.outputs.empty()) {
        RETURN_IF_ERROR(RunStage(feeds, &prepared, before, &known));
      }
    }
    // The split node, compiled for the values it reads.
    Stage node = make_stage(split, split + 1, false);
    for (size_t i = 0; i < node.fed.size(); ++i) {
      node.segment.fed[i].second.value = Borrow(*node.fed[i]);
    }
    node.key.clear();  // not cached: its plan holds this run's values
    if (!node.segment.outputs.empty()) RETURN_IF_ERROR(RunStage(feeds, &prepared, node, &known));
    begin = split + 1;
    Stage rest = make_stage(begin, nodes.size(), true);
    ASSIGN_OR_RETURN(Entry* entry, FindOrCompileStage(&prepared, rest));
    if (entry->split_at != kNoSplit) {
      split = entry->split_at;
      continue;
    }
    std::unique_ptr<Context> context = TakeContext(entry);
    BindInputs(feeds, rest, context.get());
    lease->entry = entry;
    lease->context = std::move(context);
    lease->staged.clear();
    for (auto& [value, tensor] : known) lease->staged.push_back(std::move(tensor));
    return Status::Ok();
  }
}

// The plan of a stage that does not hold values (cached under the stage's
// key), or an entry saying the stage splits again.
StatusOr<PlanCache::Entry*> PlanCache::FindOrCompileStage(PreparedFeeds* feeds,
                                                          const Stage& stage) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = plans_.try_emplace(stage.key).first;
  Entry& entry = it->second;
  if (entry.plan || entry.split_at != kNoSplit) return &entry;
  size_t split_at = kNoSplit;
  StatusOr<std::shared_ptr<const onednn::Plan>> plan =
      onednn::CompilePlan(graph_, feeds->specs, options_, nullptr, &stage.segment, &split_at);
  if (plan.ok()) {
    entry.plan = *plan;
  } else if (split_at != kNoSplit) {
    entry.split_at = split_at;
  } else {
    plans_.erase(it);
    return plan.status();
  }
  return &entry;
}

// Runs one stage before the last and keeps what it returns in `known`. A
// stage without a key (the split node with its values) is compiled for
// this run only.
Status PlanCache::RunStage(const std::vector<NamedTensor>& feeds, PreparedFeeds* prepared,
                           const Stage& stage, KnownValues* known) const {
  std::unique_ptr<Context> context;
  Entry* entry = nullptr;
  if (stage.key.empty()) {
    // The graph inputs the node reads are given by value too.
    const ir::Node* node = graph_.nodes()[stage.segment.begin];
    std::vector<onednn::FeedSpec> specs = prepared->specs;
    for (size_t i = 0; i < specs.size(); ++i) {
      for (const ir::Value* in : node->inputs()) {
        if (in != nullptr && in->is_graph_input() && in->name() == specs[i].name) {
          specs[i].value = Borrow(*prepared->tensors[i]);
        }
      }
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const onednn::Plan> plan,
                     onednn::CompilePlan(graph_, specs, options_, nullptr, &stage.segment));
    context = std::make_unique<Context>(std::move(plan));
  } else {
    ASSIGN_OR_RETURN(entry, FindOrCompileStage(prepared, stage));
    if (!entry->plan) return Internal("a stage before a split node splits again");
    context = TakeContext(entry);
  }
  const onednn::Plan& plan = context->state.plan();
  BindInputs(feeds, stage, context.get());
  Status ran = context->state.Run(context->pointers);
  if (ran.ok()) {
    const std::vector<const ir::Value*>& outputs = stage.segment.outputs;
    for (size_t i = 0; i < plan.outputs.size() && i < outputs.size(); ++i) {
      const onednn::TensorDesc& d = plan.values[plan.outputs[i]].desc;
      StatusOr<Tensor> t = Tensor::Allocate(d.dtype, d.dims);
      if (!t.ok()) {
        ran = t.status();
        break;
      }
      if (t->byte_size()) std::memcpy(t->data(), context->state.output(i), t->byte_size());
      known->push_back({outputs[i], std::move(*t)});
    }
  }
  if (entry != nullptr) ReturnContext(entry, std::move(context));
  return ran;
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
