#include "runtime/onnx/loader.h"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "onnx/onnx_pb.h"
#include "runtime/common/file_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_versions.h"
#include "runtime/ir/type_inference.h"
#include "runtime/onnx/external_data.h"
#include "runtime/onnx/guarded_inference.h"
#include "runtime/onnx/importer.h"

namespace bnfold::onnx_io {

const std::unordered_map<std::string, std::pair<int, int>>& InstalledOpsetRanges() {
  static const auto* ranges = [] {
    // Any lookup builds the registry (once, thread-safely) and with it the
    // table; after that nothing writes the table.
    (void)onnx::OpSchemaRegistry::Schema("Relu", onnx::ONNX_DOMAIN);
    return &onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  }();
  return *ranges;
}

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 10;
// Read size when parsing a model file.
constexpr int kParseBufferBytes = 1 << 20;

// The newest default-domain opset the installed ONNX library has schemas for.
int64_t InstalledOnnxMaxOpset() {
  const auto& ranges = InstalledOpsetRanges();
  auto it = ranges.find(onnx::ONNX_DOMAIN);
  return it == ranges.end() ? 0 : it->second.second;
}

Status CheckModelHeader(const onnx::ModelProto& proto) {
  if (!proto.has_graph()) {
    return InvalidModel("has no graph (is it an ONNX model?)");
  }
  if (proto.ir_version() <= 0) {
    return InvalidModel("has no ir_version (is it an ONNX model?)");
  }
  if (proto.ir_version() < kMinIrVersion || proto.ir_version() > kMaxIrVersion) {
    return Unsupported("IR version " + std::to_string(proto.ir_version()) +
                       " is outside the range bnfold reads (" +
                       std::to_string(kMinIrVersion) + " to " +
                       std::to_string(kMaxIrVersion) + ")");
  }
  int64_t opset = -1;
  std::set<std::string> domains;
  for (const auto& o : proto.opset_import()) {
    const std::string domain = o.domain() == "ai.onnx" ? "" : o.domain();
    if (!domains.insert(domain).second) {
      return InvalidModel("imports domain '" + (domain.empty() ? "ai.onnx" : domain) +
                          "' twice (opset_import)");
    }
    if (domain.empty()) opset = o.version();
  }
  if (opset < 0) {
    return InvalidModel("does not import the default ONNX domain (no opset_import for \"\")");
  }
  if (opset < 1) return InvalidModel("imports default-domain opset " + std::to_string(opset));
  if (opset > ir::kMaxKnownOpset) {
    return Unsupported("default-domain opset " + std::to_string(opset) +
                       " is newer than the newest bnfold knows (" +
                       std::to_string(ir::kMaxKnownOpset) + ")");
  }
  return Status::Ok();
}

// What a file that does not parse as a ModelProto most likely is.
std::string GuessFileType(std::string_view bytes) {
  auto starts_with = [&](std::string_view magic) {
    return bytes.substr(0, magic.size()) == magic;
  };
  if (starts_with("\x89PNG\r\n\x1a\n")) return "a PNG image";
  if (starts_with("\xff\xd8\xff")) return "a JPEG image";
  if (starts_with("\x93NUMPY")) return "a NumPy .npy array";
  if (starts_with("PK\x03\x04")) return "a zip archive (a PyTorch checkpoint?)";
  if (starts_with("\x89HDF")) return "an HDF5 file (a Keras model?)";
  if (starts_with("\x1f\x8b")) return "a gzip file";
  if (starts_with("\x7f" "ELF")) return "an executable";
  return "truncated or a different file type";
}

// Default-domain nodes whose op ONNX does not define at the model's opset
// (a typo, or an op from a custom domain without its domain): refused here
// with a message naming op, node and opset, rather than by the checker.
// Only possible up to the newest opset the installed ONNX library knows.
Status CheckOpsExist(const onnx::ModelProto& proto, int64_t default_opset) {
  if (default_opset > InstalledOnnxMaxOpset()) return Status::Ok();
  const auto& g = proto.graph();
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    if (!n.domain().empty() && n.domain() != "ai.onnx") continue;
    if (onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(default_opset),
                                       onnx::ONNX_DOMAIN) != nullptr) {
      continue;
    }
    const std::string desc =
        n.op_type() + (n.name().empty() ? " #" + std::to_string(i) : " '" + n.name() + "'");
    const bool exists_later =
        onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(InstalledOnnxMaxOpset()),
                                       onnx::ONNX_DOMAIN) != nullptr;
    return InvalidModel(desc + ": op '" + n.op_type() + "' does not exist in ONNX opset " +
                        std::to_string(default_opset) + " (domain 'ai.onnx')" +
                        (exists_later ? "; it was added in a later opset"
                                      : "; is it a custom op without its domain?"));
  }
  return Status::Ok();
}

// What ONNX's checker verifies of each node's input count, for models it
// cannot judge (an opset or IR version newer than the installed library):
// kernels read inputs by position, so a node without the inputs its op
// requires (ReduceMean with none, Slice without ends) must stop here. No
// op's required inputs have grown since opset 17, so the installed schemas
// serve newer opsets.
Status CheckRequiredInputs(const ir::Graph& graph, int64_t default_opset) {
  const int opset = static_cast<int>(std::min(default_opset, InstalledOnnxMaxOpset()));
  for (const ir::Node* node : graph.nodes()) {
    if (!node->domain().empty() && node->domain() != "ai.onnx") continue;
    const onnx::OpSchema* schema =
        onnx::OpSchemaRegistry::Schema(node->op_type(), opset, onnx::ONNX_DOMAIN);
    if (schema == nullptr) continue;
    if (node->num_explicit_inputs() < schema->min_input()) {
      return InvalidModel(node->Describe() + ": has " + std::to_string(node->num_explicit_inputs()) +
                          " inputs; " + node->op_type() + " needs at least " +
                          std::to_string(schema->min_input()));
    }
    const auto& formal = schema->inputs();
    for (int i = 0; i < node->num_inputs() && i < static_cast<int>(formal.size()); ++i) {
      if (node->input(i) == nullptr &&
          formal[i].GetOption() == onnx::OpSchema::FormalParameterOption::Single) {
        return InvalidModel(node->Describe() + ": input " + std::to_string(i) + " ('" +
                            formal[i].GetName() + "') is required but empty");
      }
    }
  }
  return Status::Ok();
}

// Copy of `proto` without nodes and initializers (moved out and back, so the
// big fields are never copied).
std::shared_ptr<const onnx::ModelProto> MakeSkeleton(onnx::ModelProto* proto) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  nodes.Swap(proto->mutable_graph()->mutable_node());
  initializers.Swap(proto->mutable_graph()->mutable_initializer());
  auto skeleton = std::make_shared<onnx::ModelProto>(*proto);
  nodes.Swap(proto->mutable_graph()->mutable_node());
  initializers.Swap(proto->mutable_graph()->mutable_initializer());
  return skeleton;
}

// Puts the proto's nodes in the IR's (sorted) order: ONNX's checker demands
// topological order, which some exporters do not write.
void SortProtoNodes(const ir::Graph& graph, onnx::GraphProto* g) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> sorted;
  for (const ir::Node* n : graph.nodes()) {
    *sorted.Add() = std::move(*g->mutable_node(static_cast<int>(n->id())));
  }
  g->mutable_node()->Swap(&sorted);
}

// Whether the installed ONNX library can judge this model: not when its
// opset is newer; when only the IR version is, the checker and shape
// inference run with the IR version lowered in memory (`lowered`).
struct OnnxVerdict {
  bool judgeable = true;
  bool lowered = false;
  std::string why;  // when not judgeable
};

OnnxVerdict JudgeableByOnnx(const onnx::ModelProto& proto) {
  OnnxVerdict verdict;
  const int64_t max_opset = InstalledOnnxMaxOpset();
  for (const auto& o : proto.opset_import()) {
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() > max_opset) {
      verdict.judgeable = false;
      verdict.why = "opset " + std::to_string(o.version()) +
                    " is newer than the installed ONNX library's (" + std::to_string(max_opset) +
                    ")";
      return verdict;
    }
  }
  verdict.lowered = proto.ir_version() > onnx::IR_VERSION;
  return verdict;
}

// Where ONNX's shape inference (`inferred`, with value_info it added beyond
// the model's own, `declared`) and bnfold's types contradict each other:
// one note per value, naming its producer.
std::vector<std::string> CompareWithOnnxTypes(const onnx::GraphProto& inferred,
                                              const std::set<std::string>& declared,
                                              const ir::Graph& graph) {
  std::vector<std::string> notes;
  for (const auto& info : inferred.value_info()) {
    if (declared.count(info.name())) continue;
    const ir::Value* v = graph.FindValue(info.name());
    if (v == nullptr || v->constant_data()) continue;
    const std::optional<ir::ValueType> onnx_type = ValueInfoType(info);
    if (!onnx_type) continue;
    bool differ = onnx_type->dtype != DataType::kUndefined && v->dtype() != DataType::kUndefined &&
                  onnx_type->dtype != v->dtype();
    if (onnx_type->shape && v->shape()) {
      const ir::StaticShape& a = *onnx_type->shape;
      const ir::StaticShape& b = *v->shape();
      differ = differ || a.size() != b.size();
      for (size_t i = 0; !differ && i < a.size(); ++i) {
        differ = a[i].is_fixed() && b[i].is_fixed() && a[i].value != b[i].value;
      }
    }
    if (!differ) continue;
    notes.push_back("ONNX shape inference and bnfold disagree on '" + info.name() + "'" +
                    (v->producer() ? " (output of " + v->producer()->Describe() + ")" : "") +
                    ": ONNX says " + ir::TypeToString(onnx_type->dtype, onnx_type->shape) +
                    ", bnfold computes " + ir::TypeToString(v->dtype(), v->shape()) +
                    " (bnfold's is used)");
  }
  return notes;
}

// Loader errors quote names and ONNX's own messages, which may span lines
// or hold control characters: a Status is one line.
Status OneLineStatus(const Status& status) {
  return Status(status.code(), OneLineText(status.message()));
}

// Everything after parsing: header checks, external data, import, sort,
// then ONNX's checker and shape inference.
StatusOr<LoadedModel> LoadParsedModel(std::unique_ptr<onnx::ModelProto> proto,
                                      const std::string& base_dir, const std::string& source,
                                      const LoadOptions& options);

// First bytes of the file at `fd`, for GuessFileType.
std::string FileHead(int fd) {
  char head[16];
  const ssize_t n = ::pread(fd, head, sizeof(head), 0);
  return n > 0 ? std::string(head, static_cast<size_t>(n)) : std::string();
}

// Parses the model file at `path` straight from its descriptor, through a
// small buffer: the file's bytes are never held next to the proto (for a
// 100 MB model that was 100 MB of peak memory, and as many page faults).
Status ParseModelFile(const std::string& path, onnx::ModelProto* proto) {
  StatusOr<ReadOnlyFile> file = ReadOnlyFile::Open(path, kMaxModelFileBytes);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kInvalidArgument) {
      return InvalidModel(file.status().message() +
                          " (models over 2 GiB must store weights as external data)");
    }
    return file.status();
  }
  // An empty file is a valid (empty) protobuf message: say what it is.
  if (file->size() == 0) return InvalidModel(path + ": is empty (0 bytes), not an ONNX model");
  google::protobuf::io::FileInputStream input(file->fd(), kParseBufferBytes);
  const bool parsed = proto->ParseFromZeroCopyStream(&input);
  if (input.GetErrno() != 0) {
    return IoError(path + ": read failed after " + std::to_string(input.ByteCount()) +
                   " bytes");
  }
  if (!parsed) {
    return InvalidModel(path + ": not an ONNX model (the protobuf does not parse: " +
                        GuessFileType(FileHead(file->fd())) + ")");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<LoadedModel> LoadModelFile(const std::string& path,
                                    const LoadOptions& options) {
  auto proto = std::make_unique<onnx::ModelProto>();
  if (Status parsed = ParseModelFile(path, proto.get()); !parsed.ok()) {
    return OneLineStatus(parsed);
  }
  StatusOr<LoadedModel> loaded = LoadParsedModel(std::move(proto), DirName(path), path, options);
  if (!loaded.ok()) return OneLineStatus(loaded.status());
  return loaded;
}

StatusOr<LoadedModel> LoadModelBytes(std::string_view bytes,
                                     const std::string& base_dir,
                                     const std::string& source,
                                     const LoadOptions& options) {
  // An empty buffer is a valid (empty) protobuf message: say what it is.
  if (bytes.empty()) {
    return OneLineStatus(InvalidModel(source + ": is empty (0 bytes), not an ONNX model"));
  }
  auto proto = std::make_unique<onnx::ModelProto>();
  if (bytes.size() > kMaxModelFileBytes ||
      !proto->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return OneLineStatus(InvalidModel(source + ": not an ONNX model (the protobuf does not parse: " +
                                      GuessFileType(bytes) + ")"));
  }
  StatusOr<LoadedModel> loaded = LoadParsedModel(std::move(proto), base_dir, source, options);
  if (!loaded.ok()) return OneLineStatus(loaded.status());
  return loaded;
}

namespace {

StatusOr<LoadedModel> LoadParsedModel(std::unique_ptr<onnx::ModelProto> proto,
                                      const std::string& base_dir, const std::string& source,
                                      const LoadOptions& options) {
  RETURN_IF_ERROR(CheckModelHeader(*proto).WithContext(source));

  LoadedModel loaded;
  // A complaint that does not stop bnfold from running the model: a warning,
  // or with LoadOptions::strict an error.
  auto complain = [&](const std::string& what) -> Status {
    if (options.strict) return InvalidModel(source + ": " + OneLineText(what));
    loaded.warnings.push_back(source + ": " + OneLineText(what));
    return Status::Ok();
  };
  loaded.skeleton = MakeSkeleton(proto.get());
  ExternalDataBudget budget;
  for (auto& init : *proto->mutable_graph()->mutable_initializer()) {
    if (init.data_location() == onnx::TensorProto::EXTERNAL) {
      RETURN_IF_ERROR(InlineExternalData(base_dir, &init, &budget).WithContext(source));
      loaded.external_initializers.insert(init.name());
    }
  }

  // The IR views the weights in the proto until `borrowed.Take()`, after
  // ONNX's checker and shape inference have read them; the proto goes
  // when this function returns.
  BorrowedInitializers borrowed;
  std::vector<std::string> import_warnings;
  StatusOr<ir::Model> model =
      ImportModel(*proto, &borrowed, options.strict ? nullptr : &import_warnings);
  if (!model.ok()) return model.status().WithContext(source);
  for (const std::string& w : import_warnings) RETURN_IF_ERROR(complain(w));
  loaded.model = std::move(*model);
  loaded.model.source = source;
  ir::Graph* graph = loaded.model.graph.get();
  RETURN_IF_ERROR(graph->TopologicalSort().WithContext(source));
  RETURN_IF_ERROR(
      CheckRequiredInputs(*graph, loaded.model.DefaultOpset()).WithContext(source));

  // bnfold's own types and shapes, whatever ONNX library is installed.
  const ir::TypeInferenceReport types = ir::InferTypes(*graph);
  for (const std::string& conflict : types.conflicts) RETURN_IF_ERROR(complain(conflict));

  const OnnxVerdict verdict = JudgeableByOnnx(*proto);
  if (!verdict.judgeable) {
    loaded.notes.push_back("ONNX checker and shape inference skipped: " + verdict.why +
                           "; bnfold's own validation applies");
    RETURN_IF_ERROR(borrowed.Take(proto->mutable_graph()).WithContext(source));
    return loaded;
  }
  SortProtoNodes(*graph, proto->mutable_graph());
  RETURN_IF_ERROR(CheckOpsExist(*proto, loaded.model.DefaultOpset()).WithContext(source));
  const int64_t ir_version = proto->ir_version();
  if (verdict.lowered) proto->set_ir_version(onnx::IR_VERSION);
  if (options.run_checker) {
    try {
      onnx::checker::check_model(*proto);
    } catch (const std::exception& e) {
      const std::string what = "ONNX checker: " + OneLineText(e.what());
      if (verdict.lowered) {
        // The checker cannot judge the real IR version: its verdict is a hint.
        loaded.notes.push_back(what + " (checked as IR " + std::to_string(onnx::IR_VERSION) +
                               "; the model is IR " + std::to_string(ir_version) + ")");
      } else {
        loaded.checker_failed = true;
        RETURN_IF_ERROR(complain(what));
      }
    }
  }
  if (options.infer_shapes) {
    std::set<std::string> declared;
    for (const auto& v : proto->graph().value_info()) declared.insert(v.name());
    bool inferred = true;
    try {
      InferShapesGuarded(proto.get());
    } catch (const std::exception& e) {
      inferred = false;
      loaded.notes.push_back("ONNX shape inference failed (bnfold's types are used): " +
                             OneLineText(e.what()));
    }
    if (inferred) {
      for (const std::string& d : CompareWithOnnxTypes(proto->graph(), declared, *graph)) {
        loaded.notes.push_back(d);
      }
    }
  }
  if (verdict.lowered) proto->set_ir_version(ir_version);
  RETURN_IF_ERROR(borrowed.Take(proto->mutable_graph()).WithContext(source));
  return loaded;
}

}  // namespace

}  // namespace bnfold::onnx_io
