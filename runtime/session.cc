// Session = load -> optimize (passes) -> compile per input-shape signature
// (cached) -> run with a pooled execution context.
#include "bnfold/session.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "onnx/onnx_pb.h"
#include "passes/pass.h"
#include "runtime/backend/onednn/executor.h"
#include "runtime/backend/onednn/memory.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/common/file_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/constant_evaluator.h"
#include "runtime/onnx/loader.h"

namespace bnfold {

namespace {

TensorInfo DescribeValue(const ir::Value& v) {
  TensorInfo info;
  info.name = v.name();
  info.dtype = v.dtype();
  // bnfold's type; the declaration where bnfold does not know the rank.
  const std::optional<ir::StaticShape>& shape =
      v.shape() || !v.declared_type() ? v.shape() : v.declared_type()->shape;
  if (info.dtype == DataType::kUndefined && v.declared_type()) info.dtype = v.declared_type()->dtype;
  if (shape) {
    for (const ir::Dim& d : *shape) {
      info.shape.push_back(d.is_fixed() ? d.value : -1);
      info.dim_names.push_back(d.param);
    }
  } else if (v.constant_data()) {
    info.shape = v.constant_data()->shape();
    info.dim_names.assign(info.shape.size(), "");
  }
  return info;
}

ModelMetadata DescribeModel(const onnx::ModelProto& proto) {
  ModelMetadata meta;
  meta.producer_name = proto.producer_name();
  meta.producer_version = proto.producer_version();
  meta.domain = proto.domain();
  meta.model_version = proto.model_version();
  meta.description = proto.doc_string();
  meta.graph_name = proto.graph().name();
  meta.graph_description = proto.graph().doc_string();
  for (const auto& prop : proto.metadata_props()) meta.custom.emplace_back(prop.key(), prop.value());
  return meta;
}

// BNFOLD_FUSE=0 turns backend fusion off process-wide (see SessionOptions).
bool FusionAllowedByEnvironment() {
  static const bool allowed = [] {
    const char* value = std::getenv("BNFOLD_FUSE");
    return value == nullptr || std::strcmp(value, "0") != 0;
  }();
  return allowed;
}

}  // namespace

struct Session::Impl {
  SessionOptions options;
  int threads = 1;
  std::string source;  // the model's path or name, for errors
  std::unique_ptr<ir::Graph> graph;  // the graph that runs (optimized or not)
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> overridable;
  std::vector<TensorInfo> outputs;
  std::unordered_map<std::string, size_t> output_index;
  std::unordered_map<std::string, const ir::Value*> feedable;
  ModelMetadata metadata;
  int batchnorm_before = 0;
  int batchnorm_after = 0;
  std::vector<std::string> warnings;

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

    bool Matches(const std::vector<NamedTensor>& given) const {
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
  };

  // Runs whose step times a profile keeps per plan (~64 KiB per step).
  static constexpr uint64_t kMaxProfiledRuns = 16384;

  // One compiled plan per input signature, with a pool of idle contexts:
  // one spare taken and returned without the lock (the single-caller
  // serving loop), the rest under `mutex`.
  struct PlanEntry {
    std::shared_ptr<const onednn::Plan> plan;
    std::vector<std::unique_ptr<Context>> idle;  // guarded by `mutex`
    std::atomic<Context*> spare{nullptr};
    FeedSignature signature;
    // SessionOptions::profile, guarded by `mutex`: each step's time in the
    // runs kept since the last TakeProfile (see RecordProfile), the sum over
    // all of them, and what ran each step.
    std::vector<std::vector<float>> step_ms;
    std::vector<double> step_ms_sum;
    uint64_t sampler = 0;
    std::vector<std::string> implementations;
    int64_t profiled_runs = 0;

    ~PlanEntry() { delete spare.load(); }
  };
  mutable std::mutex mutex;
  mutable std::map<std::string, PlanEntry> plans;
  // The entry the last slow-path run used, when its feeds have a signature
  // (no input the plan is specialised on): later runs with the same
  // signature skip the key, the map and the lock.
  mutable std::atomic<PlanEntry*> hot{nullptr};
  // Reordered weights shared by this session's plans (one per batch size,
  // say): compiled once, held once.
  std::shared_ptr<onednn::ReorderedConstantCache> constant_cache =
      std::make_shared<onednn::ReorderedConstantCache>();

  Status Init(onnx_io::LoadedModel model, const SessionOptions& opts) {
    options = opts;
    threads = opts.threads > 0 ? opts.threads : omp_get_num_procs();
    source = model.model.source;
    warnings = std::move(model.warnings);
    if (model.skeleton) metadata = DescribeModel(*model.skeleton);
    // The session owns the only copy of the loaded graph: optimize it in
    // place, so a fold writes each weight nothing else reads over itself
    // and frees what it folds away. The rest of `model` goes here.
    graph = std::move(model.model.graph);
    batchnorm_before = ir::CountNodes(*graph, ir::OpKind::kBatchNormalization);
    if (options.optimize) {
      ASSIGN_OR_RETURN(passes::PassManager manager,
                       passes::PassManager::Create(options.passes, RuntimePassOptions()));
      RETURN_IF_ERROR(manager.Run(*graph, nullptr).WithContext(source));
    }
    batchnorm_after = ir::CountNodes(*graph, ir::OpKind::kBatchNormalization);
    // Refuse ops without a kernel now rather than on the first run.
    for (const ir::Node* node : graph->nodes()) {
      RETURN_IF_ERROR(onednn::CheckKernelExists(*node).WithContext(source));
    }
    for (const ir::Value* in : graph->inputs()) {
      feedable[in->name()] = in;
      if (in->constant_data()) {
        if (in->is_overridable()) overridable.push_back(DescribeValue(*in));
      } else {
        inputs.push_back(DescribeValue(*in));
      }
    }
    for (const ir::Value* out : graph->outputs()) {
      output_index[out->name()] = outputs.size();
      outputs.push_back(DescribeValue(*out));
    }
    return Status::Ok();
  }

  // A feed checked and keyed: specs in graph-input order, the data pointers
  // of those fed at run time, and the plan-cache key.
  struct PreparedFeeds {
    std::vector<onednn::FeedSpec> specs;
    std::vector<const Tensor*> tensors;  // parallel to specs
    std::vector<int> plan_inputs;        // run-time feeds (caller index), in plan order
    bool value_keyed = false;            // the key holds an input's value
    std::string key;
  };

  // Inputs whose values plans are specialised on, because a kernel needs
  // them when compiling (e.g. a Reshape shape fed as a graph input). Small
  // tensors only. Guarded by `mutex`.
  mutable std::set<std::string> value_keyed;
  static constexpr int64_t kMaxValueKeyedElements = 4096;

  Status PrepareFeeds(const std::vector<NamedTensor>& feeds, PreparedFeeds* out) const {
    std::map<std::string, const NamedTensor*> by_name;
    for (const NamedTensor& f : feeds) {
      auto it = feedable.find(f.name);
      if (it == feedable.end() || (it->second->constant_data() && !it->second->is_overridable())) {
        return InvalidArgument("'" + f.name + "' is not an input of the model");
      }
      if (!by_name.emplace(f.name, &f).second) {
        return InvalidArgument("input '" + f.name + "' is fed twice");
      }
      StatusOr<size_t> bytes = CheckedByteSize(f.tensor.dtype(), f.tensor.shape());
      if (!bytes.ok()) return bytes.status().WithContext("input '" + f.name + "'");
      if (*bytes > 0 && f.tensor.data() == nullptr) {
        return InvalidArgument("input '" + f.name + "' has no data");
      }
    }
    for (const ir::Value* in : graph->inputs()) {
      auto it = by_name.find(in->name());
      if (it == by_name.end()) continue;
      const Tensor& t = it->second->tensor;
      out->specs.push_back({in->name(), t.dtype(), t.shape(), nullptr});
      out->tensors.push_back(&t);
      out->key += in->name() + ":" + std::to_string(static_cast<int>(t.dtype())) +
                  ShapeToString(t.shape());
      if (value_keyed.count(in->name())) {
        out->key += "=";
        out->key.append(static_cast<const char*>(t.data()), t.byte_size());
        out->value_keyed = true;
      } else {
        out->plan_inputs.push_back(static_cast<int>(it->second - feeds.data()));
      }
      out->key += ";";
    }
    return Status::Ok();
  }

  // Compiles the plan for `feeds`, specialising on fed values the kernels
  // ask for. Called with `mutex` held.
  StatusOr<std::shared_ptr<const onednn::Plan>> Compile(PreparedFeeds* feeds) const {
    for (size_t i = 0; i < feeds->specs.size(); ++i) {
      if (value_keyed.count(feeds->specs[i].name)) {
        feeds->specs[i].value = std::make_shared<const Tensor>(*CopyTensor(*feeds->tensors[i]));
      }
    }
    onednn::CompileOptions compile_options;
    compile_options.threads = threads;
    compile_options.fuse = options.fuse && FusionAllowedByEnvironment();
    compile_options.constant_cache = constant_cache;
    std::vector<std::string> wanted;
    StatusOr<std::shared_ptr<const onednn::Plan>> plan =
        onednn::CompilePlan(*graph, feeds->specs, compile_options, &wanted);
    if (plan.ok()) return plan;
    bool added = false;
    for (const std::string& name : wanted) {
      for (size_t i = 0; i < feeds->specs.size(); ++i) {
        if (feeds->specs[i].name == name && !value_keyed.count(name) &&
            feeds->tensors[i]->num_elements() <= kMaxValueKeyedElements) {
          value_keyed.insert(name);
          added = true;
        }
      }
    }
    if (!added) return plan.status().WithContext(source);
    return StatusOr<std::shared_ptr<const onednn::Plan>>(nullptr);  // retry with the new key
  }

  static StatusOr<Tensor> CopyTensor(const Tensor& t) {
    StatusOr<Tensor> copy = Tensor::Allocate(t.dtype(), t.shape());
    if (copy.ok() && t.byte_size()) std::memcpy(copy->data(), t.data(), t.byte_size());
    return copy;
  }

  Status Run(const std::vector<NamedTensor>& feeds, std::vector<NamedTensor>* results) const {
    if (results == nullptr) return InvalidArgument("Run: outputs must not be null");
    PlanEntry* entry = hot.load(std::memory_order_acquire);
    const std::vector<int>* plan_inputs = nullptr;  // caller feed of each plan input
    std::vector<int> prepared_inputs;
    if (entry != nullptr && entry->signature.Matches(feeds)) {
      plan_inputs = &entry->signature.plan_inputs;
    } else {
      ASSIGN_OR_RETURN(entry, FindOrCompile(feeds, &prepared_inputs));
      plan_inputs = &prepared_inputs;
    }
    std::unique_ptr<Context> context(entry->spare.exchange(nullptr, std::memory_order_acquire));
    if (!context) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!entry->idle.empty()) {
        context = std::move(entry->idle.back());
        entry->idle.pop_back();
      }
    }
    if (!context) {
      context = std::make_unique<Context>(entry->plan);
      if (options.profile) context->state.EnableProfiling();
    }
    for (size_t i = 0; i < plan_inputs->size(); ++i) {
      context->pointers[i] = feeds[(*plan_inputs)[i]].tensor.data();
    }

    omp_set_num_threads(threads);
    Status status = context->state.Run(context->pointers);
    if (status.ok()) status = CollectOutputs(*entry->plan, context->state, results);
    if (status.ok() && options.profile) RecordProfile(context->state, entry);
    Context* expected = nullptr;
    if (entry->spare.compare_exchange_strong(expected, context.get(), std::memory_order_release)) {
      context.release();
    } else {
      std::lock_guard<std::mutex> lock(mutex);
      entry->idle.push_back(std::move(context));
    }
    return status.ok() ? status : status.WithContext(source);
  }

  // The slow path: checks the feeds, builds the plan key, compiles when the
  // key is new; `plan_inputs` receives the feed of each plan input. The
  // entry's signature is the feeds of its first run, unless the plan is
  // specialised on an input's value (then the key must be built each run).
  StatusOr<PlanEntry*> FindOrCompile(const std::vector<NamedTensor>& feeds,
                                     std::vector<int>* plan_inputs) const {
    std::lock_guard<std::mutex> lock(mutex);
    // A second attempt happens when compiling showed that the plan must be
    // specialised on the value of a fed input.
    for (int attempt = 0; attempt < 2; ++attempt) {
      PreparedFeeds prepared;
      RETURN_IF_ERROR(PrepareFeeds(feeds, &prepared));
      auto it = plans.try_emplace(prepared.key).first;
      PlanEntry& entry = it->second;
      if (!entry.plan) {
        StatusOr<std::shared_ptr<const onednn::Plan>> compiled = Compile(&prepared);
        if (!compiled.ok() || *compiled == nullptr) plans.erase(it);
        if (!compiled.ok()) return compiled.status();
        if (*compiled == nullptr) continue;
        entry.plan = *compiled;
        for (const NamedTensor& f : feeds) {
          entry.signature.feeds.push_back({f.name, f.tensor.dtype(), f.tensor.shape()});
        }
        entry.signature.plan_inputs = prepared.plan_inputs;
        // With an input's value in the key, the key must be built each run.
        entry.signature.usable = !prepared.value_keyed;
      }
      *plan_inputs = std::move(prepared.plan_inputs);
      if (entry.signature.Matches(feeds)) hot.store(&entry, std::memory_order_release);
      return &entry;
    }
    return Internal("no plan after specialising on input values");
  }

  // Keeps the step times of a run. Past kMaxProfiledRuns runs a run's times
  // replace a kept run's with probability kept/seen (reservoir sampling), so
  // a profiled service holds bounded memory while its medians stay those of
  // a uniform sample; the means stay exact.
  void RecordProfile(const onednn::ExecState& state, PlanEntry* entry) const {
    std::lock_guard<std::mutex> lock(mutex);
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

  SessionStats Stats() const {
    std::lock_guard<std::mutex> lock(mutex);
    SessionStats stats;
    stats.plans = static_cast<int64_t>(plans.size());
    for (const auto& [key, entry] : plans) {
      stats.idle_contexts += static_cast<int64_t>(entry.idle.size()) +
                             (entry.spare.load(std::memory_order_relaxed) != nullptr ? 1 : 0);
    }
    return stats;
  }

  std::vector<PlanProfile> TakeProfile() const {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<PlanProfile> profiles;
    for (auto& [key, entry] : plans) {
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

  Status CollectOutputs(const onednn::Plan& plan, const onednn::ExecState& state,
                        std::vector<NamedTensor>* results) const {
    auto desc_of = [&](size_t i) -> const onednn::TensorDesc& {
      return plan.values[plan.outputs[i]].desc;
    };
    if (results->empty()) {
      for (size_t i = 0; i < plan.outputs.size(); ++i) {
        const onednn::TensorDesc& d = desc_of(i);
        ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(d.dtype, d.dims));
        if (t.byte_size()) std::memcpy(t.data(), state.output(i), t.byte_size());
        results->push_back({plan.output_names[i], std::move(t)});
      }
      return Status::Ok();
    }
    for (size_t i = 0; i < results->size(); ++i) {
      NamedTensor& r = (*results)[i];
      // Buffers asked for in graph order need no lookup.
      size_t index = i;
      if (i >= plan.output_names.size() || r.name != plan.output_names[i]) {
        auto it = output_index.find(r.name);
        if (it == output_index.end()) {
          return InvalidArgument("'" + r.name + "' is not an output of the model");
        }
        index = it->second;
      }
      const onednn::TensorDesc& d = desc_of(index);
      if (r.tensor.data() == nullptr) {
        ASSIGN_OR_RETURN(r.tensor, Tensor::Allocate(d.dtype, d.dims));
      } else if (r.tensor.dtype() != d.dtype || r.tensor.shape() != d.dims) {
        return InvalidArgument("output '" + r.name + "' is " + DataTypeName(d.dtype) + " " +
                               ShapeToString(d.dims) + " but the buffer given is " +
                               DataTypeName(r.tensor.dtype()) + " " +
                               ShapeToString(r.tensor.shape()));
      }
      if (r.tensor.byte_size()) {
        std::memcpy(r.tensor.data(), state.output(index), r.tensor.byte_size());
      }
    }
    return Status::Ok();
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

namespace {

onnx_io::LoadOptions LoadOptionsFor(const SessionOptions& options) {
  onnx_io::LoadOptions load;
  load.strict = options.strict;
  return load;
}

}  // namespace

StatusOr<std::unique_ptr<Session>> Session::Open(const std::string& path,
                                                 const SessionOptions& options) {
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelFile(path, LoadOptionsFor(options)));
  auto impl = std::make_unique<Impl>();
  RETURN_IF_ERROR(impl->Init(std::move(loaded), options));
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

StatusOr<std::unique_ptr<Session>> Session::OpenFromBytes(std::string_view bytes,
                                                          const SessionOptions& options,
                                                          const std::string& base_dir) {
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelBytes(bytes, base_dir, "<memory>", LoadOptionsFor(options)));
  auto impl = std::make_unique<Impl>();
  RETURN_IF_ERROR(impl->Init(std::move(loaded), options));
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

const std::vector<TensorInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Session::overridable_initializers() const {
  return impl_->overridable;
}
const std::vector<TensorInfo>& Session::outputs() const { return impl_->outputs; }
const std::vector<std::string>& Session::warnings() const { return impl_->warnings; }
const ModelMetadata& Session::metadata() const { return impl_->metadata; }
SessionStats Session::stats() const { return impl_->Stats(); }

Status Session::Run(const std::vector<NamedTensor>& inputs,
                    std::vector<NamedTensor>* outputs) const {
  return impl_->Run(inputs, outputs);
}

std::vector<PlanProfile> Session::TakeProfile() const { return impl_->TakeProfile(); }

int Session::batchnorm_count_before() const { return impl_->batchnorm_before; }
int Session::batchnorm_count_after() const { return impl_->batchnorm_after; }

}  // namespace bnfold
