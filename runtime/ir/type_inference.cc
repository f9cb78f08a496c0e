#include "runtime/ir/type_inference.h"

#include <unordered_map>

#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

bool IsPropagatedIntConstant(const Tensor& t) {
  return IsIndexType(t.dtype()) &&
         t.shape().size() <= 1 && t.num_elements() <= kMaxPropagatedInts;
}

// Whether `declared` says something `computed` contradicts: another dtype,
// another rank, or another fixed size of a dim.
bool Contradicts(const ValueType& declared, DataType dtype, const std::optional<StaticShape>& shape) {
  if (declared.dtype != DataType::kUndefined && dtype != DataType::kUndefined &&
      declared.dtype != dtype) {
    return true;
  }
  if (!declared.shape || !shape) return false;
  if (declared.shape->size() != shape->size()) return true;
  for (size_t i = 0; i < shape->size(); ++i) {
    const Dim& a = (*declared.shape)[i];
    const Dim& b = (*shape)[i];
    if (a.is_fixed() && b.is_fixed() && a.value != b.value) return true;
  }
  return false;
}

std::string ProducerText(const Value& v) {
  return v.producer() ? " (output of " + v.producer()->Describe() + ")" : "";
}

// Why `node` could not type its outputs when its inputs have no type.
std::string UnknownInputReason(const Node& node) {
  for (const Value* in : node.inputs()) {
    if (in != nullptr && in->dtype() == DataType::kUndefined) {
      return in->unknown_type_reason().empty()
                 ? "its input '" + in->name() + "' has no known type"
                 : in->unknown_type_reason();
    }
  }
  return "";
}

}  // namespace

std::string TypeToString(DataType dtype, const std::optional<StaticShape>& shape) {
  std::string out = dtype == DataType::kUndefined ? "?" : DataTypeName(dtype);
  if (!shape) return out + " (rank unknown)";
  out += "[";
  for (size_t i = 0; i < shape->size(); ++i) {
    const Dim& d = (*shape)[i];
    if (i) out += ",";
    out += d.is_fixed() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return out + "]";
}

TypeInferenceReport InferTypes(Graph& graph) {
  TypeInferenceReport report;
  std::unordered_map<const Value*, SymInts> ints;
  for (const auto& v : graph.values()) {
    if (v->IsConstant() && IsPropagatedIntConstant(*v->constant_data())) {
      ints[v.get()] = ConstantInts(*v->constant_data());
    }
    if (v->is_graph_input() && v->dtype() == DataType::kUndefined) {
      v->set_unknown_type_reason("graph input '" + v->name() + "' declares no element type");
    }
  }
  for (Node* node : graph.nodes()) {
    const TypeRule rule = FindTypeRule(node->kind());
    if (rule == nullptr) {
      for (Value* out : node->outputs()) {
        if (out == nullptr || out->constant_data()) continue;
        const std::optional<ValueType>& declared = out->declared_type();
        out->set_dtype(declared ? declared->dtype : DataType::kUndefined);
        out->set_shape(declared ? declared->shape : std::nullopt);
        out->set_unknown_type_reason(
            out->dtype() != DataType::kUndefined
                ? ""
                : "it is computed by " + node->Describe() + " (op '" + node->op_type() +
                      "', domain '" + (node->domain().empty() ? "ai.onnx" : node->domain()) +
                      "'), whose types bnfold does not know, and the model declares none");
      }
      continue;
    }
    std::vector<InferContext::Input> inputs;
    for (const Value* in : node->inputs()) {
      InferContext::Input input;
      if (in != nullptr) {
        input.value = in;
        input.dtype = in->dtype();
        input.shape = &in->shape();
        auto it = ints.find(in);
        if (it != ints.end()) input.ints = &it->second;
      }
      inputs.push_back(input);
    }
    InferContext ctx(*node, std::move(inputs));
    const Status status = rule(ctx);
    if (!status.ok()) report.node_errors.push_back(status.message());
    for (int i = 0; i < node->num_outputs(); ++i) {
      Value* out = node->output(i);
      if (out == nullptr || out->constant_data()) continue;
      const InferContext::Output& computed = ctx.outputs()[i];
      DataType dtype = computed.dtype;
      const std::optional<ValueType>& declared = out->declared_type();
      if (declared && Contradicts(*declared, dtype, computed.shape)) {
        report.conflicts.push_back(
            std::string(out->is_graph_output() ? "graph output '" : "value '") + out->name() +
            "'" + ProducerText(*out) + ": the model declares " +
            TypeToString(declared->dtype, declared->shape) + ", the graph computes " +
            TypeToString(dtype, computed.shape));
      }
      if (dtype == DataType::kUndefined && declared) dtype = declared->dtype;
      out->set_dtype(dtype);
      out->set_shape(computed.shape);
      std::string why;
      if (dtype == DataType::kUndefined) {
        why = UnknownInputReason(*node);
        if (why.empty()) {
          why = status.ok() ? node->Describe() + " computes no element type for it"
                            : status.message();
        }
      }
      out->set_unknown_type_reason(std::move(why));
      if (computed.ints) {
        ints[out] = *computed.ints;
      } else {
        ints.erase(out);
      }
    }
  }
  return report;
}

}  // namespace bnfold::ir
