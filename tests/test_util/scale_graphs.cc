#include "tests/test_util/scale_graphs.h"

#include <algorithm>
#include <vector>

#include "onnx/onnx_pb.h"

namespace bnfold::testing {

namespace {

void AddNode(onnx::GraphProto* graph, const char* op, std::vector<std::string> inputs,
             const std::string& output, const std::string& name) {
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (std::string& in : inputs) node->add_input(std::move(in));
  node->add_output(output);
}

void DeclareFloat18(onnx::ValueInfoProto* info, const std::string& name) {
  info->set_name(name);
  onnx::TypeProto_Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  tensor->mutable_shape()->add_dim()->set_dim_value(1);
  tensor->mutable_shape()->add_dim()->set_dim_value(8);
}

}  // namespace

const char* ScaleGraphName(ScaleGraph kind) {
  switch (kind) {
    case ScaleGraph::kRelu: return "relu";
    case ScaleGraph::kAdd: return "add";
    case ScaleGraph::kWide: return "wide";
  }
  return "?";
}

std::string ScaleGraphBytes(ScaleGraph kind, int64_t n) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name(std::string(ScaleGraphName(kind)) + std::to_string(n));
  DeclareFloat18(graph->add_input(), "x");
  DeclareFloat18(graph->add_output(), "y");
  if (kind == ScaleGraph::kRelu || kind == ScaleGraph::kAdd) {
    std::string prev = "x";
    for (int64_t i = 0; i < n; ++i) {
      const std::string out = i == n - 1 ? "y" : (kind == ScaleGraph::kRelu ? "r" : "a") +
                                                      std::to_string(i);
      if (kind == ScaleGraph::kRelu) {
        AddNode(graph, "Relu", {prev}, out, "relu" + std::to_string(i));
      } else {
        const std::string c = "c" + std::to_string(i);
        onnx::TensorProto* init = graph->add_initializer();
        init->set_name(c);
        init->set_data_type(onnx::TensorProto::FLOAT);
        init->add_dims(1);
        init->add_dims(8);
        const float value = static_cast<float>(1e-3 * static_cast<double>(i % 7 - 3));
        for (int k = 0; k < 8; ++k) init->add_float_data(value);
        AddNode(graph, "Add", {prev, c}, out, "add" + std::to_string(i));
      }
      prev = out;
    }
  } else {
    std::vector<std::string> level;
    for (int64_t i = 0; i < std::max<int64_t>(n / 2, 1); ++i) {
      level.push_back("b" + std::to_string(i));
      AddNode(graph, "Relu", {"x"}, level.back(), "relu" + std::to_string(i));
    }
    int64_t k = 0;
    while (level.size() > 1) {
      std::vector<std::string> next;
      for (size_t j = 0; j + 1 < level.size(); j += 2) {
        next.push_back("s" + std::to_string(k));
        AddNode(graph, "Add", {level[j], level[j + 1]}, next.back(), "sum" + std::to_string(k++));
      }
      if (level.size() % 2) next.push_back(level.back());
      level = std::move(next);
    }
    AddNode(graph, "Identity", {level[0]}, "y", "out");
  }
  return model.SerializeAsString();
}

}  // namespace bnfold::testing
