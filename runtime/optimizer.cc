// OptimizeModel / InspectModel: load -> passes -> export (optimize) or
// describe (inspect), over the same loader and pass pipeline a Session uses.
#include "bnfold/optimizer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <unordered_set>

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "passes/fold/batchnorm_diagnostics.h"
#include "passes/pass.h"
#include "runtime/common/file_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/constant_evaluator.h"
#include "runtime/onnx/exporter.h"
#include "runtime/onnx/loader.h"

namespace bnfold {

namespace {

// ---------------------------------------------------------------- decisions

// How a BN is named in reports, and the two spellings a pass may use for it.
struct BatchNormKey {
  size_t id = 0;
  std::string label;        // name, or "BatchNormalization #N" when unnamed
  std::string name;
  std::string description;  // Node::Describe()
};

std::vector<BatchNormKey> ListBatchNorms(const ir::Graph& graph) {
  std::vector<BatchNormKey> keys;
  for (const ir::Node* n : graph.nodes()) {
    if (n->kind() != ir::OpKind::kBatchNormalization) continue;
    keys.push_back({n->id(), n->name().empty() ? n->Describe() : n->name(), n->name(),
                    n->Describe()});
  }
  return keys;
}

// One outcome per BN of the input graph, merged over every pass that
// reported on it: folded as soon as one pass folded it; otherwise every
// pass's reason, so the user sees why each candidate fold was refused.
std::vector<BatchNormOutcome> MergeDecisions(const std::vector<BatchNormKey>& keys,
                                             const passes::PipelineReport& report,
                                             const ir::Graph& optimized) {
  std::unordered_set<size_t> surviving;
  for (const ir::Node* n : optimized.nodes()) surviving.insert(n->id());
  std::vector<BatchNormOutcome> outcomes;
  for (const BatchNormKey& key : keys) {
    BatchNormOutcome outcome;
    outcome.node = key.label;
    std::vector<std::string> reasons, briefs;
    for (const passes::PassReport& pass : report.passes) {
      for (const passes::BatchNormDecision& d : pass.batchnorm) {
        if (d.node.empty() || (d.node != key.name && d.node != key.description)) continue;
        if (d.folded) {
          if (!outcome.folded) {
            outcome.folded = true;
            outcome.folded_into = d.folded_into;
            outcome.reason = "folded by " + pass.pass;
          }
        } else if (!d.reason.empty()) {
          const std::string reason = pass.pass + ": " + d.reason;
          if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) {
            reasons.push_back(reason);
          }
          if (!d.brief.empty() && std::find(briefs.begin(), briefs.end(), d.brief) == briefs.end()) {
            briefs.push_back(d.brief);
          }
        }
      }
    }
    if (!outcome.folded) {
      for (const std::string& r : reasons) {
        outcome.reason += (outcome.reason.empty() ? "" : "; ") + r;
      }
      outcome.summary = "kept";
      for (size_t i = 0; i < briefs.size(); ++i) {
        outcome.summary += (i == 0 ? ": " : ", ") + briefs[i];
      }
      if (outcome.reason.empty()) {
        if (!surviving.count(key.id)) {
          outcome.reason = "removed by the passes, which reported no fold for it";
          outcome.summary = "removed";
        } else if (report.passes.empty()) {
          outcome.reason = "no pass ran";
          outcome.summary = "kept: no pass ran";
        } else {
          outcome.reason = "no pass in the pipeline reported on it";
        }
      }
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

// ---------------------------------------------------------------- files

struct FileId {
  dev_t device = 0;
  ino_t inode = 0;
};

std::optional<FileId> StatFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

bool SameFile(const std::optional<FileId>& a, const std::optional<FileId>& b) {
  return a && b && a->device == b->device && a->inode == b->inode;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The files the input model keeps its external data in. Only read for models
// that had external data, whose .onnx file is small.
StatusOr<std::vector<std::string>> ExternalDataFiles(const std::string& model_path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(model_path, onnx_io::kMaxModelFileBytes));
  onnx::ModelProto proto;
  if (!proto.ParseFromString(bytes)) return InvalidModel(model_path + ": does not parse");
  std::set<std::string> files;
  for (const auto& init : proto.graph().initializer()) {
    for (const auto& entry : init.external_data()) {
      if (entry.key() == "location") files.insert(DirName(model_path) + "/" + entry.value());
    }
  }
  return std::vector<std::string>(files.begin(), files.end());
}

// ---------------------------------------------------------------- export

// Initializers below this stay inline even in an external-data model (as
// onnx.save_model does): shape constants and the like are read at load.
constexpr size_t kExternalThresholdBytes = 1024;
// Offsets are 64-byte aligned for SIMD loads of mmapped data, and 64 KiB
// aligned (the largest mmap granularity in use) for tensors of 1 MiB or more.
constexpr size_t kSmallAlignment = 64;
constexpr size_t kLargeAlignment = 64 * 1024;
constexpr size_t kLargeTensorBytes = 1024 * 1024;

// Moves the data of big initializers (and of those that were external in the
// input) into `data_file`, replacing it in the proto by external_data
// references relative to the model's folder.
Status MoveInitializersToFile(const std::set<std::string>& were_external,
                              const std::string& location, onnx::GraphProto* graph,
                              PendingFile* data_file) {
  for (onnx::TensorProto& init : *graph->mutable_initializer()) {
    if (init.data_type() == onnx::TensorProto::STRING || !init.has_raw_data()) continue;
    const size_t size = init.raw_data().size();
    if (size < kExternalThresholdBytes && !were_external.count(init.name())) continue;
    RETURN_IF_ERROR(data_file->Align(size >= kLargeTensorBytes ? kLargeAlignment : kSmallAlignment));
    const size_t offset = data_file->written();
    RETURN_IF_ERROR(data_file->Write(init.raw_data().data(), size));
    init.clear_raw_data();
    init.set_data_location(onnx::TensorProto::EXTERNAL);
    init.clear_external_data();
    auto add_entry = [&init](const std::string& key, const std::string& value) {
      auto* entry = init.add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    };
    add_entry("location", location);
    add_entry("offset", std::to_string(offset));
    add_entry("length", std::to_string(size));
  }
  return Status::Ok();
}

// IR 3 requires every initializer to be declared as a graph input too; a
// pass may have created initializers (folded weights) the IR does not list.
void DeclareInitializersAsInputs(onnx::GraphProto* graph) {
  std::unordered_set<std::string> inputs;
  for (const auto& in : graph->input()) inputs.insert(in.name());
  for (const auto& init : graph->initializer()) {
    if (inputs.count(init.name())) continue;
    onnx::ValueInfoProto* info = graph->add_input();
    info->set_name(init.name());
    auto* tensor_type = info->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(init.data_type());
    auto* shape = tensor_type->mutable_shape();
    for (int64_t d : init.dims()) shape->add_dim()->set_dim_value(d);
  }
}

// Why the installed ONNX checker cannot judge `model` ("" when it can).
std::string CheckerOutOfRange(const onnx::ModelProto& model) {
  if (model.ir_version() > onnx::IR_VERSION) {
    return "IR version " + std::to_string(model.ir_version()) + " is newer than the checker's (" +
           std::to_string(onnx::IR_VERSION) + ")";
  }
  const auto& ranges = onnx_io::InstalledOpsetRanges();
  for (const auto& o : model.opset_import()) {
    const std::string domain = o.domain() == "ai.onnx" ? "" : o.domain();
    auto it = ranges.find(domain);
    if (it != ranges.end() && o.version() > it->second.second) {
      return "opset " + std::to_string(o.version()) +
             (domain.empty() ? "" : " of " + domain) + " is newer than the checker's (" +
             std::to_string(it->second.second) + ")";
    }
  }
  return "";
}

Status RunChecker(const onnx::ModelProto& model, const std::string& path) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Internal(path + ": the optimized model fails the ONNX checker (a bug in a pass): " +
                    e.what());
  }
  return Status::Ok();
}

Status RefuseToOverwriteInput(const std::string& input_path, const std::string& output_path,
                              const std::string& data_path, bool input_has_external_data) {
  const std::optional<FileId> input = StatFile(input_path);
  for (const std::string& target : {output_path, data_path}) {
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      // Caught here because a rename onto a directory would fail only after
      // the other file of the pair was already in place.
      return InvalidArgument(target + " is a directory");
    }
  }
  if (input_path == output_path || SameFile(input, StatFile(output_path))) {
    return InvalidArgument(output_path + " is the input model: refusing to overwrite it");
  }
  if (SameFile(input, StatFile(data_path))) {
    return InvalidArgument(data_path + " (the external-data file of " + output_path +
                           ") is the input model: refusing to overwrite it");
  }
  if (!input_has_external_data) return Status::Ok();
  ASSIGN_OR_RETURN(std::vector<std::string> files, ExternalDataFiles(input_path));
  for (const std::string& file : files) {
    const std::optional<FileId> id = StatFile(file);
    for (const std::string& target : {output_path, data_path}) {
      if (SameFile(id, StatFile(target))) {
        return InvalidArgument(target + " holds the input model's external data: "
                               "refusing to overwrite it");
      }
    }
  }
  return Status::Ok();
}

// Writes `model`, its big initializers in `data_path`: both files complete
// on disk before either is renamed into place.
Status WriteWithExternalData(onnx::ModelProto* model, const std::set<std::string>& were_external,
                             const std::string& path, const std::string& data_path) {
  PendingFile data_file(data_path);
  RETURN_IF_ERROR(data_file.Open());
  RETURN_IF_ERROR(MoveInitializersToFile(were_external, BaseName(data_path),
                                         model->mutable_graph(), &data_file));
  RETURN_IF_ERROR(data_file.Finish());
  if (model->ByteSizeLong() > onnx_io::kMaxModelFileBytes) {
    return Unsupported(path + ": the model is over 2 GiB even with its weights external");
  }
  PendingFile model_file(path);
  RETURN_IF_ERROR(model_file.Open());
  RETURN_IF_ERROR(onnx_io::SerializeModel(*model, &model_file));
  RETURN_IF_ERROR(model_file.Finish());
  RETURN_IF_ERROR(data_file.Commit());
  return model_file.Commit();
}

// The float attribute as the decimal the user wrote (1e-05, not
// 9.99999975e-06): the shortest one that reads back as the same float.
double ShortestDecimal(float value) {
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    if (std::strtof(buf, nullptr) == value) break;
  }
  return std::strtod(buf, nullptr);
}

}  // namespace

std::vector<std::string> AvailablePasses() { return passes::PassManager::AvailablePasses(); }

namespace {

// The passes `names` (the default pipeline when empty), as a Session runs
// them: with the backend's kernels evaluating constants.
StatusOr<passes::PassManager> Pipeline(const std::vector<std::string>& names,
                                       bool fold_large_constants = false) {
  return passes::PassManager::Create(names, RuntimePassOptions(fold_large_constants));
}

// Where an optimized model goes: a file (with its external-data file when
// it needs one) and/or serialized into memory.
onnx_io::LoadOptions StrictLoad(bool strict) {
  onnx_io::LoadOptions load;
  load.strict = strict;
  return load;
}

struct OptimizeTarget {
  std::string input_path;   // "" for a model given in memory
  std::string output_path;  // "" for none
  std::string* bytes = nullptr;
};

StatusOr<OptimizeReport> Optimize(onnx_io::LoadedModel loaded, const OptimizeTarget& target,
                                  passes::PassManager& manager) {
  const std::string& name = target.input_path.empty() ? loaded.model.source : target.input_path;
  ir::Graph& graph = *loaded.model.graph;
  const std::vector<BatchNormKey> batchnorms = ListBatchNorms(graph);
  passes::PipelineReport pipeline;
  RETURN_IF_ERROR(manager.Run(graph, &pipeline).WithContext(name));

  OptimizeReport report;
  for (const passes::PassReport& p : pipeline.passes) {
    report.passes.push_back({p.pass, p.rewrites, p.notes});
    ConstantFoldingSummary& c = report.constant_folding;
    c.evaluated += p.constants.evaluated;
    c.kept_over_budget += p.constants.kept_over_budget;
    c.bytes_added += p.constants.bytes_added;
    c.budget_bytes = std::max(c.budget_bytes, p.constants.budget_bytes);
  }
  report.batchnorm_before = pipeline.batchnorm_before;
  report.batchnorm_after = pipeline.batchnorm_after;
  report.nodes_before = pipeline.nodes_before;
  report.nodes_after = pipeline.nodes_after;
  report.batchnorm = MergeDecisions(batchnorms, pipeline, graph);
  report.notes = loaded.notes;
  report.warnings = loaded.warnings;

  ASSIGN_OR_RETURN(std::unique_ptr<onnx::ModelProto> model,
                   onnx_io::ExportModel(*loaded.skeleton, graph));
  if (model->ir_version() <= 3) DeclareInitializersAsInputs(model->mutable_graph());

  // Checked with every weight inline: the 1.12 checker resolves external
  // data against the working directory, and the files are not in place yet.
  const std::string out_of_range = CheckerOutOfRange(*model);
  const std::string& checked = target.output_path.empty() ? name : target.output_path;
  if (out_of_range.empty()) {
    Status verdict = RunChecker(*model, checked);
    if (!verdict.ok() && loaded.checker_failed) {
      // The input already failed it (a warning): not the passes' doing.
      report.notes.push_back("the output fails the ONNX checker as the input did: " +
                             verdict.message());
    } else {
      RETURN_IF_ERROR(verdict);
      report.checker_ran = true;
    }
  } else {
    report.notes.push_back("ONNX checker skipped on the output: " + out_of_range);
  }

  const bool external = !loaded.external_initializers.empty() ||
                        model->ByteSizeLong() > onnx_io::kMaxModelFileBytes;
  if (target.bytes != nullptr) {
    if (external) {
      return Unsupported(name + ": the optimized model keeps its weights in an external-data "
                         "file; write it to a file instead of to memory");
    }
    if (!model->SerializeToString(target.bytes)) {
      return Internal(name + ": cannot serialize the optimized model");
    }
  }
  if (target.output_path.empty()) return report;
  if (external) {
    const std::string data_path = target.output_path + ".data";
    RETURN_IF_ERROR(WriteWithExternalData(model.get(), loaded.external_initializers,
                                          target.output_path, data_path));
    report.external_data_path = data_path;
  } else if (target.bytes != nullptr) {
    RETURN_IF_ERROR(WriteFileAtomically(target.output_path, *target.bytes));
  } else {
    RETURN_IF_ERROR(onnx_io::WriteModelFile(*model, target.output_path));
  }
  return report;
}

}  // namespace

StatusOr<OptimizeReport> OptimizeModel(const std::string& input_path,
                                       const std::string& output_path,
                                       const OptimizeOptions& options) {
  if (output_path.empty()) return InvalidArgument("no output path given");
  const std::string data_path = output_path + ".data";
  // Checked before and after loading: a cheap refusal first, then the
  // external-data files the load revealed.
  RETURN_IF_ERROR(RefuseToOverwriteInput(input_path, output_path, data_path, false));
  ASSIGN_OR_RETURN(passes::PassManager manager,
                   Pipeline(options.passes, options.fold_large_constants));
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelFile(input_path, StrictLoad(options.strict)));
  RETURN_IF_ERROR(RefuseToOverwriteInput(input_path, output_path, data_path,
                                         !loaded.external_initializers.empty()));
  return Optimize(std::move(loaded), {input_path, output_path, nullptr}, manager);
}

StatusOr<OptimizeReport> OptimizeModelToBytes(const std::string& input_path,
                                              std::string* optimized,
                                              const OptimizeOptions& options) {
  if (optimized == nullptr) return InvalidArgument("OptimizeModelToBytes: no output string");
  ASSIGN_OR_RETURN(passes::PassManager manager,
                   Pipeline(options.passes, options.fold_large_constants));
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelFile(input_path, StrictLoad(options.strict)));
  return Optimize(std::move(loaded), {input_path, "", optimized}, manager);
}

StatusOr<OptimizeReport> OptimizeModelBytes(std::string_view model,
                                            const std::string& output_path,
                                            std::string* optimized,
                                            const OptimizeOptions& options) {
  if (output_path.empty() && optimized == nullptr) {
    return InvalidArgument("OptimizeModelBytes: neither an output path nor an output string");
  }
  std::string serialized;
  ASSIGN_OR_RETURN(passes::PassManager manager,
                   Pipeline(options.passes, options.fold_large_constants));
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelBytes(model, "", "<memory>", StrictLoad(options.strict)));
  return Optimize(std::move(loaded), {"", output_path, optimized ? optimized : &serialized},
                  manager);
}

namespace {

// What the passes did with each Transpose of `graph`: the first change any
// pass made, else every pass's reason for leaving it.
std::vector<TransposeInfo> TransposeOutcomes(const ir::Graph& graph,
                                             const passes::PipelineReport& report) {
  std::vector<TransposeInfo> outcomes;
  for (const ir::Node* n : graph.nodes()) {
    if (n->kind() != ir::OpKind::kTranspose) continue;
    TransposeInfo t;
    t.name = n->name().empty() ? n->Describe() : n->name();
    for (const passes::PassReport& pass : report.passes) {
      for (const passes::NodeDecision& d : pass.nodes) {
        if (d.node != n->name() && d.node != n->Describe()) continue;
        if (d.changed && !t.changed) {
          t.changed = true;
          t.outcome = d.outcome;
        } else if (!t.changed && !d.changed) {
          const std::string reason = pass.pass + ": " + d.outcome;
          if (t.outcome.find(reason) == std::string::npos) {
            t.outcome += (t.outcome.empty() ? "" : "; ") + reason;
          }
        }
      }
    }
    if (t.outcome.empty()) t.outcome = "no pass in the pipeline reported on it";
    outcomes.push_back(std::move(t));
  }
  return outcomes;
}

StatusOr<ModelInfo> Inspect(const onnx_io::LoadedModel& loaded, passes::PassManager& manager) {
  const std::string& path = loaded.model.source;
  const ir::Model& model = loaded.model;
  const ir::Graph& graph = *model.graph;

  ModelInfo info;
  info.ir_version = model.ir_version;
  info.opset = model.DefaultOpset();
  info.producer_name = model.producer_name;
  info.producer_version = model.producer_version;
  info.nodes = static_cast<int>(graph.num_nodes());
  info.notes = loaded.notes;
  info.warnings = loaded.warnings;
  for (const ir::Node* n : graph.nodes()) {
    const bool default_domain = n->domain().empty() || n->domain() == "ai.onnx";
    ++info.ops[default_domain ? n->op_type() : n->domain() + "." + n->op_type()];
  }

  // The decisions come from running the pipeline on a copy.
  std::unique_ptr<ir::Graph> optimized = graph.Clone();
  passes::PipelineReport pipeline;
  RETURN_IF_ERROR(manager.Run(*optimized, &pipeline).WithContext(path));
  const std::vector<BatchNormKey> keys = ListBatchNorms(graph);
  const std::vector<BatchNormOutcome> outcomes = MergeDecisions(keys, pipeline, *optimized);

  size_t k = 0;
  for (const ir::Node* n : graph.nodes()) {
    if (n->kind() != ir::OpKind::kBatchNormalization) continue;
    const BatchNormOutcome& outcome = outcomes[k++];
    BatchNormInfo bn;
    bn.name = outcome.node;
    bn.opset = n->opset();
    bn.training_mode = ir::GetBatchNormMode(*n).training;
    bn.epsilon = ShortestDecimal(n->attrs<ir::BatchNormAttrs>().epsilon);
    const ir::Value* x = n->input(0);
    if (x == nullptr || x->is_graph_input()) {
      bn.producer = x && x->constant_data() ? "(constant)" : "(graph input)";
    } else if (x->producer() != nullptr) {
      bn.producer = x->producer()->op_type();
    } else {
      bn.producer = "(constant)";
    }
    if (const ir::Value* y = n->output(0)) {
      for (const ir::Use& use : y->uses()) bn.consumers.push_back(use.node->op_type());
      if (y->is_graph_output()) bn.consumers.push_back("(graph output)");
    }
    if (outcome.folded) bn.folds_into = outcome.folded_into;
    bn.reason = outcome.reason;
    bn.summary = outcome.summary;
    bn.diagnostics = passes::DiagnoseBatchNorm(*n, model.producer_name);
    info.batchnorm.push_back(std::move(bn));
  }
  info.transposes = TransposeOutcomes(graph, pipeline);
  return info;
}

}  // namespace

StatusOr<ModelInfo> InspectModel(const std::string& path, const InspectOptions& options) {
  ASSIGN_OR_RETURN(passes::PassManager manager, Pipeline(options.passes));
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelFile(path, StrictLoad(options.strict)));
  return Inspect(loaded, manager);
}

StatusOr<ModelInfo> InspectModelBytes(std::string_view model, const InspectOptions& options) {
  ASSIGN_OR_RETURN(passes::PassManager manager, Pipeline(options.passes));
  ASSIGN_OR_RETURN(onnx_io::LoadedModel loaded,
                   onnx_io::LoadModelBytes(model, "", "<memory>", StrictLoad(options.strict)));
  return Inspect(loaded, manager);
}

}  // namespace bnfold
