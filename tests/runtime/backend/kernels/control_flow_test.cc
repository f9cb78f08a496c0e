// If, Loop and Scan (runtime/backend/onednn/kernels/control_flow*.cc)
// through the public Session and Optimizer APIs, against hand-computed
// references: outer values captured at any depth, zero iterations, carried
// values that grow, reversed and transposed scans, opset-8 Scan with
// sequence lengths, If with differently-shaped branches, folds inside a
// Loop body, and the errors (naming file, node, subgraph and inner node).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "bnfold/optimizer.h"
#include "bnfold/session.h"
#include "onnx/onnx_pb.h"
#include "tests/runtime/backend/kernels/single_node_model.h"

namespace bnfold {
namespace {

using testing::MakeTensor;
using testing::ToDoubles;

constexpr DataType kF = DataType::kFloat;
constexpr DataType kI64 = DataType::kInt64;
constexpr DataType kBool = DataType::kBool;

void SetType(onnx::ValueInfoProto* info, const std::string& name, DataType dtype,
             const std::vector<int64_t>& dims) {
  info->set_name(name);
  auto* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(static_cast<int>(dtype));
  auto* shape = t->mutable_shape();
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d >= 0) dim->set_dim_value(d);
  }
}

// A GraphProto built line by line.
class G {
 public:
  explicit G(const std::string& name) { g_.set_name(name); }
  G& In(const std::string& name, DataType dtype, const std::vector<int64_t>& dims) {
    SetType(g_.add_input(), name, dtype, dims);
    return *this;
  }
  G& Out(const std::string& name, DataType dtype, const std::vector<int64_t>& dims) {
    SetType(g_.add_output(), name, dtype, dims);
    return *this;
  }
  G& Init(const std::string& name, const Tensor& value) {
    onnx::TensorProto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(static_cast<int>(value.dtype()));
    for (int64_t d : value.shape()) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<const char*>(value.data()), value.byte_size()));
    return *this;
  }
  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs, const std::string& name = "") {
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? outs.front() + "_node" : name);
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return n;
  }
  // A Constant node.
  G& Const(const std::string& name, const Tensor& value) {
    onnx::NodeProto* n = Node("Constant", {}, {name});
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    onnx::TensorProto* t = a->mutable_t();
    t->set_data_type(static_cast<int>(value.dtype()));
    for (int64_t d : value.shape()) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<const char*>(value.data()), value.byte_size()));
    return *this;
  }
  const onnx::GraphProto& proto() const { return g_; }

 private:
  onnx::GraphProto g_;
};

void GraphAttr(onnx::NodeProto* n, const std::string& name, const G& g) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = g.proto();
}
void IntsAttr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void IntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

std::string ModelBytes(const G& g, int64_t opset = 16) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* import = m.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  *m.mutable_graph() = g.proto();
  return m.SerializeAsString();
}

StatusOr<std::vector<Tensor>> RunBytes(const std::string& bytes,
                                       const std::vector<NamedTensor>& feeds,
                                       bool optimize = false) {
  SessionOptions options;
  options.optimize = optimize;
  options.threads = 1;
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(bytes, options);
  if (!session.ok()) return session.status();
  std::vector<NamedTensor> outputs;
  Status status = (*session)->Run(feeds, &outputs);
  if (!status.ok()) return status;
  std::vector<Tensor> result;
  for (NamedTensor& o : outputs) result.push_back(std::move(o.tensor));
  return result;
}

Tensor Scalar(DataType dtype, double v) { return MakeTensor(dtype, {}, {v}); }

// ---------------------------------------------------------------- If

// then: x * 2 (captures x); else: a constant of another shape.
G IfModel() {
  G then_branch("then");
  then_branch.Node("Add", {"x", "x"}, {"twice"});
  then_branch.Out("twice", kF, {});  // shapes left to inference
  G else_branch("else");
  else_branch.Const("three", MakeTensor(kF, {3}, {7, 8, 9}));
  else_branch.Out("three", kF, {});
  G main("main");
  main.In("cond", kBool, {}).In("x", kF, {2});
  onnx::NodeProto* n = main.Node("If", {"cond"}, {"y"}, "if");
  GraphAttr(n, "then_branch", then_branch);
  GraphAttr(n, "else_branch", else_branch);
  main.Out("y", kF, {-1});
  return main;
}

TEST(IfTest, PicksTheBranchAtRunTimeEvenWhenTheirShapesDiffer) {
  const std::string bytes = ModelBytes(IfModel());
  // then: [2]
  StatusOr<std::vector<Tensor>> out =
      RunBytes(bytes, {{"cond", Scalar(kBool, 1)}, {"x", MakeTensor(kF, {2}, {1.5, -2})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{3, -4}));
  // else: [3]
  out = RunBytes(bytes, {{"cond", Scalar(kBool, 0)}, {"x", MakeTensor(kF, {2}, {1.5, -2})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{7, 8, 9}));
}

TEST(IfTest, OneSessionRunsBothBranches) {
  SessionOptions options;
  options.threads = 1;
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(ModelBytes(IfModel()), options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (int cond : {1, 0, 1}) {
    std::vector<NamedTensor> outputs;
    ASSERT_TRUE((*session)->Run({{"cond", Scalar(kBool, cond)}, {"x", MakeTensor(kF, {2}, {1, 2})}},
                                &outputs).ok());
    const std::vector<double> expected =
        cond ? std::vector<double>{2, 4} : std::vector<double>{7, 8, 9};
    EXPECT_EQ(ToDoubles(outputs[0].tensor), expected);
  }
}

// ---------------------------------------------------------------- Loop

// Loop(M, cond, acc): acc += x * i (x captured from the main graph), scan
// output acc; M fed at run time.
G SumLoop(bool with_if = false) {
  G body("body");
  body.In("i", kI64, {}).In("c", kBool, {}).In("acc", kF, {2});
  IntAttr(body.Node("Cast", {"i"}, {"fi"}), "to", 1);
  body.Node("Mul", {"x", "fi"}, {"xi"});
  if (with_if) {
    // acc + (i is even ? xi : -w): the If captures x's product from the body
    // and w from the main graph (two levels out).
    body.Const("two", Scalar(kI64, 2));
    body.Node("Mod", {"i", "two"}, {"r"});
    body.Const("zero", Scalar(kI64, 0));
    body.Node("Equal", {"r", "zero"}, {"even"});
    G then_branch("then");
    then_branch.Node("Identity", {"xi"}, {"t"});
    then_branch.Out("t", kF, {2});
    G else_branch("else");
    else_branch.Node("Neg", {"w"}, {"e"});
    else_branch.Out("e", kF, {2});
    onnx::NodeProto* n = body.Node("If", {"even"}, {"step"}, "inner_if");
    GraphAttr(n, "then_branch", then_branch);
    GraphAttr(n, "else_branch", else_branch);
    body.Node("Add", {"acc", "step"}, {"acc_out"});
  } else {
    body.Node("Add", {"acc", "xi"}, {"acc_out"});
  }
  body.Node("Identity", {"c"}, {"c_out"});
  body.Node("Identity", {"acc_out"}, {"scan"});
  body.Out("c_out", kBool, {}).Out("acc_out", kF, {2}).Out("scan", kF, {2});
  G main("main");
  main.In("M", kI64, {}).In("x", kF, {2}).In("acc0", kF, {2});
  if (with_if) main.In("w", kF, {2});
  main.Const("true", Scalar(kBool, 1));
  onnx::NodeProto* n = main.Node("Loop", {"M", "true", "acc0"}, {"acc", "accs"}, "loop");
  GraphAttr(n, "body", body);
  main.Out("acc", kF, {2}).Out("accs", kF, {-1, 2});
  return main;
}

TEST(LoopTest, CarriesValuesReadsOuterValuesAndStacksScanOutputs) {
  StatusOr<std::vector<Tensor>> out =
      RunBytes(ModelBytes(SumLoop()), {{"M", Scalar(kI64, 3)},
                                       {"x", MakeTensor(kF, {2}, {1, 10})},
                                       {"acc0", MakeTensor(kF, {2}, {0.5, 0})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // acc after i = 0, 1, 2: +0, +x, +2x.
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{3.5, 30}));
  EXPECT_EQ((*out)[1].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(ToDoubles((*out)[1]), (std::vector<double>{0.5, 0, 1.5, 10, 3.5, 30}));
}

TEST(LoopTest, ZeroIterationsGiveTheInitialValuesAndEmptyScanOutputs) {
  StatusOr<std::vector<Tensor>> out =
      RunBytes(ModelBytes(SumLoop()), {{"M", Scalar(kI64, 0)},
                                       {"x", MakeTensor(kF, {2}, {1, 10})},
                                       {"acc0", MakeTensor(kF, {2}, {0.5, -1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{0.5, -1}));
  EXPECT_EQ((*out)[1].shape(), (std::vector<int64_t>{0, 2}));
}

TEST(LoopTest, IfNestedInABodyCapturesValuesTwoLevelsOut) {
  StatusOr<std::vector<Tensor>> out =
      RunBytes(ModelBytes(SumLoop(/*with_if=*/true)), {{"M", Scalar(kI64, 4)},
                                                       {"x", MakeTensor(kF, {2}, {1, 2})},
                                                       {"acc0", MakeTensor(kF, {2}, {0, 0})},
                                                       {"w", MakeTensor(kF, {2}, {100, 200})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // i=0: +0; i=1: -w; i=2: +2x; i=3: -w.
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{-198, -396}));
  EXPECT_EQ(ToDoubles((*out)[1]),
            (std::vector<double>{0, 0, -100, -200, -98, -196, -198, -396}));
}


TEST(LoopTest, RunsUntilTheConditionTurnsFalse) {
  G body("body");
  body.In("i", kI64, {}).In("c", kBool, {}).In("acc", kF, {});
  body.Node("Add", {"acc", "acc"}, {"acc_out"});
  body.Node("Less", {"acc_out", "limit"}, {"c_out"});
  body.Out("c_out", kBool, {}).Out("acc_out", kF, {});
  G main("main");
  main.In("acc0", kF, {}).In("limit", kF, {});
  main.Const("true", Scalar(kBool, 1));
  GraphAttr(main.Node("Loop", {"", "true", "acc0"}, {"acc"}, "loop"), "body", body);
  main.Out("acc", kF, {});
  StatusOr<std::vector<Tensor>> out =
      RunBytes(ModelBytes(main), {{"acc0", Scalar(kF, 3)}, {"limit", Scalar(kF, 100)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{192}));  // 3 * 2^6
}

TEST(LoopTest, ALoopThatCanNeverEndIsRefused) {
  G body("body");
  body.In("i", kI64, {}).In("c", kBool, {}).In("acc", kF, {});
  body.Node("Add", {"acc", "acc"}, {"acc_out"});
  body.Node("Identity", {"c"}, {"c_out"});
  body.Out("c_out", kBool, {}).Out("acc_out", kF, {});
  G main("main");
  main.In("acc0", kF, {});
  GraphAttr(main.Node("Loop", {"", "", "acc0"}, {"acc"}, "forever"), "body", body);
  main.Out("acc", kF, {});
  StatusOr<std::vector<Tensor>> out = RunBytes(ModelBytes(main), {{"acc0", Scalar(kF, 1)}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Loop 'forever'"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("never end"), std::string::npos) << out.status().message();
}

TEST(LoopTest, ACarriedValueMayGrowEachIteration) {
  // acc = Concat(acc, [i]) M times: [0] -> [0, 0, 1, 2].
  G body("body");
  body.In("i", kI64, {}).In("c", kBool, {}).In("acc", kI64, {-1});
  body.Const("axes", MakeTensor(kI64, {1}, {0}));
  body.Node("Unsqueeze", {"i", "axes"}, {"i1"});
  IntAttr(body.Node("Concat", {"acc", "i1"}, {"acc_out"}), "axis", 0);
  body.Node("Identity", {"c"}, {"c_out"});
  body.Out("c_out", kBool, {}).Out("acc_out", kI64, {-1});
  G main("main");
  main.In("M", kI64, {}).In("acc0", kI64, {1});
  main.Const("true", Scalar(kBool, 1));
  GraphAttr(main.Node("Loop", {"M", "true", "acc0"}, {"acc"}, "grow"), "body", body);
  main.Out("acc", kI64, {-1});
  for (int64_t m : {3, 0, 5}) {
    StatusOr<std::vector<Tensor>> out =
        RunBytes(ModelBytes(main), {{"M", Scalar(kI64, m)}, {"acc0", MakeTensor(kI64, {1}, {9})}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::vector<double> expected = {9};
    for (int64_t i = 0; i < m; ++i) expected.push_back(static_cast<double>(i));
    EXPECT_EQ(ToDoubles((*out)[0]), expected);
  }
}

// ---------------------------------------------------------------- Scan

TEST(ScanTest, ReversedTransposedScanAgainstAHandComputedSum) {
  // x [2, 3] scanned along axis 1 backwards; the running sum stacked along
  // output axis 1, written backwards too.
  G body("body");
  body.In("s", kF, {2}).In("col", kF, {2});
  body.Node("Add", {"s", "col"}, {"s_out"});
  body.Node("Identity", {"s_out"}, {"y"});
  body.Out("s_out", kF, {2}).Out("y", kF, {2});
  G main("main");
  main.In("s0", kF, {2}).In("x", kF, {2, 3});
  onnx::NodeProto* n = main.Node("Scan", {"s0", "x"}, {"s", "ys"}, "scan");
  GraphAttr(n, "body", body);
  IntAttr(n, "num_scan_inputs", 1);
  IntsAttr(n, "scan_input_axes", {1});
  IntsAttr(n, "scan_input_directions", {1});
  IntsAttr(n, "scan_output_axes", {-1});
  IntsAttr(n, "scan_output_directions", {1});
  main.Out("s", kF, {2}).Out("ys", kF, {2, 3});
  StatusOr<std::vector<Tensor>> out =
      RunBytes(ModelBytes(main), {{"s0", MakeTensor(kF, {2}, {0, 100})},
                                  {"x", MakeTensor(kF, {2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{6, 115}));
  // Step t reads column 2 - t and writes column 2 - t: columns hold the
  // suffix sums.
  EXPECT_EQ(ToDoubles((*out)[1]), (std::vector<double>{6, 5, 3, 115, 111, 106}));
}

TEST(ScanTest, Opset8StopsEachBatchElementAtItsSequenceLength) {
  G body("body");
  body.In("s", kF, {1}).In("v", kF, {1});
  body.Node("Add", {"s", "v"}, {"s_out"});
  body.Node("Identity", {"s_out"}, {"y"});
  body.Out("s_out", kF, {1}).Out("y", kF, {1});
  G main("main");
  main.In("lens", DataType::kInt32, {2}).In("s0", kF, {2, 1}).In("x", kF, {2, 3, 1});
  onnx::NodeProto* n = main.Node("Scan", {"lens", "s0", "x"}, {"s", "ys"}, "scan8");
  GraphAttr(n, "body", body);
  IntAttr(n, "num_scan_inputs", 1);
  main.Out("s", kF, {2, 1}).Out("ys", kF, {2, 3, 1});
  StatusOr<std::vector<Tensor>> out =
      RunBytes(ModelBytes(main, 8), {{"lens", MakeTensor(DataType::kInt32, {2}, {3, 1})},
                                     {"s0", MakeTensor(kF, {2, 1}, {0, 10})},
                                     {"x", MakeTensor(kF, {2, 3, 1}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{6, 14}));
  EXPECT_EQ(ToDoubles((*out)[1]), (std::vector<double>{1, 3, 6, 14, 0, 0}));
}

// ---------------------------------------------------------------- passes and export

TEST(LoopTest, AConvAndBatchNormInsideABodyFoldAndTheExportRunsTheSame) {
  // Body: y = BN(Conv(acc, W)) with W, BN parameters as body constants;
  // acc is loop-carried (never folded).
  G body("body");
  body.In("i", kI64, {}).In("c", kBool, {}).In("acc", kF, {1, 2, 3, 3});
  body.Init("W", MakeTensor(kF, {2, 2, 1, 1}, {0.5, -0.25, 0.75, 1}));
  body.Init("scale", MakeTensor(kF, {2}, {2, 0.5}));
  body.Init("bias", MakeTensor(kF, {2}, {0.1, -0.2}));
  body.Init("mean", MakeTensor(kF, {2}, {0.3, 0.4}));
  body.Init("var", MakeTensor(kF, {2}, {1.5, 0.25}));
  body.Node("Conv", {"acc", "W"}, {"conv"}, "conv");
  body.Node("BatchNormalization", {"conv", "scale", "bias", "mean", "var"}, {"acc_out"}, "bn");
  body.Node("Identity", {"c"}, {"c_out"});
  body.Out("c_out", kBool, {}).Out("acc_out", kF, {1, 2, 3, 3});
  G main("main");
  main.In("x", kF, {1, 2, 3, 3});
  main.Const("M", Scalar(kI64, 3));
  main.Const("true", Scalar(kBool, 1));
  GraphAttr(main.Node("Loop", {"M", "true", "x"}, {"y"}, "loop"), "body", body);
  main.Out("y", kF, {1, 2, 3, 3});
  const std::string bytes = ModelBytes(main);

  std::vector<double> xs = testing::RandomValues(18, 7);
  const std::vector<NamedTensor> feeds = {{"x", MakeTensor(kF, {1, 2, 3, 3}, xs)}};
  // Reference in double: three times y = BN(W x).
  const double w[2][2] = {{0.5, -0.25}, {0.75, 1}};
  const double sc[2] = {2, 0.5}, bi[2] = {0.1, -0.2}, me[2] = {0.3, 0.4}, va[2] = {1.5, 0.25};
  std::vector<double> ref = xs;
  for (int it = 0; it < 3; ++it) {
    std::vector<double> next(18);
    for (int o = 0; o < 2; ++o) {
      for (int p = 0; p < 9; ++p) {
        const double conv = w[o][0] * ref[p] + w[o][1] * ref[9 + p];
        next[o * 9 + p] = (conv - me[o]) / std::sqrt(va[o] + 1e-5) * sc[o] + bi[o];
      }
    }
    ref = next;
  }
  for (bool optimize : {false, true}) {
    StatusOr<std::vector<Tensor>> out = RunBytes(bytes, feeds, optimize);
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::vector<double> got = ToDoubles((*out)[0]);
    for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-4) << i;
  }

  std::string optimized;
  StatusOr<OptimizeReport> report = OptimizeModelBytes(bytes, "", &optimized);
  ASSERT_TRUE(report.ok()) << report.status().message();
  onnx::ModelProto written;
  ASSERT_TRUE(written.ParseFromString(optimized));
  const onnx::GraphProto& written_body = written.graph().node(written.graph().node_size() - 1).attribute(0).g();
  int bn = 0;
  for (const auto& n : written_body.node()) bn += n.op_type() == "BatchNormalization";
  EXPECT_EQ(bn, 0) << "the BN inside the body folds into its Conv";
  StatusOr<std::vector<Tensor>> out = RunBytes(optimized, feeds);
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<double> got = ToDoubles((*out)[0]);
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-4) << i;
}

TEST(LoopTest, TheExportKeepsCapturedValuesAndRunsTheSame) {
  const std::string bytes = ModelBytes(SumLoop(/*with_if=*/true));
  std::string optimized;
  StatusOr<OptimizeReport> report = OptimizeModelBytes(bytes, "", &optimized);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const std::vector<NamedTensor> feeds = {{"M", Scalar(kI64, 4)},
                                          {"x", MakeTensor(kF, {2}, {1, 2})},
                                          {"acc0", MakeTensor(kF, {2}, {0, 0})},
                                          {"w", MakeTensor(kF, {2}, {100, 200})}};
  StatusOr<std::vector<Tensor>> a = RunBytes(bytes, feeds);
  StatusOr<std::vector<Tensor>> b = RunBytes(optimized, feeds);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(ToDoubles((*a)[1]), ToDoubles((*b)[1]));
}

// ---------------------------------------------------------------- errors

TEST(SubgraphErrorsTest, AnUndefinedNameNamesTheOuterNodeSubgraphAndInnerNode) {
  G body("body");
  body.In("i", kI64, {}).In("c", kBool, {}).In("acc", kF, {});
  body.Node("Add", {"acc", "nowhere"}, {"acc_out"}, "inner_add");
  body.Out("c", kBool, {}).Out("acc_out", kF, {});
  G main("main");
  main.In("acc0", kF, {}).In("M", kI64, {});
  GraphAttr(main.Node("Loop", {"M", "", "acc0"}, {"acc"}, "outer_loop"), "body", body);
  main.Out("acc", kF, {});
  StatusOr<std::vector<Tensor>> out = RunBytes(ModelBytes(main), {});
  ASSERT_FALSE(out.ok());
  const std::string& m = out.status().message();
  EXPECT_NE(m.find("<memory>"), std::string::npos) << m;
  EXPECT_NE(m.find("Loop 'outer_loop'"), std::string::npos) << m;
  EXPECT_NE(m.find("subgraph 'body'"), std::string::npos) << m;
  EXPECT_NE(m.find("Add 'inner_add'"), std::string::npos) << m;
  EXPECT_NE(m.find("'nowhere'"), std::string::npos) << m;
}

TEST(SubgraphErrorsTest, ABodyReturningTheWrongNumberOfValuesIsRefused) {
  G body("body");
  body.In("i", kI64, {}).In("c", kBool, {}).In("acc", kF, {});
  body.Node("Identity", {"c"}, {"c_out"});
  body.Out("c_out", kBool, {});  // the carried value is missing
  G main("main");
  main.In("acc0", kF, {}).In("M", kI64, {});
  GraphAttr(main.Node("Loop", {"M", "", "acc0"}, {"acc"}, "short_loop"), "body", body);
  main.Out("acc", kF, {});
  StatusOr<std::vector<Tensor>> out =
      RunBytes(ModelBytes(main), {{"acc0", Scalar(kF, 1)}, {"M", Scalar(kI64, 2)}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Loop 'short_loop'"), std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace bnfold
