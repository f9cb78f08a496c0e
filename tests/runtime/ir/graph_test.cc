#include "runtime/ir/graph.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/ir/tensor_util.h"

namespace bnfold::ir {
namespace {

// Builds graphs by value name: inputs and outputs are created on first
// mention, like the importer does.
class GraphBuilder {
 public:
  Value* V(const std::string& name) {
    if (Value* v = graph.FindValue(name)) return v;
    return *graph.AddValue(name);
  }
  Node* Add(OpKind kind, const std::string& name, const std::vector<std::string>& ins,
            const std::vector<std::string>& outs) {
    std::vector<Value*> in_values, out_values;
    for (const auto& n : ins) in_values.push_back(n.empty() ? nullptr : V(n));
    for (const auto& n : outs) out_values.push_back(V(n));
    StatusOr<Node*> node =
        graph.AddNode(kind, OpKindName(kind), "", name, 13, in_values, out_values);
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    return node.ok() ? *node : nullptr;
  }
  Value* Input(const std::string& name) {
    Value* v = V(name);
    graph.AddGraphInput(v);
    return v;
  }
  Value* Output(const std::string& name) {
    Value* v = V(name);
    graph.AddGraphOutput(v);
    return v;
  }
  Value* Initializer(const std::string& name, std::vector<double> values) {
    StatusOr<ConstTensorPtr> data =
        MakeConstant(DataType::kFloat, {static_cast<int64_t>(values.size())}, values);
    EXPECT_TRUE(data.ok());
    Value* v = V(name);
    graph.SetInitializer(v, *data);
    return v;
  }

  Graph graph;
};

std::vector<std::string> NodeNames(const Graph& graph) {
  std::vector<std::string> names;
  for (const Node* n : graph.nodes()) names.push_back(n->name());
  return names;
}

std::vector<std::pair<std::string, int>> Uses(const Value* v) {
  std::vector<std::pair<std::string, int>> uses;
  for (const Use& u : v->uses()) uses.push_back({u.node->name(), u.input_index});
  return uses;
}

TEST(GraphTest, TopologicalSortKeepsAValidOrder) {
  // Two independent chains interleaved in file order; already valid, so the
  // order must not change (Kahn with a min-heap on file position).
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kRelu, "a1", {"x"}, {"a"});
  b.Add(OpKind::kSigmoid, "b1", {"x"}, {"b"});
  b.Add(OpKind::kTanh, "a2", {"a"}, {"a_out"});
  b.Add(OpKind::kAbs, "b2", {"b"}, {"b_out"});
  b.Add(OpKind::kAdd, "join", {"a_out", "b_out"}, {"y"});
  b.Output("y");
  ASSERT_TRUE(b.graph.TopologicalSort().ok());
  EXPECT_EQ(NodeNames(b.graph),
            (std::vector<std::string>{"a1", "b1", "a2", "b2", "join"}));
}

TEST(GraphTest, TopologicalSortMovesOnlyWhatMust) {
  // File order: c (needs b), a, b (needs a), d (needs x). The sort puts each
  // node as early as its producers allow, ties broken by file order.
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kRelu, "c", {"tb"}, {"tc"});
  b.Add(OpKind::kRelu, "a", {"x"}, {"ta"});
  b.Add(OpKind::kRelu, "b", {"ta"}, {"tb"});
  b.Add(OpKind::kRelu, "d", {"x"}, {"td"});
  b.Output("tc");
  b.Output("td");
  ASSERT_TRUE(b.graph.TopologicalSort().ok());
  EXPECT_EQ(NodeNames(b.graph), (std::vector<std::string>{"a", "b", "c", "d"}));
  // Ids keep the file position, for stable descriptions.
  EXPECT_EQ(b.graph.nodes()[2]->id(), 0u);
  EXPECT_EQ(b.graph.nodes()[2]->Describe(), "Relu 'c'");
}

TEST(GraphTest, TopologicalSortCountsAProducerUsedTwiceOnce) {
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kAdd, "sq", {"t", "t"}, {"y"});
  b.Add(OpKind::kRelu, "r", {"x"}, {"t"});
  b.Output("y");
  ASSERT_TRUE(b.graph.TopologicalSort().ok());
  EXPECT_EQ(NodeNames(b.graph), (std::vector<std::string>{"r", "sq"}));
}

TEST(GraphTest, TopologicalSortNamesTheCycle) {
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kRelu, "before", {"x"}, {"p"});
  b.Add(OpKind::kAdd, "n1", {"p", "c"}, {"a"});
  b.Add(OpKind::kRelu, "n2", {"a"}, {"bb"});
  b.Add(OpKind::kIdentity, "n3", {"bb"}, {"c"});
  b.Add(OpKind::kRelu, "after", {"a"}, {"y"});
  b.Output("y");
  const Status status = b.graph.TopologicalSort();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidModel);
  EXPECT_EQ(status.message(),
            "the graph has a cycle: Add 'n1' -> Relu 'n2' -> Identity 'n3' -> Add 'n1'");
  // Nothing was reordered.
  EXPECT_EQ(NodeNames(b.graph),
            (std::vector<std::string>{"before", "n1", "n2", "n3", "after"}));
}

TEST(GraphTest, TopologicalSortFindsACycleSeenOnlyDownstream) {
  // The first stuck node only leads into the cycle; the message must show
  // the cycle itself, not the path into it.
  GraphBuilder b;
  b.Add(OpKind::kRelu, "downstream", {"a"}, {"y"});
  b.Add(OpKind::kRelu, "loop1", {"bb"}, {"a"});
  b.Add(OpKind::kRelu, "loop2", {"a"}, {"bb"});
  b.Output("y");
  const Status status = b.graph.TopologicalSort();
  EXPECT_EQ(status.message(),
            "the graph has a cycle: Relu 'loop1' -> Relu 'loop2' -> Relu 'loop1'");
}

TEST(GraphTest, TopologicalSortFindsASelfLoop) {
  GraphBuilder b;
  b.Add(OpKind::kRelu, "self", {"a"}, {"a"});
  b.Output("a");
  EXPECT_EQ(b.graph.TopologicalSort().message(),
            "the graph has a cycle: Relu 'self' -> Relu 'self'");
}

TEST(GraphTest, TopologicalSortRefusesAnUndefinedInput) {
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kAdd, "add", {"x", "w"}, {"y"});
  b.Output("y");
  EXPECT_EQ(b.graph.TopologicalSort().message(),
            "Add 'add': input 'w' is not a graph input, an initializer, or the output of any "
            "node");
  // An initializer or an omitted optional input is fine.
  GraphBuilder ok;
  ok.Input("x");
  ok.Initializer("w", {1, 2});
  ok.Add(OpKind::kClip, "clip", {"x", "", "w"}, {"y"});
  ok.Output("y");
  EXPECT_TRUE(ok.graph.TopologicalSort().ok());
}

TEST(GraphTest, AddNodeRefusesASecondProducer) {
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kRelu, "first", {"x"}, {"y"});
  StatusOr<Node*> second = b.graph.AddNode(OpKind::kIdentity, "Identity", "", "second", 13,
                                           {b.V("x")}, {b.V("y")});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "Identity 'second': output 'y' is already produced by Relu 'first'");
  EXPECT_EQ(b.graph.num_nodes(), 1u);
}

TEST(GraphTest, ReplaceAllUsesWithMovesUsesAndGraphOutputs) {
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kRelu, "r", {"x"}, {"t"});
  b.Add(OpKind::kAdd, "sum", {"t", "t"}, {"u"});
  b.Add(OpKind::kTanh, "tanh", {"t"}, {"v"});
  b.Output("t");
  b.Output("v");
  Value* t = b.V("t");
  Value* x = b.V("x");
  b.graph.ReplaceAllUsesWith(t, x);
  EXPECT_TRUE(t->uses().empty());
  EXPECT_FALSE(t->is_graph_output());
  EXPECT_EQ(t->producer()->name(), "r");  // the producer is untouched
  EXPECT_EQ(Uses(x), (std::vector<std::pair<std::string, int>>{
                         {"r", 0}, {"sum", 0}, {"sum", 1}, {"tanh", 0}}));
  EXPECT_EQ(b.graph.outputs()[0], x);
  EXPECT_TRUE(x->is_graph_output());
  for (const Node* n : b.graph.nodes()) {
    if (n->name() != "r") {
      EXPECT_EQ(n->input(0), x) << n->name();
    }
  }
}

TEST(GraphTest, ReplacingOneOfTwoIdenticalGraphOutputsKeepsTheFlag) {
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kRelu, "r", {"x"}, {"t"});
  b.Add(OpKind::kTanh, "tanh", {"x"}, {"u"});
  b.Output("t");
  b.Output("t");
  b.graph.SetGraphOutput(0, b.V("u"));
  EXPECT_TRUE(b.V("t")->is_graph_output());  // still output 1
  b.graph.SetGraphOutput(1, b.V("u"));
  EXPECT_FALSE(b.V("t")->is_graph_output());
}

TEST(GraphTest, RemoveNodeDetachesInputsAndOutputs) {
  GraphBuilder b;
  b.Input("x");
  b.Add(OpKind::kRelu, "r", {"x"}, {"t"});
  Node* twice = b.Add(OpKind::kAdd, "twice", {"t", "t"}, {"u"});
  b.Add(OpKind::kTanh, "tanh", {"u"}, {"y"});
  b.Output("y");
  b.graph.RemoveNode(twice);
  EXPECT_EQ(NodeNames(b.graph), (std::vector<std::string>{"r", "tanh"}));
  EXPECT_TRUE(b.V("t")->uses().empty());
  EXPECT_EQ(b.V("u")->producer(), nullptr);
  EXPECT_EQ(b.V("u")->producer_output(), -1);
  EXPECT_EQ(Uses(b.V("u")), (std::vector<std::pair<std::string, int>>{{"tanh", 0}}));
  // The dangling value is now reported by the sort, naming its consumer.
  EXPECT_EQ(b.graph.TopologicalSort().message(),
            "Tanh 'tanh': input 'u' is not a graph input, an initializer, or the output of any "
            "node");
  // A value with no producer and no uses can then be removed; one in use not.
  EXPECT_FALSE(b.graph.RemoveValue(b.V("u")).ok());
  Value* t = b.V("t");
  b.graph.RemoveNode(b.graph.nodes()[0]);
  EXPECT_TRUE(b.graph.RemoveValue(t).ok());
  EXPECT_EQ(b.graph.FindValue("t"), nullptr);
}

TEST(GraphTest, CloneSharesConstantsAndCopiesStructure) {
  GraphBuilder b;
  b.graph.set_name("g");
  b.Input("x");
  Value* w = b.Initializer("w", {1, 2, 3});
  b.graph.SetOverridable(w, true);
  b.graph.AddGraphInput(w);
  Node* add = b.Add(OpKind::kAdd, "add", {"x", "w"}, {"t"});
  Attribute alpha;
  alpha.name = "alpha";
  alpha.type = AttrType::kFloat;
  alpha.f = 0.5f;
  add->SetAttribute(alpha);
  add->set_doc_string("adds");
  b.Add(OpKind::kRelu, "r", {"t"}, {"y"});
  b.Output("y");

  std::unique_ptr<Graph> copy = b.graph.Clone();
  EXPECT_EQ(copy->name(), "g");
  EXPECT_EQ(NodeNames(*copy), NodeNames(b.graph));
  const Value* cw = copy->FindValue("w");
  ASSERT_NE(cw, nullptr);
  EXPECT_NE(cw, w);
  EXPECT_EQ(cw->constant_data().get(), w->constant_data().get());  // shared, not copied
  EXPECT_TRUE(cw->is_initializer());
  EXPECT_TRUE(cw->is_overridable());
  EXPECT_TRUE(cw->is_graph_input());
  EXPECT_EQ(copy->inputs().size(), 2u);
  EXPECT_EQ(copy->outputs()[0], copy->FindValue("y"));
  const Node* cadd = copy->nodes()[0];
  EXPECT_EQ(cadd->input(1), cw);
  EXPECT_EQ(cadd->output(0)->producer(), cadd);
  EXPECT_EQ(cadd->doc_string(), "adds");
  EXPECT_EQ(cadd->id(), add->id());
  ASSERT_NE(cadd->FindAttribute("alpha"), nullptr);
  EXPECT_EQ(*cadd->GetFloat("alpha", 0), 0.5f);
  EXPECT_EQ(Uses(cw), (std::vector<std::pair<std::string, int>>{{"add", 1}}));

  // Editing the copy leaves the original alone.
  copy->RemoveNode(copy->nodes()[1]);
  EXPECT_EQ(b.graph.num_nodes(), 2u);
  EXPECT_EQ(b.V("y")->producer()->name(), "r");
}

TEST(GraphTest, AttributeGettersRefuseTheWrongType) {
  GraphBuilder b;
  Node* n = b.Add(OpKind::kConv, "conv", {"x"}, {"y"});
  Attribute group;
  group.name = "group";
  group.type = AttrType::kFloat;
  n->SetAttribute(group);
  EXPECT_EQ(n->GetInt("group", 1).status().message(),
            "Conv 'conv': attribute 'group' is not of type int");
  EXPECT_EQ(*n->GetInts("pads", {0, 0}), (std::vector<int64_t>{0, 0}));
  n->RemoveAttribute("group");
  EXPECT_EQ(*n->GetInt("group", 1), 1);
}

TEST(GraphTest, UniqueNameAvoidsTakenNames) {
  GraphBuilder b;
  b.V("w");
  b.V("w__1");
  const std::string name = b.graph.UniqueName("w");
  EXPECT_NE(name, "w");
  EXPECT_NE(name, "w__1");
  EXPECT_EQ(b.graph.FindValue(name), nullptr);
  EXPECT_EQ(b.graph.UniqueName("fresh"), "fresh");
  EXPECT_FALSE(b.graph.AddValue("w").ok());
  EXPECT_FALSE(b.graph.AddValue("").ok());
}

}  // namespace
}  // namespace bnfold::ir
