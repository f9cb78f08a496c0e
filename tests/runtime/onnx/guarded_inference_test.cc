// ONNX 1.12's shape inference crashes on some malformed nodes; loading must
// not. First the cases fuzzing found, then a seeded fuzz over every op bnfold
// knows (and some it does not): random attributes (extreme values), inputs of random rank and
// dims, int64 initializers with extreme values, single nodes and chains of
// two (so a crash reachable only through an inferred shape shows up too).
#include "runtime/onnx/guarded_inference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "runtime/ir/op_kind.h"
#include "runtime/onnx/loader.h"
#include "tests/runtime/onnx/test_models.h"

namespace bnfold::onnx_io {
namespace {

using testing::ParseModel;
using testing::Serialize;

// Loads `text`. These models pass ONNX's checker (it does not look at ranks
// or attribute values), so they load; their nodes are refused when compiled.
Status LoadText(const std::string& text) {
  return LoadModelBytes(Serialize(ParseModel(text)), "", "m").status();
}
#define EXPECT_LOADS(text)                    \
  do {                                        \
    const Status status = LoadText(text);     \
    EXPECT_TRUE(status.ok()) << status.ToString(); \
  } while (false)

TEST(GuardedInferenceTest, CasesThatCrashedOnnx112) {
  const std::string header = "<ir_version: 8, opset_import: [\"\" : ";
  // Gemm-6 with inputs not of rank 2: segfault.
  EXPECT_LOADS(header + "6]> g (float[4,2,2,3] a, float b, float[2,2] c) => (float y) "
                    "{ y = Gemm(a, b, c) }");
  // Conv whose weight rank differs from the input's: segfault.
  EXPECT_LOADS(header + "14]> g (float[2,3,5] x, float[4,3,3,4] w) => (float y) { y = Conv(x, w) }");
  // ... and the same with the rank coming from an inferred Reshape.
  EXPECT_LOADS(header + R"(14]> g (float[30] x, float[4,3,3,4] w) => (float y) {
             s = Constant <value = int64[3] {2, 3, 5}> ()
             r = Reshape(x, s)
             y = Conv(r, w) })");
  // ConvTranspose with a scalar weight: segfault.
  EXPECT_LOADS(header + "14]> g (float[2,3,5] x, float w) => (float y) { y = ConvTranspose(x, w) }");
  // A stride of 0: division by zero.
  EXPECT_LOADS(header + "13]> g (float[1,3,5,5] x, float[4,3,3,3] w) => (float y) "
                    "{ y = Conv <strides = [0, 0]> (x, w) }");
  EXPECT_LOADS(header + "13]> g (float[1,3,5,5] x) => (float y) "
                    "{ y = MaxPool <kernel_shape = [2, 2], strides = [0, 0]> (x) }");
  // blocksize * blocksize overflowing to 0: division by zero.
  EXPECT_LOADS(header + "13]> g (float[2,4,3,3] x) => (float y) "
                    "{ y = DepthToSpace <blocksize = 4294967296> (x) }");
  // A shape input of 2^40 elements: an output of rank 2^40 (out of memory).
  EXPECT_LOADS(header + "15]> g (int64[1099511627776] s) => (float y) { y = ConstantOfShape(s) }");
  EXPECT_LOADS(header + "13]> g (float[2] x, int64[1099511627776] s) => (float y) "
                    "{ y = Expand(x, s) }");
  EXPECT_LOADS(header + "13]> g (float[2] x, int64[1099511627776] s) => (float y) "
                    "{ y = Reshape(x, s) }");
}

TEST(GuardedInferenceTest, StillInfersWellFormedModels) {
  const onnx::ModelProto model = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[N,3,8,8] x, float[4,3,3,3] w) => (float[N,N] y) {
      c = Conv <strides = [2, 2], pads = [1, 1, 1, 1]> (x, w)
      p = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (c)
      s = Constant <value = int64[2] {0, -1}> ()
      f = Reshape(p, s)
      y = Gemm <transB = 1> (f, f)
    }
  )");
  StatusOr<LoadedModel> loaded = LoadModelBytes(Serialize(model), "", "m");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto shape_of = [&](const std::string& name) {
    std::string text;
    const ir::Value* v = loaded->model.graph->FindValue(name);
    if (v == nullptr || !v->shape()) return std::string("unknown");
    for (const ir::Dim& d : *v->shape()) text += (d.is_fixed() ? std::to_string(d.value) : d.param) + ",";
    return text;
  };
  EXPECT_EQ(shape_of("c"), "N,4,4,4,");
  EXPECT_EQ(shape_of("p"), "N,4,2,2,");
  EXPECT_EQ(shape_of("f"), "N,16,");  // Reshape to [0, -1]: 0 copies N
  EXPECT_EQ(loaded->model.graph->FindValue("y")->shape()->size(), 2u);
}

// ---------------------------------------------------------------- fuzz

constexpr int64_t kExtremes[] = {0,
                                 1,
                                 -1,
                                 2,
                                 3,
                                 -2,
                                 4,
                                 7,
                                 100,
                                 std::numeric_limits<int32_t>::max(),
                                 std::numeric_limits<int32_t>::min(),
                                 int64_t{1} << 32,
                                 int64_t{1} << 62,
                                 -(int64_t{1} << 62),
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min()};
constexpr int64_t kDims[] = {0, 1, 2, 3, 4, 1 << 20, int64_t{1} << 40, int64_t{1} << 62};
constexpr const char* kStrings[] = {"",           "constant",   "reflect",     "edge",
                                    "NOTSET",     "SAME_UPPER", "SAME_LOWER",  "VALID",
                                    "DCR",        "CRD",        "nearest",     "linear",
                                    "cubic",      "half_pixel", "asymmetric",  "garbage",
                                    "tf_crop_and_resize",       "round_prefer_floor"};

class ModelFuzzer {
 public:
  explicit ModelFuzzer(uint64_t seed) : rng_(seed) {}

  onnx::ModelProto Make() {
    onnx::ModelProto model;
    model.set_ir_version(8);
    const int64_t opset = Pick(std::vector<int64_t>{1, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17});
    auto* import = model.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    onnx::GraphProto* g = model.mutable_graph();
    g->set_name("fuzz");
    std::string previous_output;
    const int nodes = Chance(0.4) ? (Chance(0.5) ? 3 : 2) : 1;
    for (int n = 0; n < nodes; ++n) {
      previous_output = AddRandomNode(opset, n, previous_output, g);
    }
    // The checker wants graph outputs fully typed, which would fix the
    // fuzzed outputs' ranks: pass a separate input through instead.
    onnx::ValueInfoProto passthrough;
    passthrough.set_name("passthrough");
    auto* type = passthrough.mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    type->mutable_shape()->add_dim()->set_dim_value(1);
    *g->add_input() = passthrough;
    *g->add_output() = passthrough;
    return model;
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& options) {
    return options[std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng_)];
  }
  int64_t Extreme() { return Pick(std::vector<int64_t>(std::begin(kExtremes), std::end(kExtremes))); }

  // Mostly ops bnfold knows (inferred, guarded); sometimes any ONNX op
  // (checked by ONNX's checker, never inferred).
  const onnx::OpSchema* RandomSchema(int64_t opset) {
    static const std::vector<onnx::OpSchema>* const all =
        new std::vector<onnx::OpSchema>(onnx::OpSchemaRegistry::get_all_schemas());
    if (Chance(0.2)) {
      const onnx::OpSchema& pick = Pick(*all);
      if (pick.domain().empty()) {
        if (const onnx::OpSchema* s =
                onnx::OpSchemaRegistry::Schema(pick.Name(), static_cast<int>(opset), "")) {
          return s;
        }
      }
    }
    for (int tries = 0; tries < 50; ++tries) {
      const auto kind = static_cast<ir::OpKind>(
          std::uniform_int_distribution<int>(1, static_cast<int>(ir::OpKind::kCount) - 1)(rng_));
      if (const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(ir::OpKindName(kind),
                                                                   static_cast<int>(opset), "")) {
        return s;
      }
    }
    return onnx::OpSchemaRegistry::Schema("Relu", static_cast<int>(opset), "");
  }

  void AddTensorInput(const std::string& name, const std::vector<std::string>& types,
                      onnx::GraphProto* g) {
    auto allows = [&](const char* t) {
      return std::find(types.begin(), types.end(), t) != types.end();
    };
    if (allows("tensor(int64)") && Chance(0.6)) {
      onnx::TensorProto* t = g->add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::INT64);
      const int64_t n = Pick(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 8});
      if (Chance(0.2)) {
        t->add_int64_data(Extreme());  // a scalar
        return;
      }
      t->add_dims(n);
      for (int64_t i = 0; i < n; ++i) t->add_int64_data(Extreme());
      return;
    }
    if (Chance(0.15)) {
      onnx::TensorProto* t = g->add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::FLOAT);
      const int64_t n = Pick(std::vector<int64_t>{0, 1, 2, 4});
      t->add_dims(n);
      for (int64_t i = 0; i < n; ++i) {
        t->add_float_data(Pick(std::vector<float>{0.f, 2.f, -1.f, 1e30f, NAN}));
      }
      return;
    }
    onnx::ValueInfoProto* in = g->add_input();
    in->set_name(name);
    auto* type = in->mutable_type()->mutable_tensor_type();
    int32_t elem = onnx::TensorProto::FLOAT;
    if (!allows("tensor(float)") && allows("tensor(int64)")) elem = onnx::TensorProto::INT64;
    if (!allows("tensor(float)") && allows("tensor(bool)")) elem = onnx::TensorProto::BOOL;
    type->set_elem_type(elem);
    const int rank = std::uniform_int_distribution<int>(0, 6)(rng_);
    auto* shape = type->mutable_shape();
    for (int d = 0; d < rank; ++d) {
      if (Chance(0.15)) {
        shape->add_dim()->set_dim_param("N");
      } else {
        shape->add_dim()->set_dim_value(Pick(std::vector<int64_t>(std::begin(kDims), std::end(kDims))));
      }
    }
  }

  void AddRandomAttribute(const std::string& name, onnx::AttributeProto_AttributeType type,
                          onnx::NodeProto* node) {
    onnx::AttributeProto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(type);
    const int n = Pick(std::vector<int>{0, 1, 2, 3, 4, 6});
    switch (type) {
      case onnx::AttributeProto::INT: a->set_i(Extreme()); break;
      case onnx::AttributeProto::INTS:
        for (int i = 0; i < n; ++i) a->add_ints(Extreme());
        break;
      case onnx::AttributeProto::FLOAT:
        a->set_f(Pick(std::vector<float>{0.f, -1.f, 1e38f, NAN, INFINITY, 0.5f}));
        break;
      case onnx::AttributeProto::FLOATS:
        for (int i = 0; i < n; ++i) a->add_floats(Pick(std::vector<float>{0.f, -1.f, 2.f, NAN}));
        break;
      case onnx::AttributeProto::STRING:
        a->set_s(Pick(std::vector<std::string>(std::begin(kStrings), std::end(kStrings))));
        break;
      case onnx::AttributeProto::TENSOR: {
        onnx::TensorProto* t = a->mutable_t();
        t->set_data_type(Chance(0.5) ? onnx::TensorProto::FLOAT : onnx::TensorProto::INT64);
        const int64_t count = Pick(std::vector<int64_t>{0, 1, 2, 3});
        t->add_dims(count);
        for (int64_t i = 0; i < count; ++i) {
          if (t->data_type() == onnx::TensorProto::FLOAT) {
            t->add_float_data(1);
          } else {
            t->add_int64_data(Extreme());
          }
        }
        break;
      }
      default:
        node->mutable_attribute()->RemoveLast();
        break;
    }
  }

  // Adds a node of a random known op; its first input is `chain_input`
  // when given. Returns its first output's name.
  std::string AddRandomNode(int64_t opset, int index, const std::string& chain_input,
                            onnx::GraphProto* g) {
    const onnx::OpSchema* schema = RandomSchema(opset);
    onnx::NodeProto* node = g->add_node();
    node->set_op_type(schema->Name());
    node->set_name("node" + std::to_string(index));
    const auto& params = schema->inputs();
    size_t count = params.size();
    if (!params.empty() && params.back().GetOption() == onnx::OpSchema::Variadic) {
      count = params.size() - 1 + std::uniform_int_distribution<size_t>(1, 3)(rng_);
    }
    for (size_t i = 0; i < count; ++i) {
      const auto& p = params[std::min(i, params.size() - 1)];
      if (p.GetOption() == onnx::OpSchema::Optional && Chance(0.3)) {
        node->add_input("");
        continue;
      }
      if (i == 0 && !chain_input.empty()) {
        node->add_input(chain_input);
        continue;
      }
      const std::string name = "in" + std::to_string(index) + "_" + std::to_string(i);
      std::vector<std::string> types;
      for (const auto& c : schema->typeConstraintParams()) {
        if (c.type_param_str == p.GetTypeStr()) types = c.allowed_type_strs;
      }
      if (types.empty()) types = {p.GetTypeStr()};
      AddTensorInput(name, types, g);
      node->add_input(name);
    }
    while (node->input_size() > 0 && node->input(node->input_size() - 1).empty()) {
      node->mutable_input()->RemoveLast();
    }
    for (const auto& [name, attribute] : schema->attributes()) {
      if (Chance(0.6)) AddRandomAttribute(name, attribute.type, node);
    }
    const size_t outputs = std::max<size_t>(1, schema->outputs().size());
    for (size_t i = 0; i < outputs; ++i) {
      node->add_output("out" + std::to_string(index) + "_" + std::to_string(i));
    }
    return node->output(0);
  }

  std::mt19937_64 rng_;
};

TEST(GuardedInferenceTest, FuzzedModelsNeverCrash) {
  int loaded = 0, refused = 0, inferred = 0;
  // BNFOLD_FUZZ_SEEDS=first:count runs other seeds (e.g. a longer search).
  uint64_t first = 0, count = 20000;
  if (const char* env = std::getenv("BNFOLD_FUZZ_SEEDS")) {
    std::sscanf(env, "%lu:%lu", &first, &count);
  }
  for (uint64_t seed = first; seed < first + count; ++seed) {
    onnx::ModelProto model = ModelFuzzer(seed).Make();
    if (const char* trace = std::getenv("BNFOLD_FUZZ_TRACE")) {  // to find a crash
      std::fprintf(stderr, "seed %lu\n%s", seed,
                   trace[0] == '2' ? model.graph().DebugString().c_str() : "");
    }
    // The whole loader (the checker refuses many before inference)...
    StatusOr<LoadedModel> result = LoadModelBytes(Serialize(model), "", "fuzz");
    if (result.ok()) {
      ++loaded;
    } else {
      ++refused;
      EXPECT_EQ(result.status().message().find('\n'), std::string::npos);
    }
    // ...and inference alone, on models the checker would refuse.
    try {
      InferShapesGuarded(&model);
      ++inferred;
    } catch (const std::exception&) {
    }
  }
  // Every outcome occurs, so the fuzzer reaches inference at all.
  EXPECT_GT(loaded, 200);
  EXPECT_GT(refused, 200);
  EXPECT_GT(inferred, 2000);
}

}  // namespace
}  // namespace bnfold::onnx_io
