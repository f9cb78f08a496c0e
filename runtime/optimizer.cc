// OptimizeModel: load -> passes -> export, over the same loader and pass
// pipeline a Session uses (InspectModel, which describes instead of
// exporting, is inspect.cc).
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

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "passes/pass.h"
#include "runtime/common/file_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/constant_evaluator.h"
#include "runtime/onnx/exporter.h"
#include "runtime/onnx/loader.h"
#include "runtime/pass_outcomes.h"

namespace bnfold {

namespace {

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

}  // namespace

std::vector<std::string> AvailablePasses() { return passes::PassManager::AvailablePasses(); }

namespace {

// Where an optimized model goes: a file (with its external-data file when
// it needs one) and/or serialized into memory.
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

}  // namespace bnfold
