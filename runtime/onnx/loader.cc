#include "runtime/onnx/loader.h"

#include <exception>
#include <unordered_map>

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "runtime/common/file_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_versions.h"
#include "runtime/onnx/external_data.h"
#include "runtime/onnx/importer.h"

namespace bnfold::onnx_io {

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 10;

// The newest default-domain opset the installed ONNX library has schemas for.
int64_t InstalledOnnxMaxOpset() {
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
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
  for (const auto& o : proto.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
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

// Whether the installed ONNX library can judge this model; if not, a note
// saying why.
std::string OnnxLibraryTooOld(const onnx::ModelProto& proto) {
  if (proto.ir_version() > onnx::IR_VERSION) {
    return "IR version " + std::to_string(proto.ir_version()) +
           " is newer than the installed ONNX library's (" +
           std::to_string(onnx::IR_VERSION) + ")";
  }
  const int64_t max_opset = InstalledOnnxMaxOpset();
  for (const auto& o : proto.opset_import()) {
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() > max_opset) {
      return "opset " + std::to_string(o.version()) +
             " is newer than the installed ONNX library's (" +
             std::to_string(max_opset) + ")";
    }
  }
  return "";
}

}  // namespace

StatusOr<LoadedModel> LoadModelFile(const std::string& path,
                                    const LoadOptions& options) {
  StatusOr<std::string> bytes = ReadFileToString(path, kMaxModelFileBytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kInvalidArgument) {
      return InvalidModel(bytes.status().message() +
                          " (models over 2 GiB must store weights as external data)");
    }
    return bytes.status();
  }
  return LoadModelBytes(*bytes, DirName(path), path, options);
}

StatusOr<LoadedModel> LoadModelBytes(std::string_view bytes,
                                     const std::string& base_dir,
                                     const std::string& source,
                                     const LoadOptions& options) {
  auto proto = std::make_unique<onnx::ModelProto>();
  if (bytes.size() > kMaxModelFileBytes ||
      !proto->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidModel(source + ": not an ONNX model (the protobuf does not "
                        "parse: truncated or a different file type)");
  }
  RETURN_IF_ERROR(CheckModelHeader(*proto).WithContext(source));

  LoadedModel loaded;
  loaded.skeleton = MakeSkeleton(proto.get());
  for (auto& init : *proto->mutable_graph()->mutable_initializer()) {
    if (init.data_location() == onnx::TensorProto::EXTERNAL) {
      RETURN_IF_ERROR(InlineExternalData(base_dir, &init).WithContext(source));
      loaded.external_initializers.insert(init.name());
    }
  }

  StatusOr<ir::Model> model = ImportModel(*proto);
  if (!model.ok()) return model.status().WithContext(source);
  loaded.model = std::move(*model);
  loaded.model.source = source;
  ir::Graph* graph = loaded.model.graph.get();
  RETURN_IF_ERROR(graph->TopologicalSort().WithContext(source));

  const std::string too_old = OnnxLibraryTooOld(*proto);
  if (!too_old.empty()) {
    loaded.notes.push_back("ONNX checker and shape inference skipped: " + too_old +
                           "; bnfold's own validation applies");
    return loaded;
  }
  SortProtoNodes(*graph, proto->mutable_graph());
  if (options.run_checker) {
    try {
      onnx::checker::check_model(*proto);
    } catch (const std::exception& e) {
      return InvalidModel(source + ": ONNX checker: " + e.what());
    }
  }
  if (options.infer_shapes) {
    try {
      // Node-level inference errors and type-constraint checks are not
      // fatal: ONNX 1.12 rejects models real exporters wrote (e.g. int64
      // Constants before opset 9); the kernels validate every node when the
      // model is compiled.
      onnx::ShapeInferenceOptions inference(/*check_type=*/false,
                                            /*strict_mode=*/0,
                                            /*data_prop=*/true);
      onnx::shape_inference::InferShapes(*proto, onnx::OpSchemaRegistry::Instance(),
                                         inference);
    } catch (const std::exception& e) {
      return InvalidModel(source + ": ONNX shape inference: " + e.what());
    }
    ImportValueInfo(proto->graph(), graph);
  }
  return loaded;
}

}  // namespace bnfold::onnx_io
