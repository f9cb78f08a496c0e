#include "runtime/onnx/exporter.h"

#include <unordered_map>

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "onnx/onnx_pb.h"
#include "runtime/common/file_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/onnx/loader.h"
#include "runtime/onnx/tensor_proto.h"

namespace bnfold::onnx_io {

namespace {

Status ExportAttribute(const ir::Attribute& a, onnx::AttributeProto* out) {
  if (a.type == ir::AttrType::kOpaque) {
    if (!out->ParseFromString(a.s)) return Internal("attribute '" + a.name + "' is corrupt");
    return Status::Ok();
  }
  out->set_name(a.name);
  switch (a.type) {
    case ir::AttrType::kFloat:
      out->set_type(onnx::AttributeProto::FLOAT);
      out->set_f(a.f);
      break;
    case ir::AttrType::kInt:
      out->set_type(onnx::AttributeProto::INT);
      out->set_i(a.i);
      break;
    case ir::AttrType::kString:
      out->set_type(onnx::AttributeProto::STRING);
      out->set_s(a.s);
      break;
    case ir::AttrType::kTensor:
      out->set_type(onnx::AttributeProto::TENSOR);
      TensorToProto(*a.t, "", out->mutable_t());
      break;
    case ir::AttrType::kFloats:
      out->set_type(onnx::AttributeProto::FLOATS);
      for (float f : a.floats) out->add_floats(f);
      break;
    case ir::AttrType::kInts:
      out->set_type(onnx::AttributeProto::INTS);
      for (int64_t i : a.ints) out->add_ints(i);
      break;
    case ir::AttrType::kStrings:
      out->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& s : a.strings) out->add_strings(s);
      break;
    case ir::AttrType::kOpaque:
    case ir::AttrType::kGraph:  // ExportNode writes subgraphs
      break;
  }
  return Status::Ok();
}

// A declaration for `value` from its IR type, for values the input model did
// not declare (e.g. a graph output rewired by a pass).
void DescribeValue(const ir::Value& value, onnx::ValueInfoProto* info) {
  info->set_name(value.name());
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(static_cast<int32_t>(value.dtype()));
  if (value.shape()) {
    auto* shape = tensor_type->mutable_shape();
    for (const ir::Dim& d : *value.shape()) {
      auto* dim = shape->add_dim();
      if (d.is_fixed()) {
        dim->set_dim_value(d.value);
      } else if (!d.param.empty()) {
        dim->set_dim_param(d.param);
      }
    }
  }
}

// Whether the input model's declaration `info` still holds for `value`: a
// pass may change a value's shape and keep its name (cancel-transposes moves
// a value out of NHWC), and a stale shape makes the written model fail ONNX
// shape inference.
bool StillDescribes(const onnx::ValueInfoProto& info, const ir::Value& value) {
  if (!info.type().has_tensor_type()) return true;  // not a type bnfold tracks
  const auto& tensor_type = info.type().tensor_type();
  if (tensor_type.elem_type() != 0 && value.dtype() != DataType::kUndefined &&
      tensor_type.elem_type() != static_cast<int32_t>(value.dtype())) {
    return false;
  }
  if (!tensor_type.has_shape() || !value.shape()) return true;
  const ir::StaticShape& shape = *value.shape();
  if (tensor_type.shape().dim_size() != static_cast<int>(shape.size())) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const auto& dim = tensor_type.shape().dim(static_cast<int>(i));
    if (dim.has_dim_value() && shape[i].is_fixed() && dim.dim_value() != shape[i].value) {
      return false;
    }
  }
  return true;
}

// The names a graph's values are written with: a subgraph's outer reference
// takes the current name of the value its node feeds it (a pass may have
// replaced that value); everything else keeps its own name.
using NameMap = std::unordered_map<const ir::Value*, std::string>;

std::string NameOf(const ir::Value* v, const NameMap& names) {
  auto it = names.find(v);
  return it == names.end() ? v->name() : it->second;
}

// A subgraph's input or output: what the model declared, else bnfold's type.
void DescribeBodyValue(const ir::Value& value, const std::string& name,
                       onnx::ValueInfoProto* info) {
  DescribeValue(value, info);
  info->set_name(name);
  if (!value.declared_type()) return;
  const ir::ValueType& declared = *value.declared_type();
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  if (declared.dtype != DataType::kUndefined) {
    tensor_type->set_elem_type(static_cast<int32_t>(declared.dtype));
  }
  tensor_type->clear_shape();
  if (!declared.shape) return;
  auto* shape = tensor_type->mutable_shape();
  for (const ir::Dim& d : *declared.shape) {
    auto* dim = shape->add_dim();
    if (d.is_fixed()) {
      dim->set_dim_value(d.value);
    } else if (!d.param.empty()) {
      dim->set_dim_param(d.param);
    }
  }
}

Status ExportNode(const ir::Node& n, const NameMap& names, onnx::NodeProto* node);

Status ExportSubgraph(const ir::Graph& body, const ir::Node& owner, const NameMap& outer,
                      onnx::GraphProto* g) {
  NameMap names;
  int k = owner.num_explicit_inputs();
  for (const ir::Value* in : body.inputs()) {
    if (!in->is_outer_ref()) continue;
    const ir::Value* fed = owner.input(k++);
    names[in] = fed ? NameOf(fed, outer) : in->name();
  }
  g->set_name(body.name());
  for (const ir::Value* in : body.inputs()) {
    if (!in->is_outer_ref()) DescribeBodyValue(*in, in->name(), g->add_input());
  }
  for (const ir::Value* out : body.outputs()) {
    DescribeBodyValue(*out, NameOf(out, names), g->add_output());
  }
  for (const ir::Value* v : body.Initializers()) {
    TensorToProto(*v->constant_data(), v->name(), g->add_initializer());
  }
  for (const ir::Node* n : body.nodes()) RETURN_IF_ERROR(ExportNode(*n, names, g->add_node()));
  return Status::Ok();
}

Status ExportNode(const ir::Node& n, const NameMap& names, onnx::NodeProto* node) {
  node->set_op_type(n.op_type());
  if (!n.domain().empty()) node->set_domain(n.domain());
  if (!n.name().empty()) node->set_name(n.name());
  if (!n.doc_string().empty()) node->set_doc_string(n.doc_string());
  for (int i = 0; i < n.num_explicit_inputs(); ++i) {
    const ir::Value* in = n.input(i);
    node->add_input(in ? NameOf(in, names) : "");
  }
  for (const ir::Value* out : n.outputs()) node->add_output(out ? out->name() : "");
  for (const ir::Attribute& a : n.attributes()) {
    onnx::AttributeProto* attr = node->add_attribute();
    if (a.type == ir::AttrType::kGraph) {
      attr->set_name(a.name);
      attr->set_type(onnx::AttributeProto::GRAPH);
      RETURN_IF_ERROR(ExportSubgraph(*a.g, n, names, attr->mutable_g())
                          .WithContext(n.Describe() + ", subgraph '" + a.name + "'"));
      continue;
    }
    RETURN_IF_ERROR(ExportAttribute(a, attr).WithContext(n.Describe()));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<onnx::ModelProto>> ExportModel(
    const onnx::ModelProto& skeleton, const ir::Graph& graph) {
  auto model = std::make_unique<onnx::ModelProto>(skeleton);
  onnx::GraphProto* g = model->mutable_graph();
  g->clear_node();
  g->clear_initializer();
  g->clear_sparse_initializer();

  std::unordered_map<std::string, const onnx::ValueInfoProto*> declared;
  for (const auto& v : skeleton.graph().input()) declared[v.name()] = &v;
  for (const auto& v : skeleton.graph().output()) declared[v.name()] = &v;

  g->clear_input();
  for (const ir::Value* in : graph.inputs()) {
    auto it = declared.find(in->name());
    if (it != declared.end()) {
      *g->add_input() = *it->second;
    } else {
      DescribeValue(*in, g->add_input());
    }
  }
  g->clear_output();
  for (const ir::Value* out : graph.outputs()) {
    auto it = declared.find(out->name());
    if (it != declared.end()) {
      *g->add_output() = *it->second;
    } else {
      DescribeValue(*out, g->add_output());
    }
  }

  for (const ir::Value* v : graph.Initializers()) {
    TensorToProto(*v->constant_data(), v->name(), g->add_initializer());
  }

  for (const ir::Node* n : graph.nodes()) RETURN_IF_ERROR(ExportNode(*n, {}, g->add_node()));

  // Keep the input's value_info for values that still exist as node outputs,
  // redescribed from the IR where a pass changed the value's type or shape.
  g->clear_value_info();
  for (const auto& info : skeleton.graph().value_info()) {
    const ir::Value* v = graph.FindValue(info.name());
    if (!v || !v->producer() || v->is_graph_output() || v->is_initializer()) continue;
    if (StillDescribes(info, *v)) {
      *g->add_value_info() = info;
    } else if (v->dtype() != DataType::kUndefined) {
      DescribeValue(*v, g->add_value_info());
    }
  }
  return model;
}

namespace {

// Protobuf's output buffer drained into a PendingFile; the first write
// error is kept for the caller's Status.
class PendingFileStream : public google::protobuf::io::CopyingOutputStream {
 public:
  explicit PendingFileStream(PendingFile* file) : file_(file) {}
  bool Write(const void* buffer, int size) override {
    status_ = file_->Write(static_cast<const char*>(buffer), static_cast<size_t>(size));
    return status_.ok();
  }
  const Status& status() const { return status_; }

 private:
  PendingFile* file_;
  Status status_;
};

}  // namespace

Status SerializeModel(const onnx::ModelProto& model, PendingFile* file) {
  PendingFileStream sink(file);
  google::protobuf::io::CopyingOutputStreamAdaptor stream(&sink);
  const bool serialized = model.SerializeToZeroCopyStream(&stream) && stream.Flush();
  if (!sink.status().ok()) return sink.status();
  if (!serialized) return Internal(file->final_path() + ": cannot serialize the model");
  return Status::Ok();
}

Status WriteModelFile(const onnx::ModelProto& model, const std::string& path) {
  if (model.ByteSizeLong() > kMaxModelFileBytes) {
    return Unsupported(path + ": the model is over 2 GiB; it must be written "
                       "with external data");
  }
  PendingFile file(path);
  RETURN_IF_ERROR(file.Open());
  RETURN_IF_ERROR(SerializeModel(model, &file));
  RETURN_IF_ERROR(file.Finish());
  return file.Commit();
}

}  // namespace bnfold::onnx_io
