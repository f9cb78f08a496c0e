// Kernels of the recurrent family (runtime/backend/onednn/kernels/recurrent.cc)
// through the public Session API (single_node_model.h):
// - a hand-computed RNN;
// - oneDNN's cells (weights as initializers) against the C++ loop (the
//   same weights fed as inputs), every cell, direction and GRU's
//   linear_before_reset;
// - ONNX Runtime (scripts/ort/run.js) on what the backend suite does not
//   cover: bidirectional and reverse layers, per-batch sequence_lens, clip,
//   input_forget, non-default activations (ONNX Runtime refuses layout=1;
//   the suite's *_batchwise cases cover it);
// - ONNX Runtime on Keras-style classifiers (Transpose -> LSTM/GRU -> Y_h ->
//   Squeeze -> MatMul -> Add -> Softmax, the graph tf2onnx emits for
//   Sequential([LSTM(h), Dense(k, softmax)])).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "tests/models/ort_runner.h"
#include "tests/models/output_errors.h"
#include "tests/runtime/backend/kernels/single_node_model.h"
#include "tests/test_util/dependency.h"

namespace bnfold::testing {
namespace {

struct RnnCase {
  std::string op = "LSTM";
  std::string direction = "forward";
  int64_t seq = 4, batch = 3, input = 5, hidden = 6;
  int64_t layout = 0;
  bool bias = true, initial = true, peephole = false, seq_lens = false;
  int64_t linear_before_reset = 0, input_forget = 0;
  float clip = 0.0f;
  std::vector<std::string> activations;
  std::vector<float> alphas, betas;
  bool weights_constant = false;  // initializers (oneDNN) or inputs (loop)
  std::string name;
};

int64_t Gates(const std::string& op) { return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1; }

struct RnnModel {
  SingleNodeModel model;
  std::vector<Tensor> feeds;
  std::vector<std::string> feed_names;
};

RnnModel BuildRnn(const RnnCase& c) {
  const int64_t D = c.direction == "bidirectional" ? 2 : 1, G = Gates(c.op), H = c.hidden;
  RnnModel m{SingleNodeModel(c.op, 14), {}, {}};
  uint32_t seed = 11;
  auto add = [&](const std::string& name, DataType dtype, const std::vector<int64_t>& dims,
                 const std::vector<double>& values, bool constant) {
    Tensor t = MakeTensor(dtype, dims, values);
    if (constant) {
      m.model.Initializer(name, t);
    } else {
      m.model.Input(name, dtype, dims);
      m.feeds.push_back(std::move(t));
      m.feed_names.push_back(name);
    }
  };
  auto random = [&](const std::vector<int64_t>& dims, double scale) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return RandomValues(static_cast<size_t>(n), seed++, -scale, scale);
  };
  const std::vector<int64_t> x_dims = c.layout ? std::vector<int64_t>{c.batch, c.seq, c.input}
                                               : std::vector<int64_t>{c.seq, c.batch, c.input};
  const std::vector<int64_t> state = c.layout ? std::vector<int64_t>{c.batch, D, H}
                                              : std::vector<int64_t>{D, c.batch, H};
  add("X", DataType::kFloat, x_dims, random(x_dims, 1.0), false);
  add("W", DataType::kFloat, {D, G * H, c.input}, random({D, G * H, c.input}, 0.5), c.weights_constant);
  add("R", DataType::kFloat, {D, G * H, H}, random({D, G * H, H}, 0.5), c.weights_constant);
  const bool any_after_b = c.seq_lens || c.initial || c.peephole;
  if (c.bias) {
    add("B", DataType::kFloat, {D, 2 * G * H}, random({D, 2 * G * H}, 0.5), c.weights_constant);
  } else if (any_after_b) {
    m.model.NoInput();
  }
  if (c.seq_lens) {
    std::vector<double> lens;
    for (int64_t b = 0; b < c.batch; ++b) lens.push_back(static_cast<double>((b * 2 + 1) % (c.seq + 1)));
    lens[0] = static_cast<double>(c.seq);
    add("L", DataType::kInt32, {c.batch}, lens, false);
  } else if (c.initial || c.peephole) {
    m.model.NoInput();
  }
  if (c.initial) {
    add("H0", DataType::kFloat, state, random(state, 1.0), false);
    if (c.op == "LSTM") add("C0", DataType::kFloat, state, random(state, 1.0), false);
  } else if (c.peephole) {
    m.model.NoInput().NoInput();
  }
  if (c.peephole) add("P", DataType::kFloat, {D, 3 * H}, random({D, 3 * H}, 0.5), c.weights_constant);
  const std::vector<int64_t> y_dims = c.layout ? std::vector<int64_t>{c.batch, c.seq, D, H}
                                               : std::vector<int64_t>{c.seq, D, c.batch, H};
  m.model.Output("Y", DataType::kFloat, y_dims).Output("Y_h", DataType::kFloat, state);
  if (c.op == "LSTM") m.model.Output("Y_c", DataType::kFloat, state);
  m.model.IntAttr("hidden_size", H).StringAttr("direction", c.direction);
  if (c.layout) m.model.IntAttr("layout", c.layout);
  if (c.linear_before_reset) m.model.IntAttr("linear_before_reset", 1);
  if (c.input_forget) m.model.IntAttr("input_forget", 1);
  if (c.clip > 0) m.model.FloatAttr("clip", c.clip);
  if (!c.activations.empty()) m.model.StringsAttr("activations", c.activations);
  if (!c.alphas.empty()) m.model.FloatsAttr("activation_alpha", c.alphas);
  if (!c.betas.empty()) m.model.FloatsAttr("activation_beta", c.betas);
  return m;
}

void ExpectClose(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(RecurrentTest, HandComputedRnn) {
  // hidden 1, input 1: h1 = tanh(0.5 x1 + 0.1 + 0.2 + 0.25 h0), h2 likewise.
  const double x1 = 0.8, x2 = -1.2, h0 = 0.3;
  const double h1 = std::tanh(0.5 * x1 + 0.3 + 0.25 * h0);
  const double h2 = std::tanh(0.5 * x2 + 0.3 + 0.25 * h1);
  for (bool constant : {true, false}) {
    SCOPED_TRACE(constant ? "oneDNN" : "loop");
    SingleNodeModel m("RNN", 14);
    m.Input("X", DataType::kFloat, {2, 1, 1});
    std::vector<Tensor> feeds = {MakeTensor(DataType::kFloat, {2, 1, 1}, {x1, x2})};
    const Tensor w = MakeTensor(DataType::kFloat, {1, 1, 1}, {0.5});
    const Tensor r = MakeTensor(DataType::kFloat, {1, 1, 1}, {0.25});
    const Tensor b = MakeTensor(DataType::kFloat, {1, 2}, {0.1, 0.2});
    if (constant) {
      m.Initializer("W", w).Initializer("R", r).Initializer("B", b);
    } else {
      m.Input("W", DataType::kFloat, {1, 1, 1}).Input("R", DataType::kFloat, {1, 1, 1});
      m.Input("B", DataType::kFloat, {1, 2});
      feeds.push_back(w);
      feeds.push_back(r);
      feeds.push_back(b);
    }
    m.NoInput().Input("H0", DataType::kFloat, {1, 1, 1});
    feeds.push_back(MakeTensor(DataType::kFloat, {1, 1, 1}, {h0}));
    m.Output("Y", DataType::kFloat, {2, 1, 1, 1}).Output("Y_h", DataType::kFloat, {1, 1, 1});
    m.IntAttr("hidden_size", 1);
    StatusOr<std::vector<Tensor>> out = m.Run(feeds);
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectClose(ToDoubles((*out)[0]), {h1, h2}, 1e-6);
    ExpectClose(ToDoubles((*out)[1]), {h2}, 1e-6);
  }
}

TEST(RecurrentTest, OneDnnCellsMatchTheLoop) {
  for (const std::string op : {"LSTM", "GRU", "RNN"}) {
    for (const std::string direction : {"forward", "reverse", "bidirectional"}) {
      for (int64_t lbr : {0, 1}) {
        if (lbr && op != "GRU") continue;
        for (bool initial : {true, false}) {
          RnnCase c;
          c.op = op;
          c.direction = direction;
          c.linear_before_reset = lbr;
          c.initial = initial;
          c.peephole = op == "LSTM" && initial;
          SCOPED_TRACE(op + " " + direction + " lbr " + std::to_string(lbr) +
                       (initial ? " initial states" : ""));
          c.weights_constant = true;
          RnnModel dnnl = BuildRnn(c);
          c.weights_constant = false;
          RnnModel loop = BuildRnn(c);
          StatusOr<std::vector<Tensor>> a = dnnl.model.Run(dnnl.feeds);
          StatusOr<std::vector<Tensor>> b = loop.model.Run(loop.feeds);
          ASSERT_TRUE(a.ok()) << a.status().message();
          ASSERT_TRUE(b.ok()) << b.status().message();
          ASSERT_EQ(a->size(), b->size());
          for (size_t i = 0; i < a->size(); ++i) {
            EXPECT_EQ((*a)[i].shape(), (*b)[i].shape());
            ExpectClose(ToDoubles((*a)[i]), ToDoubles((*b)[i]), 2e-5);
          }
        }
      }
    }
  }
}

// Runs `model` (bytes) with `feeds` on bnfold and ONNX Runtime and compares
// every output.
void CompareWithOrt(const std::string& name, const std::string& bytes,
                    const std::vector<std::string>& feed_names, const std::vector<Tensor>& feeds,
                    double tolerance) {
  const OrtRunner ort = OrtRunner::FromEnvironment();
  std::string why;
  const bool available = ort.Available(&why);
  BNFOLD_REQUIRE_DEPENDENCY(available, why);
  const std::string dir = std::string(BNFOLD_TEST_WORK_DIR) + "/recurrent_" + name;
  const std::string path = dir + ".onnx";
  {
    std::ofstream file(path, std::ios::binary);
    file << bytes;
  }
  std::vector<NamedTensor> inputs;
  for (size_t i = 0; i < feeds.size(); ++i) inputs.push_back({feed_names[i], feeds[i]});
  StatusOr<std::vector<NamedTensor>> want = ort.Run(path, inputs, dir);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  for (bool optimize : {false, true}) {
    SessionOptions options;
    options.optimize = optimize;
    StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(bytes, options);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    std::vector<NamedTensor> got;
    Status run = (*session)->Run(inputs, &got);
    ASSERT_TRUE(run.ok()) << run.ToString();
    ASSERT_EQ(got.size(), want->size());
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE("output " + got[i].name + (optimize ? " optimized" : ""));
      ASSERT_EQ(got[i].tensor.shape(), (*want)[i].tensor.shape());
      const OutputErrors e = CompareOutputs(got[i].tensor, (*want)[i].tensor);
      EXPECT_TRUE(e.finite);
      EXPECT_GT(e.max_ref, 0.0);
      EXPECT_LE(e.max_abs, tolerance) << "at element " << e.worst;
    }
  }
}

TEST(RecurrentTest, EdgeCasesMatchOnnxRuntime) {
  std::vector<RnnCase> cases;
  auto add = [&](RnnCase c, const std::string& name) {
    c.name = name;
    cases.push_back(c);
  };
  RnnCase c;
  c.direction = "bidirectional";
  c.seq_lens = true;
  c.peephole = true;
  add(c, "lstm_bidirectional_seq_lens_peephole");
  c = RnnCase();
  c.direction = "reverse";
  add(c, "lstm_reverse");
  c = RnnCase();
  c.clip = 0.5f;
  c.input_forget = 1;
  add(c, "lstm_clip_input_forget");
  c = RnnCase();
  c.activations = {"HardSigmoid", "LeakyRelu", "Softsign"};
  c.alphas = {0.3f, 0.2f};
  c.betas = {0.4f};
  add(c, "lstm_activations");
  c = RnnCase();
  c.op = "GRU";
  c.direction = "bidirectional";
  c.linear_before_reset = 1;
  c.seq_lens = true;
  add(c, "gru_lbr_bidirectional_seq_lens");
  c = RnnCase();
  c.op = "GRU";
  c.weights_constant = true;
  c.direction = "bidirectional";
  add(c, "gru_bidirectional_constant");
  c = RnnCase();
  c.op = "GRU";
  c.weights_constant = true;
  c.direction = "reverse";
  c.linear_before_reset = 1;
  add(c, "gru_reverse_lbr_constant");
  c = RnnCase();
  c.op = "RNN";
  c.direction = "reverse";
  c.activations = {"Relu"};
  c.weights_constant = true;
  add(c, "rnn_relu_reverse_constant");
  c = RnnCase();
  c.op = "RNN";
  c.direction = "bidirectional";
  c.activations = {"Sigmoid", "Affine"};
  c.alphas = {0.5f};
  c.betas = {0.1f};
  c.seq_lens = true;
  add(c, "rnn_bidirectional_mixed_activations");
  c = RnnCase();
  c.weights_constant = true;
  c.direction = "bidirectional";
  c.peephole = true;
  add(c, "lstm_bidirectional_constant_peephole");
  for (const RnnCase& k : cases) {
    SCOPED_TRACE(k.name);
    RnnModel m = BuildRnn(k);
    CompareWithOrt(k.name, m.model.Bytes(), m.feed_names, m.feeds, 1e-5);
  }
}

// ---- Keras-style classifiers: x [N, T, F] -> Transpose -> LSTM/GRU ->
// Y_h [1, N, H] -> Squeeze -> MatMul [H, K] -> Add -> Softmax.
std::string KerasClassifier(const std::string& op, int64_t steps, int64_t features,
                            int64_t hidden, int64_t classes) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("keras_" + op);
  auto value = [](onnx::ValueInfoProto* v, const std::string& name, int type,
                  const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    for (int64_t d : dims) {
      if (d < 0) {
        t->mutable_shape()->add_dim()->set_dim_param("N");
      } else {
        t->mutable_shape()->add_dim()->set_dim_value(d);
      }
    }
  };
  uint32_t seed = 101;
  auto init = [&](const std::string& name, const std::vector<int64_t>& dims, double scale) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) {
      t->add_dims(d);
      n *= d;
    }
    for (double v : RandomValues(static_cast<size_t>(n), seed++, -scale, scale)) {
      t->add_float_data(static_cast<float>(v));
    }
  };
  auto node = [&](const std::string& type, const std::vector<std::string>& in,
                  const std::vector<std::string>& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(type);
    n->set_name(type + "_" + std::to_string(g->node_size()));
    for (const std::string& s : in) n->add_input(s);
    for (const std::string& s : out) n->add_output(s);
    return n;
  };
  const int64_t G = op == "LSTM" ? 4 : 3;
  value(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, steps, features});
  init("W", {1, G * hidden, features}, 0.4);
  init("R", {1, G * hidden, hidden}, 0.4);
  init("B", {1, 2 * G * hidden}, 0.2);
  init("dense_w", {hidden, classes}, 0.5);
  init("dense_b", {classes}, 0.1);
  onnx::TensorProto* axes = g->add_initializer();
  axes->set_name("axes0");
  axes->set_data_type(onnx::TensorProto::INT64);
  axes->add_dims(1);
  axes->add_int64_data(0);
  auto* perm = node("Transpose", {"x"}, {"x_tnf"})->add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  for (int64_t p : {1, 0, 2}) perm->add_ints(p);
  onnx::NodeProto* rnn = node(op, {"x_tnf", "W", "R", "B"}, {"", "h"});
  auto* hs = rnn->add_attribute();
  hs->set_name("hidden_size");
  hs->set_type(onnx::AttributeProto::INT);
  hs->set_i(hidden);
  if (op == "GRU") {
    auto* lbr = rnn->add_attribute();  // Keras' reset_after=True
    lbr->set_name("linear_before_reset");
    lbr->set_type(onnx::AttributeProto::INT);
    lbr->set_i(1);
  }
  node("Squeeze", {"h", "axes0"}, {"h2"});
  node("MatMul", {"h2", "dense_w"}, {"logits0"});
  node("Add", {"logits0", "dense_b"}, {"logits"});
  node("Softmax", {"logits"}, {"probs"});
  value(g->add_output(), "probs", onnx::TensorProto::FLOAT, {-1, classes});
  return model.SerializeAsString();
}

TEST(RecurrentTest, KerasStyleClassifiersMatchOnnxRuntime) {
  for (const std::string op : {"LSTM", "GRU"}) {
    SCOPED_TRACE(op);
    const int64_t batch = 4, steps = 12, features = 8, hidden = 16, classes = 5;
    const std::string bytes = KerasClassifier(op, steps, features, hidden, classes);
    const Tensor x = MakeTensor(DataType::kFloat, {batch, steps, features},
                                RandomValues(static_cast<size_t>(batch * steps * features), 7));
    CompareWithOrt("keras_" + op, bytes, {"x"}, {x}, 1e-5);
  }
}

}  // namespace
}  // namespace bnfold::testing
