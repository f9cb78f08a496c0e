#include "runtime/onnx/exporter.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "runtime/onnx/loader.h"
#include "runtime/onnx/tensor_proto.h"
#include "tests/runtime/onnx/test_models.h"

namespace bnfold::onnx_io {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::ParseModel;
using testing::Serialize;

// A then/else branch of the If below: returns a constant float[2].
onnx::GraphProto Branch(const std::string& name, const std::string& values) {
  onnx::ModelProto holder = ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 13]>
    )" + name + R"( () => (float[2] out_)" + name + R"() {
      out_)" + name + R"( = Constant <value = float[2] {)" + values + R"(}> ()
    }
  )", {name + "_const"});
  return holder.graph();
}

// Everything the exporter must carry through: model metadata and doc
// strings, a second opset import, inputs with symbolic dims, an overridable
// initializer, raw and typed-field initializers, value_info, attributes of
// several kinds (tensor, ints, float, string, graphs), node doc strings.
onnx::ModelProto RichModel() {
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 7, opset_import: ["" : 13, "com.example" : 1]>
    main (float[N,4,2,2] x, float[2] bias) => (float[N,1,4,4] y, float[2] z, float[2] picked) {
      c = Constant <value = float[2] {0.5, 2.0}> ()
      t = Transpose <perm = [0, 1, 2, 3]> (x)
      u = LeakyRelu <alpha = 0.25> (t)
      y = DepthToSpace <blocksize = 2, mode = "CRD"> (u)
      z = Add(c, bias)
    }
  )", {"const", "transpose", "leaky", "d2s", "add"});
  model.set_producer_name("bnfold-test");
  model.set_producer_version("1.2");
  model.set_domain("ai.bnfold.test");
  model.set_model_version(5);
  model.set_doc_string("a model with everything");
  auto* prop = model.add_metadata_props();
  prop->set_key("author");
  prop->set_value("loader helper");
  onnx::GraphProto* g = model.mutable_graph();
  g->set_doc_string("the main graph");
  g->mutable_node(1)->set_doc_string("a no-op transpose");
  g->mutable_node(2)->set_doc_string("leaky");

  // If with graph attributes (kept opaque by the importer).
  onnx::NodeProto* branch = g->add_node();
  branch->set_op_type("If");
  branch->set_name("choose");
  branch->add_input("cond");
  branch->add_output("picked");
  for (auto [attr_name, graph_name, values] :
       {std::tuple{"then_branch", "yes", "1.0, 2.0"}, std::tuple{"else_branch", "no", "3.0, 4.0"}}) {
    onnx::AttributeProto* a = branch->add_attribute();
    a->set_name(attr_name);
    a->set_type(onnx::AttributeProto::GRAPH);
    *a->mutable_g() = Branch(graph_name, values);
  }

  // value_info for an intermediate.
  onnx::ValueInfoProto* info = g->add_value_info();
  info->set_name("t");
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx::TensorProto::FLOAT);
  for (const char* dim : {"N", "4", "2", "2"}) {
    auto* d = tensor_type->mutable_shape()->add_dim();
    if (dim[0] == 'N') {
      d->set_dim_param("N");
    } else {
      d->set_dim_value(std::stoi(dim));
    }
  }

  testing::AddFloatInitializer(&model, "bias", {2}, {10, 20});  // also a graph input
  onnx::TensorProto* cond = g->add_initializer();
  cond->set_name("cond");
  cond->set_data_type(onnx::TensorProto::BOOL);
  cond->add_int32_data(1);
  onnx::TensorProto* typed = g->add_initializer();
  typed->set_name("typed_ints");
  typed->set_data_type(onnx::TensorProto::INT64);
  typed->add_dims(3);
  for (int64_t v : {int64_t{-7}, int64_t{0}, int64_t{1} << 40}) typed->add_int64_data(v);
  return model;
}

void ExpectSameTensor(const onnx::TensorProto& a, const onnx::TensorProto& b) {
  StatusOr<Tensor> ta = TensorFromProto(a, "a");
  StatusOr<Tensor> tb = TensorFromProto(b, "b");
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(ta->dtype(), tb->dtype());
  EXPECT_EQ(ta->shape(), tb->shape());
  ASSERT_EQ(ta->byte_size(), tb->byte_size());
  EXPECT_EQ(std::memcmp(ta->data(), tb->data(), ta->byte_size()), 0);
}

template <typename Repeated>
void ExpectSameMessages(const Repeated& a, const Repeated& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (int i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(a.Get(i), b.Get(i)))
        << what << " " << i << ":\n" << a.Get(i).DebugString() << "vs\n" << b.Get(i).DebugString();
  }
}

// `b`'s nodes are `a`'s, in order; tensors compared by value, subgraphs
// (If/Loop/Scan bodies) recursively.
void ExpectSameNodes(const onnx::GraphProto& a, const onnx::GraphProto& b) {
  ASSERT_EQ(b.node_size(), a.node_size());
  for (int i = 0; i < a.node_size(); ++i) {
    const onnx::NodeProto& na = a.node(i);
    const onnx::NodeProto& nb = b.node(i);
    SCOPED_TRACE(na.name());
    EXPECT_EQ(nb.op_type(), na.op_type());
    EXPECT_EQ(nb.name(), na.name());
    EXPECT_EQ(nb.domain(), na.domain());
    EXPECT_EQ(nb.doc_string(), na.doc_string());
    EXPECT_TRUE(std::equal(na.input().begin(), na.input().end(), nb.input().begin(),
                           nb.input().end()));
    EXPECT_TRUE(std::equal(na.output().begin(), na.output().end(), nb.output().begin(),
                           nb.output().end()));
    ASSERT_EQ(nb.attribute_size(), na.attribute_size());
    for (int k = 0; k < na.attribute_size(); ++k) {
      const onnx::AttributeProto& aa = na.attribute(k);
      const onnx::AttributeProto& ab = nb.attribute(k);
      EXPECT_EQ(ab.name(), aa.name());
      EXPECT_EQ(ab.type(), aa.type());
      if (aa.type() == onnx::AttributeProto::TENSOR) {
        ExpectSameTensor(aa.t(), ab.t());
      } else if (aa.type() == onnx::AttributeProto::GRAPH) {
        EXPECT_EQ(ab.g().name(), aa.g().name());
        ExpectSameMessages(aa.g().input(), ab.g().input(), "subgraph input");
        ExpectSameMessages(aa.g().output(), ab.g().output(), "subgraph output");
        ExpectSameNodes(aa.g(), ab.g());
      } else {
        EXPECT_TRUE(MessageDifferencer::Equals(aa, ab)) << aa.DebugString() << ab.DebugString();
      }
    }
  }

}

// `exported` carries everything of `original` (nodes in the same order;
// tensors compared by value since the exporter writes raw data).
void ExpectSameModel(const onnx::ModelProto& original, const onnx::ModelProto& exported) {
  EXPECT_EQ(exported.ir_version(), original.ir_version());
  ExpectSameMessages(original.opset_import(), exported.opset_import(), "opset_import");
  EXPECT_EQ(exported.producer_name(), original.producer_name());
  EXPECT_EQ(exported.producer_version(), original.producer_version());
  EXPECT_EQ(exported.domain(), original.domain());
  EXPECT_EQ(exported.model_version(), original.model_version());
  EXPECT_EQ(exported.doc_string(), original.doc_string());
  ExpectSameMessages(original.metadata_props(), exported.metadata_props(), "metadata_props");

  const onnx::GraphProto& a = original.graph();
  const onnx::GraphProto& b = exported.graph();
  EXPECT_EQ(b.name(), a.name());
  EXPECT_EQ(b.doc_string(), a.doc_string());
  ExpectSameMessages(a.input(), b.input(), "input");
  ExpectSameMessages(a.output(), b.output(), "output");
  ExpectSameMessages(a.value_info(), b.value_info(), "value_info");

  ExpectSameNodes(a, b);

  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : b.initializer()) inits[t.name()] = &t;
  ASSERT_EQ(inits.size(), static_cast<size_t>(a.initializer_size()));
  for (const auto& t : a.initializer()) {
    ASSERT_TRUE(inits.count(t.name())) << t.name();
    ExpectSameTensor(t, *inits[t.name()]);
  }
}

TEST(ExporterTest, RoundTripKeepsEverything) {
  const onnx::ModelProto original = RichModel();
  ASSERT_NO_THROW(onnx::checker::check_model(original));
  StatusOr<LoadedModel> loaded = LoadModelBytes(Serialize(original), "", "rich.onnx");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded->model.graph->FindValue("bias")->is_overridable());

  StatusOr<std::unique_ptr<onnx::ModelProto>> exported =
      ExportModel(*loaded->skeleton, *loaded->model.graph);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  ASSERT_NO_THROW(onnx::checker::check_model(**exported));
  ExpectSameModel(original, **exported);

  // Reloading the export and exporting again changes nothing.
  StatusOr<LoadedModel> reloaded = LoadModelBytes(Serialize(**exported), "", "exported.onnx");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  StatusOr<std::unique_ptr<onnx::ModelProto>> again =
      ExportModel(*reloaded->skeleton, *reloaded->model.graph);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Serialize(**again), Serialize(**exported));
}

TEST(ExporterTest, OutOfOrderNodesAreExportedSorted) {
  const onnx::ModelProto original = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y) { y = Relu(t)  t = Identity(x) }
  )", {"relu", "copy"});
  StatusOr<LoadedModel> loaded = LoadModelBytes(Serialize(original), "", "m");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto exported = ExportModel(*loaded->skeleton, *loaded->model.graph);
  ASSERT_TRUE(exported.ok());
  ASSERT_EQ((*exported)->graph().node_size(), 2);
  EXPECT_EQ((*exported)->graph().node(0).name(), "copy");
  EXPECT_EQ((*exported)->graph().node(1).name(), "relu");
  EXPECT_NO_THROW(onnx::checker::check_model(**exported));
}

TEST(ExporterTest, DeclaresAGraphOutputTheInputModelDidNotDeclare) {
  // As a pass would: drop the final Identity and make its input the output.
  const onnx::ModelProto original = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[N,3] x) => (float[N,3] y) { t = Relu(x)  y = Identity(t) }
  )", {"relu", "copy"});
  StatusOr<LoadedModel> loaded = LoadModelBytes(Serialize(original), "", "m");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ir::Graph& graph = *loaded->model.graph;
  ir::Node* copy = graph.nodes()[1];
  ir::Value* t = copy->input(0);
  ir::Value* y = copy->output(0);
  graph.RemoveNode(copy);
  graph.ReplaceAllUsesWith(y, t);
  ASSERT_TRUE(graph.RemoveValue(y).ok());

  auto exported = ExportModel(*loaded->skeleton, graph);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  const onnx::GraphProto& g = (*exported)->graph();
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "t");
  const auto& type = g.output(0).type().tensor_type();
  EXPECT_EQ(type.elem_type(), onnx::TensorProto::FLOAT);
  ASSERT_EQ(type.shape().dim_size(), 2);  // from ONNX shape inference at load
  EXPECT_EQ(type.shape().dim(0).dim_param(), "N");
  EXPECT_EQ(type.shape().dim(1).dim_value(), 3);
  EXPECT_EQ(g.node_size(), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(**exported));
}

TEST(ExporterTest, WriteModelFileIsAtomicAndReadable) {
  testing::TempDir dir;
  const onnx::ModelProto model = RichModel();
  const std::string path = dir.File("out.onnx");
  ASSERT_TRUE(WriteModelFile(model, path).ok());
  StatusOr<LoadedModel> loaded = LoadModelFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->model.producer_name, "bnfold-test");
  EXPECT_EQ(WriteModelFile(model, dir.File("missing/out.onnx")).code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace bnfold::onnx_io
