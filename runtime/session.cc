// Session = load -> optimize (passes) -> compile per input-shape signature
// (cached) -> run with a pooled execution context.
#include "bnfold/session.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "onnx/onnx_pb.h"
#include "passes/pass.h"
#include "runtime/backend/onednn/memory.h"
#include "runtime/common/file_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/constant_evaluator.h"
#include "runtime/onnx/loader.h"
#include "runtime/plan_cache.h"

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
  ModelMetadata metadata;
  int batchnorm_before = 0;
  int batchnorm_after = 0;
  std::vector<std::string> warnings;

  std::unique_ptr<PlanCache> plans;

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
    onednn::CompileOptions compile_options;
    compile_options.threads = threads;
    compile_options.fuse = options.fuse && FusionAllowedByEnvironment();
    compile_options.max_memory_bytes = static_cast<size_t>(options.max_memory_bytes);
    // Reordered weights shared by this session's plans (one per batch size,
    // say): compiled once, held once.
    compile_options.constant_cache = std::make_shared<onednn::ReorderedConstantCache>();
    plans = std::make_unique<PlanCache>(*graph, std::move(compile_options), options.profile,
                                        source);
    return Status::Ok();
  }

  Status Run(const std::vector<NamedTensor>& feeds, std::vector<NamedTensor>* results) const {
    if (results == nullptr) return InvalidArgument("Run: outputs must not be null");
    PlanCache::Lease lease;
    RETURN_IF_ERROR(plans->Acquire(feeds, &lease));
    onednn::ExecState& state = lease.context->state;
    omp_set_num_threads(threads);
    Status status = state.Run(lease.context->pointers);
    if (status.ok()) status = CollectOutputs(state.plan(), state, results);
    plans->Release(std::move(lease), status.ok());
    return status.ok() ? status : status.WithContext(source);
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
SessionStats Session::stats() const { return impl_->plans->Stats(); }

Status Session::Run(const std::vector<NamedTensor>& inputs,
                    std::vector<NamedTensor>* outputs) const {
  return impl_->Run(inputs, outputs);
}

std::vector<PlanProfile> Session::TakeProfile() const { return impl_->plans->TakeProfile(); }

int Session::batchnorm_count_before() const { return impl_->batchnorm_before; }
int Session::batchnorm_count_after() const { return impl_->batchnorm_after; }

}  // namespace bnfold
