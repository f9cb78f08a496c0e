#include "tests/passes/test_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "runtime/onnx/loader.h"

namespace bnfold::passes::testing {

namespace {

void FillRandom(const Init& init, std::mt19937& rng, onnx::TensorProto* proto) {
  proto->set_name(init.name);
  proto->set_data_type(static_cast<int>(init.dtype));
  int64_t count = 1;
  for (int64_t d : init.shape) {
    proto->add_dims(d);
    count *= d;
  }
  std::uniform_real_distribution<double> dist(init.lo, init.hi);
  StatusOr<Tensor> tensor = Tensor::Allocate(init.dtype, init.shape);
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  for (int64_t i = 0; i < count; ++i) tensor->SetFromDouble(i, dist(rng));
  proto->set_raw_data(std::string(static_cast<const char*>(tensor->data()), tensor->byte_size()));
}

}  // namespace

std::string ModelBytes(const ModelSpec& spec) {
  onnx::ModelProto model;
  const onnx::Status parsed = onnx::OnnxParser::Parse(model, spec.text.c_str());
  EXPECT_TRUE(parsed.IsOK()) << parsed.ErrorMessage() << "\n" << spec.text;
  // The text format has no node names: name each node after its first output.
  for (onnx::NodeProto& node : *model.mutable_graph()->mutable_node()) {
    if (node.name().empty() && node.output_size() > 0) node.set_name(node.output(0));
  }
  std::mt19937 rng(spec.seed);
  for (const Init& init : spec.inits) FillRandom(init, rng, model.mutable_graph()->add_initializer());
  // "float Y" parses as a scalar; the tests mean "the shape inference finds".
  for (onnx::ValueInfoProto& out : *model.mutable_graph()->mutable_output()) {
    auto* tensor = out.mutable_type()->mutable_tensor_type();
    if (tensor->has_shape() && tensor->shape().dim_size() == 0) tensor->clear_shape();
  }
  onnx::shape_inference::InferShapes(model);
  return model.SerializeAsString();
}

std::unique_ptr<ir::Graph> LoadGraph(const ModelSpec& spec) {
  const std::string bytes = ModelBytes(spec);
  StatusOr<onnx_io::LoadedModel> loaded = onnx_io::LoadModelBytes(bytes, "", "<test>");
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString() << "\n" << spec.text;
  if (!loaded.ok()) return nullptr;
  return std::move(loaded->model.graph);
}

std::vector<Init> BatchNormInits(const std::string& prefix, int64_t channels) {
  return {{prefix + "_scale", {channels}, 0.5, 1.5},
          {prefix + "_bias", {channels}, -1.0, 1.0},
          {prefix + "_mean", {channels}, -1.0, 1.0},
          {prefix + "_var", {channels}, 0.5, 2.0}};
}

PipelineReport RunPasses(ir::Graph& graph, const std::vector<std::string>& names,
                         const PassOptions* options) {
  PipelineReport report;
  PassOptions reference;
  reference.evaluator = MakeReferenceConstantEvaluator();
  StatusOr<PassManager> manager = PassManager::Create(names, options ? *options : reference);
  EXPECT_TRUE(manager.ok()) << manager.status().ToString();
  if (!manager.ok()) return report;
  Status status = manager->Run(graph, &report);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return report;
}

std::string Fingerprint(const ir::Graph& graph) {
  std::ostringstream out;
  for (const ir::Node* n : graph.nodes()) {
    out << n->op_type() << " " << n->name() << " (";
    for (const ir::Value* v : n->inputs()) out << (v ? v->name() : "-") << ",";
    out << ") -> (";
    for (const ir::Value* v : n->outputs()) out << (v ? v->name() : "-") << ",";
    out << ") [";
    for (const ir::Attribute& a : n->attributes()) {
      out << a.name << "=" << a.i << "/" << a.f << "/" << a.s << "/" << a.ints.size() << ";";
    }
    out << "]\n";
  }
  for (const auto& v : graph.values()) {
    if (v->constant_data()) out << "const " << v->name() << " @" << v->constant_data().get() << "\n";
  }
  for (const ir::Value* v : graph.inputs()) out << "input " << v->name() << "\n";
  for (const ir::Value* v : graph.outputs()) out << "output " << v->name() << "\n";
  return out.str();
}

int CountOps(const ir::Graph& graph, const std::string& op_type) {
  int count = 0;
  for (const ir::Node* n : graph.nodes()) count += n->op_type() == op_type;
  return count;
}

ir::Node* FindNode(const ir::Graph& graph, const std::string& name) {
  for (ir::Node* n : graph.nodes()) {
    if (n->name() == name) return n;
  }
  return nullptr;
}

RefTensor ConstantInput(const ir::Graph& graph, const std::string& name, int index) {
  const ir::Node* node = FindNode(graph, name);
  EXPECT_NE(node, nullptr) << "no node " << name;
  if (node == nullptr || node->input(index) == nullptr) return {};
  EXPECT_TRUE(node->input(index)->constant_data()) << name << " input " << index;
  if (!node->input(index)->constant_data()) return {};
  return RefFromTensor(*node->input(index)->constant_data());
}

RefTensor Constant(const ir::Graph& graph, const std::string& value_name) {
  const ir::Value* v = graph.FindValue(value_name);
  EXPECT_TRUE(v != nullptr && v->constant_data()) << value_name;
  if (v == nullptr || !v->constant_data()) return {};
  return RefFromTensor(*v->constant_data());
}

std::map<std::string, RefTensor> RandomInputs(const ir::Graph& graph, uint32_t seed,
                                              int64_t batch) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::map<std::string, RefTensor> inputs;
  for (const ir::Value* in : graph.inputs()) {
    if (in->constant_data()) continue;
    RefTensor t;
    if (in->shape()) {
      for (const ir::Dim& d : *in->shape()) t.shape.push_back(d.is_fixed() ? d.value : batch);
    }
    int64_t count = 1;
    for (int64_t d : t.shape) count *= d;
    t.values.resize(count);
    for (double& v : t.values) v = dist(rng);
    inputs[in->name()] = std::move(t);
  }
  return inputs;
}

double MaxRelativeDifference(const std::map<std::string, RefTensor>& a,
                             const std::map<std::string, RefTensor>& b) {
  const double inf = std::numeric_limits<double>::infinity();
  if (a.size() != b.size() || b.empty()) return inf;
  double worst = 0.0;
  for (const auto& [name, ref] : b) {
    auto it = a.find(name);
    if (it == a.end() || it->second.shape != ref.shape) return inf;
    double max_ref = 0.0, max_diff = 0.0;
    for (size_t i = 0; i < ref.values.size(); ++i) {
      const double got = it->second.values[i], want = ref.values[i];
      if (std::isnan(got) && std::isnan(want)) continue;  // both NaN: same result
      if (std::isinf(want) && got == want) continue;
      max_ref = std::max(max_ref, std::fabs(want));
      const double diff = std::fabs(got - want);
      if (std::isnan(diff)) return inf;
      max_diff = std::max(max_diff, diff);
    }
    worst = std::max(worst, max_diff / std::max(max_ref, 1e-30));
  }
  return worst;
}

double CompareGraphs(const ir::Graph& before, const ir::Graph& after, uint32_t seed) {
  const std::map<std::string, RefTensor> inputs = RandomInputs(before, seed);
  StatusOr<std::map<std::string, RefTensor>> expected = EvaluateGraph(before, inputs);
  StatusOr<std::map<std::string, RefTensor>> actual = EvaluateGraph(after, inputs);
  EXPECT_TRUE(expected.ok()) << expected.status().ToString();
  EXPECT_TRUE(actual.ok()) << actual.status().ToString();
  if (!expected.ok() || !actual.ok()) return std::numeric_limits<double>::infinity();
  return MaxRelativeDifference(*actual, *expected);
}

std::string BatchNormOutcome(const PipelineReport& report, const std::string& name) {
  std::string outcome;
  for (const PassReport& pass : report.passes) {
    for (const BatchNormDecision& d : pass.batchnorm) {
      if (d.node == name) outcome = d.folded ? "folded into " + d.folded_into : d.reason;
    }
  }
  return outcome;
}

bool HasNote(const PipelineReport& report, const std::string& text) {
  for (const PassReport& pass : report.passes) {
    for (const std::string& note : pass.notes) {
      if (note.find(text) != std::string::npos) return true;
    }
  }
  return false;
}

}  // namespace bnfold::passes::testing
