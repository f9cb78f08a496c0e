#include "runtime/onnx/importer.h"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "onnx/onnx_pb.h"
#include "runtime/common/status_macros.h"
#include "runtime/ir/op_versions.h"
#include "runtime/ir/tensor_util.h"
#include "runtime/onnx/tensor_proto.h"

namespace bnfold::onnx_io {

namespace {

using ir::Attribute;
using ir::AttrType;

struct ParsedType {
  DataType dtype = DataType::kUndefined;
  std::optional<ir::StaticShape> shape;
};

// Element type and shape of a tensor type; Unsupported for sequence, map,
// optional and sparse types. An element type bnfold cannot compute with is
// an error for values the caller feeds (`fed`), and left undefined for the
// others (a model's unused corners need not be runnable to load).
StatusOr<ParsedType> ParseType(const onnx::TypeProto& type, const std::string& what,
                               bool fed) {
  ParsedType parsed;
  if (type.value_case() == onnx::TypeProto::VALUE_NOT_SET) return parsed;
  if (!type.has_tensor_type()) {
    return Unsupported(what + " is not a tensor (sequence, map, optional and "
                       "sparse types are not supported)");
  }
  const auto& tensor_type = type.tensor_type();
  if (tensor_type.elem_type() != 0) {
    StatusOr<DataType> dtype = SupportedElementType(tensor_type.elem_type(), what);
    if (dtype.ok()) {
      parsed.dtype = *dtype;
    } else if (fed || dtype.status().code() != StatusCode::kUnsupported) {
      return dtype.status();
    }
  }
  if (tensor_type.has_shape()) {
    ir::StaticShape shape;
    for (const auto& dim : tensor_type.shape().dim()) {
      ir::Dim d;
      if (dim.has_dim_value()) {
        if (dim.dim_value() < 0) {
          return InvalidModel(what + " has a negative dimension " +
                              std::to_string(dim.dim_value()));
        }
        d.value = dim.dim_value();
      } else if (dim.has_dim_param()) {
        d.param = dim.dim_param();
      }
      shape.push_back(d);
    }
    parsed.shape = std::move(shape);
  }
  return parsed;
}

// Records `type` as what the model declares for `value`.
Status Declare(const onnx::TypeProto& type, const std::string& what, bool fed,
               ir::Value* value) {
  ASSIGN_OR_RETURN(ParsedType parsed, ParseType(type, what, fed));
  value->set_declared_type(ir::ValueType{parsed.dtype, std::move(parsed.shape)});
  return Status::Ok();
}

StatusOr<ir::ConstTensorPtr> TensorAttr(const onnx::TensorProto& t,
                                        const std::string& what) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    return Unsupported(what + " stores a tensor attribute as external data");
  }
  ASSIGN_OR_RETURN(Tensor tensor, TensorFromProto(t, what));
  return ir::ConstTensorPtr(std::make_shared<const Tensor>(std::move(tensor)));
}

StatusOr<Attribute> ImportAttribute(const onnx::AttributeProto& a,
                                    const std::string& node_desc) {
  Attribute out;
  out.name = a.name();
  const std::string what = node_desc + ": attribute '" + a.name() + "'";
  if (a.name().empty()) return InvalidModel(node_desc + ": attribute without a name");
  if (!a.ref_attr_name().empty()) {
    return InvalidModel(what + " refers to a function attribute outside a function");
  }
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT: out.type = AttrType::kFloat; out.f = a.f(); break;
    case onnx::AttributeProto::INT: out.type = AttrType::kInt; out.i = a.i(); break;
    case onnx::AttributeProto::STRING: out.type = AttrType::kString; out.s = a.s(); break;
    case onnx::AttributeProto::FLOATS:
      out.type = AttrType::kFloats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      out.type = AttrType::kInts;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      out.type = AttrType::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case onnx::AttributeProto::TENSOR: {
      out.type = AttrType::kTensor;
      ASSIGN_OR_RETURN(out.t, TensorAttr(a.t(), what));
      break;
    }
    case onnx::AttributeProto::UNDEFINED:
      return InvalidModel(what + " has no type");
    default:
      // Graphs, sparse tensors, type protos: carried through untouched.
      out.type = AttrType::kOpaque;
      if (!a.SerializeToString(&out.s)) return Internal(what + ": cannot serialize");
      break;
  }
  return out;
}

// The tensor a Constant node produces, from whichever value_* attribute it
// carries (exactly one must be present).
StatusOr<ir::ConstTensorPtr> ConstantValue(const ir::Node& node) {
  if (node.attributes().size() != 1) {
    return InvalidModel(node.Describe() + ": Constant needs exactly one value "
                        "attribute, has " + std::to_string(node.attributes().size()));
  }
  const Attribute& a = node.attributes()[0];
  if (a.name == "value" && a.type == AttrType::kTensor) return a.t;
  if (a.name == "value_float" && a.type == AttrType::kFloat) {
    return ir::MakeConstant(DataType::kFloat, {}, {a.f});
  }
  if (a.name == "value_int" && a.type == AttrType::kInt) {
    ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(DataType::kInt64, {}));
    *t.data_as<int64_t>() = a.i;
    return ir::ConstTensorPtr(std::make_shared<const Tensor>(std::move(t)));
  }
  if (a.name == "value_floats" && a.type == AttrType::kFloats) {
    std::vector<double> v(a.floats.begin(), a.floats.end());
    return ir::MakeConstant(DataType::kFloat, {static_cast<int64_t>(v.size())}, v);
  }
  if (a.name == "value_ints" && a.type == AttrType::kInts) {
    ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(DataType::kInt64,
                                                {static_cast<int64_t>(a.ints.size())}));
    for (size_t i = 0; i < a.ints.size(); ++i) t.data_as<int64_t>()[i] = a.ints[i];
    return ir::ConstTensorPtr(std::make_shared<const Tensor>(std::move(t)));
  }
  return Unsupported(node.Describe() + ": Constant attribute '" + a.name +
                     "' (string and sparse constants are not supported)");
}

// Names appear in every message about the model: a control character in
// one (no exporter writes them) would break messages and logs, so refuse it.
Status CheckName(const std::string& name, const std::string& what) {
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return InvalidModel(what + " '" + OneLineText(name) + "' contains a control character");
    }
  }
  return Status::Ok();
}

// The value called `name`, created on first mention (a node may consume a
// value whose producer comes later in the file).
StatusOr<ir::Value*> GetOrCreate(ir::Graph* graph, const std::string& name) {
  if (ir::Value* v = graph->FindValue(name)) return v;
  return graph->AddValue(name);
}

}  // namespace

std::string OneLineText(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::optional<ir::ValueType> ValueInfoType(const onnx::ValueInfoProto& info) {
  StatusOr<ParsedType> parsed = ParseType(info.type(), info.name(), /*fed=*/false);
  if (!parsed.ok()) return std::nullopt;
  return ir::ValueType{parsed->dtype, std::move(parsed->shape)};
}

void BorrowedInitializers::Add(int initializer_index, std::shared_ptr<std::string> holder,
                               const void* data) {
  entries_.push_back({initializer_index, std::move(holder), data});
}

Status BorrowedInitializers::Take(onnx::GraphProto* graph) {
  for (const Entry& e : entries_) {
    if (e.initializer_index >= graph->initializer_size()) {
      return Internal("borrowed initializer #" + std::to_string(e.initializer_index) +
                      " is gone from the graph");
    }
    std::string* raw = graph->mutable_initializer(e.initializer_index)->mutable_raw_data();
    if (raw->data() != e.data) {
      return Internal("initializer '" + graph->initializer(e.initializer_index).name() +
                      "': its raw_data moved while the IR viewed it");
    }
    e.holder->swap(*raw);
    if (e.holder->data() != e.data) {
      return Internal("initializer '" + graph->initializer(e.initializer_index).name() +
                      "': its raw_data moved when taken");
    }
  }
  entries_.clear();
  return Status::Ok();
}

namespace {

// One graph being imported: the main graph or a subgraph, with the names it
// defines itself (inputs, initializers, node outputs) and its enclosing
// graph's scope.
struct Scope {
  ir::Graph* graph = nullptr;
  std::unordered_set<std::string> defined;
  const Scope* parent = nullptr;  // null for the main graph
};

struct ImportEnv {
  const std::vector<ir::OpsetImport>* opsets = nullptr;
  int64_t ir_version = 0;
  BorrowedInitializers* borrowed = nullptr;  // main graph only
  std::vector<std::string>* warnings = nullptr;
};

// The value `name` denotes in `scope`: its own, or in a subgraph one of an
// enclosing graph, captured as an outer reference (at any depth: each graph
// in between captures it too, through its node's implicit inputs).
StatusOr<ir::Value*> Resolve(Scope& scope, const std::string& name, const std::string& desc) {
  if (scope.parent == nullptr || scope.defined.count(name)) {
    return GetOrCreate(scope.graph, name);
  }
  if (ir::Value* v = scope.graph->FindValue(name)) return v;  // captured already
  for (const Scope* s = scope.parent;; s = s->parent) {
    if (s == nullptr) {
      return InvalidModel(desc + ": input '" + name +
                          "' is not defined in this subgraph or any enclosing graph");
    }
    if (s->defined.count(name)) break;
  }
  return scope.graph->AddOuterRef(name);
}

Status ImportGraph(const onnx::GraphProto& g, Scope& scope, const ImportEnv& env);

// The subgraph attributes of `node` (imported as kOpaque) become graphs
// owned by the node; what they read from outside becomes the node's
// implicit inputs.
Status ImportSubgraphs(const onnx::NodeProto& n, ir::Node* node, Scope& scope,
                       const ImportEnv& env, const std::string& desc) {
  std::vector<std::string> captured;
  std::unordered_set<std::string> seen;
  std::vector<ir::Graph*> graphs;
  for (const auto& a : n.attribute()) {
    if (a.type() != onnx::AttributeProto::GRAPH) continue;
    Attribute attr;
    attr.name = a.name();
    attr.type = AttrType::kGraph;
    attr.g = std::make_shared<ir::Graph>();
    Scope inner;
    inner.graph = attr.g.get();
    inner.parent = &scope;
    const std::string where = desc + ", subgraph '" + a.name() + "'";
    RETURN_IF_ERROR(ImportGraph(a.g(), inner, env).WithContext(where));
    RETURN_IF_ERROR(attr.g->TopologicalSort().WithContext(where));
    for (const ir::Value* in : attr.g->inputs()) {
      if (in->is_outer_ref() && seen.insert(in->name()).second) captured.push_back(in->name());
    }
    graphs.push_back(attr.g.get());
    node->SetAttribute(std::move(attr));
  }
  for (ir::Graph* sub : graphs) RETURN_IF_ERROR(sub->SetOuterRefs(captured));
  for (const std::string& name : captured) {
    ASSIGN_OR_RETURN(ir::Value * v, Resolve(scope, name, desc));
    scope.graph->AddImplicitInput(node, v);
  }
  return Status::Ok();
}

Status ImportGraph(const onnx::GraphProto& g, Scope& scope, const ImportEnv& env) {
  ir::Graph* graph = scope.graph;
  const bool main = scope.parent == nullptr;
  graph->set_name(g.name());
  for (const auto& input : g.input()) scope.defined.insert(input.name());
  for (const auto& init : g.initializer()) scope.defined.insert(init.name());
  for (const auto& n : g.node()) {
    for (const std::string& name : n.output()) scope.defined.insert(name);
  }

  // Graph inputs.
  for (const auto& input : g.input()) {
    RETURN_IF_ERROR(CheckName(input.name(), "graph input"));
    const std::string what = "graph input '" + input.name() + "'";
    if (graph->FindValue(input.name())) {
      return InvalidModel(what + " is declared twice");
    }
    ASSIGN_OR_RETURN(ir::Value * v, graph->AddValue(input.name()));
    RETURN_IF_ERROR(Declare(input.type(), what, /*fed=*/main, v));
    v->set_dtype(v->declared_type()->dtype);  // what the caller must feed
    v->set_shape(v->declared_type()->shape);
    graph->AddGraphInput(v);
  }

  // Initializers; one that is also a graph input is overridable from IR 4 on.
  if (g.sparse_initializer_size() > 0) {
    return Unsupported("sparse initializer '" + g.sparse_initializer(0).values().name() +
                       "' (sparse tensors are not supported)");
  }
  for (int i = 0; i < g.initializer_size(); ++i) {
    const onnx::TensorProto& init = g.initializer(i);
    RETURN_IF_ERROR(CheckName(init.name(), "initializer"));
    const std::string what = "initializer '" + init.name() + "'";
    ir::Value* v = graph->FindValue(init.name());
    if (v != nullptr && (!v->is_graph_input() || v->is_initializer())) {
      return InvalidModel(what + " is defined twice");
    }
    if (v != nullptr && !main) {
      return InvalidModel(what + " is also an input of the subgraph");
    }
    Tensor tensor;
    if (main && env.borrowed != nullptr && init.has_raw_data() &&
        init.raw_data().size() >= BorrowedInitializers::kMinBytes) {
      auto holder = std::make_shared<std::string>();
      ASSIGN_OR_RETURN(tensor, TensorViewOfRawData(init, what, holder));
      env.borrowed->Add(i, std::move(holder), tensor.data());
    } else {
      ASSIGN_OR_RETURN(tensor, TensorFromProto(init, what));
    }
    auto data = std::make_shared<const Tensor>(std::move(tensor));
    if (v == nullptr) {
      ASSIGN_OR_RETURN(v, graph->AddValue(init.name()));
    } else {
      if (v->dtype() != DataType::kUndefined && v->dtype() != data->dtype()) {
        return InvalidModel(what + " is " + DataTypeName(data->dtype()) +
                            " but the graph input of the same name is " +
                            DataTypeName(v->dtype()));
      }
      graph->SetOverridable(v, env.ir_version >= 4);
    }
    graph->SetInitializer(v, std::move(data));
  }

  // Nodes, in file order.
  std::unordered_set<std::string> produced;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    const ir::OpKind kind = ir::OpKindFromName(n.domain(), n.op_type());
    std::string desc = n.op_type() + (n.name().empty()
                                          ? " #" + std::to_string(i)
                                          : " '" + n.name() + "'");
    if (n.op_type().empty()) return InvalidModel("node #" + std::to_string(i) + " has no op_type");
    const std::string node_what = "node #" + std::to_string(i);
    RETURN_IF_ERROR(CheckName(n.op_type(), node_what + ": op_type"));
    RETURN_IF_ERROR(CheckName(n.name(), node_what + ": name"));
    RETURN_IF_ERROR(CheckName(n.domain(), node_what + ": domain"));
    for (const std::string& name : n.input()) {
      RETURN_IF_ERROR(CheckName(name, desc + ": input"));
    }
    for (const std::string& name : n.output()) {
      RETURN_IF_ERROR(CheckName(name, desc + ": output"));
    }
    for (const auto& a : n.attribute()) {
      RETURN_IF_ERROR(CheckName(a.name(), desc + ": attribute"));
    }
    int64_t opset = 0;
    for (const auto& o : *env.opsets) {
      if (o.domain == n.domain() ||
          (n.domain() == "ai.onnx" && o.domain.empty()) ||
          (n.domain().empty() && o.domain == "ai.onnx")) {
        opset = o.version;
      }
    }
    if (opset == 0) {
      return InvalidModel(desc + ": domain '" + n.domain() +
                          "' is not in the model's opset imports");
    }
    if (kind != ir::OpKind::kUnknown) {
      StatusOr<int64_t> version = ir::ResolveOpVersion(kind, opset);
      if (!version.ok()) return version.status().WithContext(desc);
    }
    std::vector<ir::Value*> inputs, outputs;
    for (const std::string& name : n.input()) {
      if (name.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      ASSIGN_OR_RETURN(ir::Value * v, Resolve(scope, name, desc));
      inputs.push_back(v);
    }
    for (const std::string& name : n.output()) {
      if (name.empty()) {
        outputs.push_back(nullptr);
        continue;
      }
      if (!produced.insert(name).second) {
        const ir::Value* earlier = graph->FindValue(name);
        return InvalidModel(desc + ": output '" + name + "' is already produced by " +
                            (earlier && earlier->producer()
                                 ? earlier->producer()->Describe()
                                 : std::string("this node")));
      }
      ASSIGN_OR_RETURN(ir::Value * v, GetOrCreate(graph, name));
      if (v->is_graph_input() || v->is_initializer()) {
        return InvalidModel(desc + ": output '" + name +
                            "' is also a graph input or initializer");
      }
      outputs.push_back(v);
    }
    ASSIGN_OR_RETURN(ir::Node * node,
                     graph->AddNode(kind, n.op_type(), n.domain(), n.name(),
                                    opset, inputs, outputs));
    node->set_doc_string(n.doc_string());
    for (const auto& a : n.attribute()) {
      if (node->FindAttribute(a.name())) {
        return InvalidModel(desc + ": attribute '" + a.name() + "' given twice");
      }
      if (a.type() == onnx::AttributeProto::GRAPH) continue;  // ImportSubgraphs
      ASSIGN_OR_RETURN(Attribute attr, ImportAttribute(a, desc));
      node->SetAttribute(std::move(attr));
    }
    RETURN_IF_ERROR(ImportSubgraphs(n, node, scope, env, desc));
    RETURN_IF_ERROR(node->ParseTypedAttributes());
    if (kind == ir::OpKind::kConstant) {
      if (node->num_outputs() != 1 || node->output(0) == nullptr) {
        return InvalidModel(desc + ": Constant must have one output");
      }
      ASSIGN_OR_RETURN(ir::ConstTensorPtr data, ConstantValue(*node));
      graph->SetConstantOutput(node->output(0), std::move(data));
    }
  }

  // Graph outputs must exist.
  for (const auto& output : g.output()) {
    RETURN_IF_ERROR(CheckName(output.name(), "graph output"));
    ir::Value* v = graph->FindValue(output.name());
    if (v == nullptr && !main) {
      // A body may return an outer value unchanged.
      StatusOr<ir::Value*> outer = Resolve(scope, output.name(), "graph output");
      if (outer.ok()) v = *outer;
    }
    if (v == nullptr) {
      return InvalidModel("graph output '" + output.name() +
                          "' is not produced by any node, input or initializer");
    }
    if (v->is_graph_output()) {
      const std::string twice = "graph output '" + output.name() + "' is listed twice";
      if (env.warnings == nullptr) return InvalidModel(twice);
      env.warnings->push_back(twice + " (each entry returns the same tensor)");
    }
    if (!v->is_graph_input()) {
      RETURN_IF_ERROR(Declare(output.type(), "graph output '" + output.name() + "'",
                              /*fed=*/false, v));
    }
    graph->AddGraphOutput(v);
  }
  for (const auto& info : g.value_info()) {
    ir::Value* v = graph->FindValue(info.name());
    if (v == nullptr || v->constant_data() || v->is_graph_input() || v->is_graph_output()) {
      continue;
    }
    RETURN_IF_ERROR(Declare(info.type(), "value_info '" + info.name() + "'", /*fed=*/false, v));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ir::Model> ImportModel(const onnx::ModelProto& proto, BorrowedInitializers* borrowed,
                                std::vector<std::string>* warnings) {
  ir::Model model;
  model.ir_version = proto.ir_version();
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  for (const auto& o : proto.opset_import()) {
    model.opset_imports.push_back({o.domain(), o.version()});
  }
  model.graph = std::make_unique<ir::Graph>();
  Scope scope;
  scope.graph = model.graph.get();
  ImportEnv env;
  env.opsets = &model.opset_imports;
  env.ir_version = model.ir_version;
  env.borrowed = borrowed;
  env.warnings = warnings;
  RETURN_IF_ERROR(ImportGraph(proto.graph(), scope, env));
  return model;
}

}  // namespace bnfold::onnx_io
