// cancel-transposes: structure after the pass (Transpose counts, perms,
// permuted constants checked element by element against numpy's rule),
// every precondition's negative case, and the graph run through the Session
// without passes and with only this pass: the rewrite only moves data, so
// the outputs are bit-identical.
#include "passes/cancel_transposes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "bnfold/session.h"
#include "passes/pass_registry.h"
#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold::passes::testing {
namespace {

const std::vector<std::string> kPass = {"cancel-transposes"};

using ::bnfold::testing::SeededValues;

// Runs `spec` through the Session (no passes, or exactly `passes`) on
// seeded inputs of the given dims; outputs by name.
std::map<std::string, std::vector<float>> RunThroughSession(
    const ModelSpec& spec, const std::map<std::string, std::vector<int64_t>>& inputs,
    const std::vector<std::string>& passes) {
  SessionOptions options;
  options.threads = 1;
  options.optimize = !passes.empty();
  options.passes = passes;
  auto session = Session::OpenFromBytes(ModelBytes(spec), options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  std::vector<NamedTensor> feeds;
  unsigned seed = 100;
  for (const auto& [name, dims] : inputs) {
    StatusOr<Tensor> t = Tensor::Allocate(DataType::kFloat, dims);
    EXPECT_TRUE(t.ok());
    const std::vector<float> values = SeededValues(t->num_elements(), seed++);
    std::memcpy(t->data(), values.data(), values.size() * sizeof(float));
    feeds.push_back({name, std::move(*t)});
  }
  std::vector<NamedTensor> outputs;
  Status status = (*session)->Run(feeds, &outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  std::map<std::string, std::vector<float>> result;
  for (const NamedTensor& o : outputs) {
    const float* p = o.tensor.data_as<float>();
    result[o.name] = std::vector<float>(p, p + o.tensor.num_elements());
  }
  return result;
}

void ExpectSameOutputs(const ModelSpec& spec,
                       const std::map<std::string, std::vector<int64_t>>& inputs) {
  const auto plain = RunThroughSession(spec, inputs, {});
  const auto moved = RunThroughSession(spec, inputs, kPass);
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(plain, moved);
}

std::vector<int64_t> PermAttr(const ir::Node& node) { return *node.GetInts("perm", {}); }

TEST(CancelTransposes, PairAcrossElementwiseOpsCancels) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,4,5] X) => (float[2,3,4,5] Y) {\n"
              "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n"
              "  S = Sub (T, K)\n"
              "  R = Relu (S)\n"
              "  M = Mul (R, G)\n"
              "  Y = Transpose <perm = [0, 3, 1, 2]> (M)\n}\n";
  spec.inits = {{"K", {3}}, {"G", {1, 1, 3}}};
  FoldResult r = Fold(spec, kPass);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Transpose"), 0);
  EXPECT_EQ(r.report.passes[0].rewrites, 1);
  // The graph output keeps its name and is produced by the last op.
  ASSERT_EQ(r.after->outputs()[0]->name(), "Y");
  EXPECT_EQ(r.after->outputs()[0]->producer()->op_type(), "Mul");
  ir::Node* sub = r.after->outputs()[0]->producer()->input(0)->producer()->input(0)->producer();
  ASSERT_EQ(sub->op_type(), "Sub");
  EXPECT_EQ(sub->input(0)->name(), "X");
  // K [3] aligned to [1,1,1,3] and transposed by the inverse perm: [1,3,1,1].
  const RefTensor k = Constant(*r.before, "K");
  const RefTensor k2 = Constant(*r.after, sub->input(1)->name());
  EXPECT_EQ(k2.shape, (std::vector<int64_t>{1, 3, 1, 1}));
  EXPECT_EQ(k2.values, k.values);
  ExpectSameOutputs(spec, {{"X", {2, 3, 4, 5}}});
}

TEST(CancelTransposes, ConstantIsPermutedElementByElement) {
  // A full-rank constant: K'[n][c][h][w] must equal K[n][h][w][c].
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[1,2,3,4] X) => (float[1,2,3,4] Y) {\n"
              "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n"
              "  A = Add (K, T)\n"
              "  Y = Transpose <perm = [0, 3, 1, 2]> (A)\n}\n";
  spec.inits = {{"K", {1, 3, 4, 2}}};
  FoldResult r = Fold(spec, kPass);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Transpose"), 0);
  const ir::Node* add = r.after->outputs()[0]->producer();
  ASSERT_EQ(add->op_type(), "Add");
  const RefTensor k = Constant(*r.before, "K");
  const RefTensor k2 = Constant(*r.after, add->input(0)->name());
  ASSERT_EQ(k2.shape, (std::vector<int64_t>{1, 2, 3, 4}));
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 4; ++w) {
        EXPECT_EQ(k2.values[(c * 3 + h) * 4 + w], k.values[(h * 4 + w) * 2 + c]);
      }
  ExpectSameOutputs(spec, {{"X", {1, 2, 3, 4}}});
}

TEST(CancelTransposes, DirectPairCancels) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,4] X) => (float[2,3,4] Y) {\n"
              "  A = Relu (X)\n"
              "  T = Transpose <perm = [2, 0, 1]> (A)\n"
              "  U = Transpose <perm = [1, 2, 0]> (T)\n"
              "  Y = Sigmoid (U)\n}\n";
  FoldResult r = Fold(spec, kPass);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Transpose"), 0);
  EXPECT_EQ(FindNode(*r.after, "Y")->input(0)->name(), "A");
  ExpectSameOutputs(spec, {{"X", {2, 3, 4}}});
}

TEST(CancelTransposes, PairThatIsNotTheIdentityMerges) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,4,5] X) => (float[4,2,5,3] Y) {\n"
              "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n"
              "  A = Add (T, K)\n"
              "  Y = Transpose <perm = [1, 0, 2, 3]> (A)\n}\n";
  spec.inits = {{"K", {5, 3}}};
  FoldResult r = Fold(spec, kPass);
  ASSERT_TRUE(r.after);
  ASSERT_EQ(CountOps(*r.after, "Transpose"), 1);
  const ir::Node* y = r.after->outputs()[0]->producer();
  ASSERT_EQ(y->op_type(), "Transpose");
  // r[i] = p[q[i]] with p = (0,2,3,1), q = (1,0,2,3).
  EXPECT_EQ(PermAttr(*y), (std::vector<int64_t>{2, 0, 3, 1}));
  EXPECT_EQ(y->input(0)->producer()->op_type(), "Add");
  ExpectSameOutputs(spec, {{"X", {2, 3, 4, 5}}});
}

TEST(CancelTransposes, TransposeMovesToTheGraphOutput) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,4,5] X) => (float[2,4,5,3] Y) {\n"
              "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n"
              "  A = Add (T, K)\n"
              "  Y = Clip (A, Lo, Hi)\n}\n";
  spec.inits = {{"K", {3}}, {"Lo", {}, -0.5, -0.5}, {"Hi", {}, 0.5, 0.5}};
  FoldResult r = Fold(spec, kPass);
  ASSERT_TRUE(r.after);
  ASSERT_EQ(CountOps(*r.after, "Transpose"), 1);
  const ir::Node* y = r.after->outputs()[0]->producer();
  ASSERT_EQ(y->op_type(), "Transpose");
  EXPECT_EQ(r.after->outputs()[0]->name(), "Y");
  EXPECT_EQ(PermAttr(*y), (std::vector<int64_t>{0, 2, 3, 1}));
  const ir::Value* clipped = y->input(0);
  EXPECT_EQ(clipped->producer()->op_type(), "Clip");
  ASSERT_TRUE(clipped->shape());
  EXPECT_EQ((*clipped->shape())[1].value, 3);  // back in X's layout
  EXPECT_EQ(clipped->producer()->input(0)->producer()->input(0)->name(), "X");
  ExpectSameOutputs(spec, {{"X", {2, 3, 4, 5}}});
}

// Each precondition's negative case leaves the graph as it was.
TEST(CancelTransposes, PreconditionsLeaveTheGraphUnchanged) {
  struct Case {
    const char* name;
    const char* reason;  // part of MatchCancelTransposes' reason
    std::string body;
    std::string outputs = "float[2,3,4,5] Y";
    std::vector<Init> inits;
    int opset = 13;
    std::string inputs = "float[2,3,4,5] X";
  };
  const std::string open = "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n";
  const std::string close = "  Y = Transpose <perm = [0, 3, 1, 2]> (A)\n";
  const std::vector<Case> cases = {
      {"a value in the chain has a second reader", "'A' has 2 readers",
       open + "  A = Relu (T)\n  Z = Sigmoid (A)\n" + close,
       "float[2,3,4,5] Y, float[2,4,5,3] Z"},
      {"the other operand is computed at run time", "computed at run time",
       open + "  A = Add (T, X2)\n" + close, "float[2,3,4,5] Y", {}, 13,
       "float[2,3,4,5] X, float[3] X2"},
      {"the constant widens the value", "may widen 'T'",
       open + "  A = Add (T, K)\n" + close, "float[2,3,4,5] Y", {{"K", {2, 4, 5, 3}}}, 13,
       "float[1,3,4,5] X"},
      {"the constant has a higher rank", "higher rank", open + "  Y = Add (T, K)\n",
       "float[1,2,4,5,3] Y", {{"K", {1, 2, 4, 5, 3}}}},
      {"the chain ends at an op that is not element-wise", "is not element-wise",
       open + "  A = Softmax <axis = 1> (T)\n" + close},
      {"opset 6 broadcasting", "predates numpy broadcasting", open + "  A = Add (T, K)\n" + close, "float[2,3,4,5] Y",
       {{"K", {2, 4, 5, 3}}}, 6},
      {"the pair's result is a graph output", "would rename graph output 'Y'",
       "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n  Y = Transpose <perm = [0, 3, 1, 2]> (T)\n"},
      {"the Transpose alone feeds a graph output", "'Y' is a graph output",
       "  Y = Transpose <perm = [0, 2, 3, 1]> (X)\n",
       "float[2,4,5,3] Y"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ModelSpec spec;
    spec.text = Header(8, c.opset) + "g (" + c.inputs + ") => (" + c.outputs + ") {\n" + c.body +
                "}\n";
    spec.inits = c.inits;
    FoldResult r = Fold(spec, kPass);
    ASSERT_TRUE(r.after);
    EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
    EXPECT_EQ(r.report.passes[0].rewrites, 0);
    const ir::Node* first = r.before->nodes()[0];
    ASSERT_EQ(first->op_type(), "Transpose");
    MatchOr<CancelTransposesMatch> match = MatchCancelTransposes(*first);
    ASSERT_FALSE(match.ok());
    EXPECT_NE(match.reason().find(c.reason), std::string::npos) << match.reason();
    // The pass records the reason for the Transpose that stays (inspect shows it).
    bool recorded = false;
    for (const NodeDecision& d : r.report.passes[0].nodes) {
      recorded = recorded || (d.node == DecisionName(*first) && !d.changed &&
                              d.outcome.find(c.reason) != std::string::npos);
    }
    EXPECT_TRUE(recorded);
  }
}

// Prepare creates what the rewrite needs and rewires nothing; the commit
// (which cannot fail) does the rest. Here the moved Transpose exists after
// the prepare, writing a placeholder, while the chain still reads T.
TEST(CancelTransposes, PrepareRewiresNothing) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3,4,5] X) => (float[2,4,5,3] Y) {\n"
              "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n"
              "  Y = Add (T, K)\n}\n";
  spec.inits = {{"K", {3}}};
  std::unique_ptr<ir::Graph> graph = LoadGraph(spec);
  ASSERT_TRUE(graph);
  MatchOr<CancelTransposesMatch> match = MatchCancelTransposes(*FindNode(*graph, "T"));
  ASSERT_TRUE(match.ok()) << match.reason();
  StatusOr<PreparedCancelTransposes> prepared = PrepareCancelTransposes(*graph, *match);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  const ir::Node* add = FindNode(*graph, "Y");
  EXPECT_EQ(add->input(0)->name(), "T");
  EXPECT_EQ(add->input(1)->name(), "K");
  EXPECT_EQ(graph->outputs()[0]->producer(), add);
  ASSERT_NE(prepared->moved, nullptr);
  EXPECT_EQ(prepared->moved->output(0), prepared->placeholder);
  CommitCancelTransposes(*graph, *match, *prepared);
  EXPECT_EQ(CountOps(*graph, "Transpose"), 1);
  EXPECT_EQ(graph->outputs()[0]->producer(), prepared->moved);
  EXPECT_EQ(graph->FindValue(prepared->placeholder->name()), nullptr);  // gone
  EXPECT_EQ(prepared->inner->producer()->op_type(), "Add");
  EXPECT_EQ(prepared->inner->producer()->input(0)->name(), "X");
}

TEST(CancelTransposes, OverridableConstantIsNotMoved) {
  ModelSpec spec;
  // K is an initializer and a graph input (IR 8): a caller may feed it.
  spec.text = Header(8, 13) + "g (float[2,3,4,5] X, float[3] K) => (float[2,3,4,5] Y) {\n"
              "  T = Transpose <perm = [0, 2, 3, 1]> (X)\n"
              "  A = Add (T, K)\n"
              "  Y = Transpose <perm = [0, 3, 1, 2]> (A)\n}\n";
  spec.inits = {{"K", {3}}};
  FoldResult r = Fold(spec, kPass);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  MatchOr<CancelTransposesMatch> match = MatchCancelTransposes(*FindNode(*r.before, "T"));
  ASSERT_FALSE(match.ok());
  EXPECT_NE(match.reason().find("may override it at run time"), std::string::npos)
      << match.reason();
}

// What tf2onnx writes for Keras Conv -> BN (written out) -> ReLU in NHWC:
// with the Transposes gone, the default pipeline folds Sub/Mul/Add into the
// Conv.
TEST(CancelTransposes, DefaultPipelineThenFoldsTheWrittenOutBatchNorm) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[N,6,6,2] X) => (float[N,6,6,4] Y) {\n"
              "  A = Transpose <perm = [0, 3, 1, 2]> (X)\n"
              "  C = Conv <pads = [1, 1, 1, 1]> (A, W)\n"
              "  D = Transpose <perm = [0, 2, 3, 1]> (C)\n"
              "  S = Sub (D, Mean)\n"
              "  M = Mul (S, Scale)\n"
              "  B = Add (M, Offset)\n"
              "  R = Relu (B)\n"
              "  E = Transpose <perm = [0, 3, 1, 2]> (R)\n"
              "  F = Conv <pads = [1, 1, 1, 1]> (E, W2)\n"
              "  Y = Transpose <perm = [0, 2, 3, 1]> (F)\n}\n";
  spec.inits = {{"W", {4, 2, 3, 3}}, {"Mean", {4}}, {"Scale", {4}, 0.5, 1.5},
                {"Offset", {4}}, {"W2", {4, 4, 3, 3}}};
  FoldResult r = Fold(spec, {});
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Transpose"), 2);  // the input's and the output's
  EXPECT_EQ(CountOps(*r.after, "Sub") + CountOps(*r.after, "Mul") + CountOps(*r.after, "Add"), 0);

  const auto plain = RunThroughSession(spec, {{"X", {2, 6, 6, 2}}}, {});
  const auto folded = RunThroughSession(spec, {{"X", {2, 6, 6, 2}}}, DefaultPipeline());
  ASSERT_EQ(plain.at("Y").size(), folded.at("Y").size());
  double scale = 0.0;
  for (float v : plain.at("Y")) scale = std::max(scale, std::abs(double{v}));
  for (size_t i = 0; i < plain.at("Y").size(); ++i) {
    EXPECT_NEAR(folded.at("Y")[i], plain.at("Y")[i], 1e-5 * scale) << i;
  }
}

}  // namespace
}  // namespace bnfold::passes::testing
