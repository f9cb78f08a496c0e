#include "runtime/onnx/loader.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "onnx/onnx_pb.h"
#include "runtime/common/file_util.h"
#include "runtime/ir/op_kind.h"
#include "runtime/ir/op_schema.h"
#include "runtime/ir/op_versions.h"
#include "tests/runtime/onnx/test_models.h"
#include "tests/test_util/dependency.h"

namespace bnfold::onnx_io {
namespace {

using testing::ParseModel;
using testing::Serialize;
using testing::TempDir;

std::string ReluModel(int64_t ir, int64_t opset) {
  return "<ir_version: " + std::to_string(ir) + ", opset_import: [\"\" : " +
         std::to_string(opset) + "]>\n" +
         "g (float[2,3] x) => (float[2,3] y) { t = Identity(x)  y = Relu(t) }";
}

// Runs `bytes` on x = [-1, 2, -3, 4, -5, 6] and checks y = max(x, 0).
void ExpectRunsRelu(const std::string& bytes) {
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(bytes);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  Tensor x = *Tensor::Allocate(DataType::kFloat, {2, 3});
  const float in[] = {-1, 2, -3, 4, -5, 6};
  std::memcpy(x.data(), in, sizeof(in));
  std::vector<NamedTensor> outputs;
  const Status run = (*session)->Run({{"x", x}}, &outputs);
  ASSERT_TRUE(run.ok()) << run.ToString();
  const float expected[] = {0, 2, 0, 4, 0, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(outputs.at(0).tensor.data_as<float>()[i], expected[i]);
}

StatusOr<LoadedModel> Load(const onnx::ModelProto& model) {
  return LoadModelBytes(Serialize(model), "", "m.onnx");
}

TEST(LoaderTest, AcceptsIrVersions3To10) {
  for (int64_t ir = 3; ir <= 10; ++ir) {
    SCOPED_TRACE("IR " + std::to_string(ir));
    const onnx::ModelProto model = ParseModel(ReluModel(ir, 13));
    StatusOr<LoadedModel> loaded = Load(model);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->model.ir_version, ir);
    // IR 9 and 10 at an opset ONNX 1.12 knows: its checker and shape
    // inference run with the IR version lowered in memory, and pass.
    EXPECT_TRUE(loaded->notes.empty());
    EXPECT_TRUE(loaded->warnings.empty());
    ExpectRunsRelu(Serialize(model));
  }
}

TEST(LoaderTest, RefusesIrVersionsOutside3To10) {
  for (int64_t ir : {1, 2, 11, 100}) {
    onnx::ModelProto model = ParseModel(ReluModel(8, 13));
    model.set_ir_version(ir);
    EXPECT_EQ(Load(model).status().message(),
              "m.onnx: IR version " + std::to_string(ir) +
                  " is outside the range bnfold reads (3 to 10)");
  }
  onnx::ModelProto none = ParseModel(ReluModel(8, 13));
  none.clear_ir_version();
  EXPECT_EQ(Load(none).status().message(), "m.onnx: has no ir_version (is it an ONNX model?)");
}

TEST(LoaderTest, AcceptsEveryDefaultOpsetUpToTheNewestKnown) {
  for (int64_t opset = 1; opset <= ir::kMaxKnownOpset; ++opset) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    const std::string bytes = Serialize(ParseModel(ReluModel(opset > 17 ? 9 : 8, opset)));
    StatusOr<LoadedModel> loaded = LoadModelBytes(bytes, "", "m.onnx");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->model.DefaultOpset(), opset);
    ExpectRunsRelu(bytes);
  }
}

TEST(LoaderTest, RefusesBadOpsetImports) {
  EXPECT_EQ(Load(ParseModel(ReluModel(10, 24))).status().message(),
            "m.onnx: default-domain opset 24 is newer than the newest bnfold knows (23)");
  EXPECT_EQ(Load(ParseModel(ReluModel(8, 0))).status().message(),
            "m.onnx: imports default-domain opset 0");

  onnx::ModelProto twice = ParseModel(ReluModel(8, 13));
  auto* again = twice.add_opset_import();
  again->set_domain("ai.onnx");
  again->set_version(11);
  EXPECT_EQ(Load(twice).status().message(),
            "m.onnx: imports domain 'ai.onnx' twice (opset_import)");

  onnx::ModelProto other_only = ParseModel(ReluModel(8, 13));
  other_only.mutable_opset_import(0)->set_domain("com.example");
  EXPECT_EQ(Load(other_only).status().message(),
            "m.onnx: does not import the default ONNX domain (no opset_import for \"\")");
}

TEST(LoaderTest, NotesWhyTheOnnxCheckerWasSkipped) {
  StatusOr<LoadedModel> opset19 = Load(ParseModel(ReluModel(8, 19)));
  ASSERT_TRUE(opset19.ok()) << opset19.status().ToString();
  ASSERT_EQ(opset19->notes.size(), 1u);
  EXPECT_EQ(opset19->notes[0],
            "ONNX checker and shape inference skipped: opset 19 is newer than the installed "
            "ONNX library's (17); bnfold's own validation applies");

  StatusOr<LoadedModel> ir9 = Load(ParseModel(ReluModel(9, 19)));
  ASSERT_TRUE(ir9.ok()) << ir9.status().ToString();
  ASSERT_EQ(ir9->notes.size(), 1u);
  EXPECT_NE(ir9->notes[0].find("opset 19 is newer"), std::string::npos);
  ExpectRunsRelu(Serialize(ParseModel(ReluModel(9, 19))));
}

TEST(LoaderTest, OwnValidationStillRunsWhenTheCheckerIsSkipped) {
  const std::string header = "<ir_version: 9, opset_import: [\"\" : 19]>\n";
  EXPECT_EQ(Load(ParseModel(header + R"(g (float[2] x) => (float[2] y) {
                a = Relu(b)
                b = Relu(a)
                y = Relu(a) })"))
                .status()
                .message(),
            "m.onnx: the graph has a cycle: Relu 'n0' -> Relu 'n1' -> Relu 'n0'");
  EXPECT_EQ(Load(ParseModel(header + "g (float[2] x) => (float[2] y) { y = Add(x, w) }"))
                .status()
                .message(),
            "m.onnx: Add 'n0': input 'w' is not a graph input, an initializer, or the output of "
            "any node");
  // Whether FooBar exists at opset 19 only a newer ONNX could say: it loads,
  // and a Session (which must run it) refuses it, naming op, node and opset.
  const onnx::ModelProto foo =
      ParseModel(header + "g (float[2] x) => (float[2] y) { y = FooBar(x) }");
  EXPECT_TRUE(Load(foo).ok());
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(Serialize(foo));
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().message(),
            "<memory>: FooBar 'n0': op 'FooBar' (domain 'ai.onnx', opset 19) is not supported by "
            "bnfold");
}

TEST(LoaderTest, RefusesOpVersionsOlderThanImplemented) {
  onnx::ModelProto pad1 = ParseModel(R"(
    <ir_version: 3, opset_import: ["" : 1]>
    g (float[2,3] x) => (float[2,5] y) { y = Pad <paddings = [0, 1, 0, 1]> (x) }
  )");
  StatusOr<LoadedModel> loaded = Load(pad1);
  EXPECT_EQ(loaded.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(loaded.status().message(),
            "m.onnx: Pad 'n0': Pad-1 (opset 1) is older than bnfold implements: Pad is "
            "supported from opset 2");
  onnx::ModelProto upsample = ParseModel(R"(
    <ir_version: 3, opset_import: ["" : 6]>
    g (float[1,1,2,2] x) => (float[1,1,4,4] y) {
      y = Upsample <height_scale = 2.0, width_scale = 2.0> (x)
    }
  )", {"up"});
  EXPECT_EQ(Load(upsample).status().message(),
            "m.onnx: Upsample 'up': Upsample-1 (opset 6) is older than bnfold implements: "
            "Upsample is supported from opset 7");
}

TEST(LoaderTest, RefusesGraphInputsBnfoldCannotFeed) {
  EXPECT_EQ(Load(ParseModel(R"(
              <ir_version: 8, opset_import: ["" : 13]>
              g (string[2] x) => (string[2] y) { y = Identity(x) }
            )"))
                .status()
                .message(),
            "m.onnx: graph input 'x' has element type string, which bnfold does not support");
  onnx::ModelProto bad_type = ParseModel(ReluModel(8, 13));
  bad_type.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      77);
  EXPECT_EQ(Load(bad_type).status().message(),
            "m.onnx: graph input 'x' has invalid element type 77");
  onnx::ModelProto sequence = ParseModel(ReluModel(8, 13));
  sequence.mutable_graph()->mutable_input(0)->mutable_type()->mutable_sequence_type();
  EXPECT_EQ(Load(sequence).status().code(), StatusCode::kUnsupported);
}

TEST(LoaderTest, SaysWhatAnUnparsableFileLooksLike) {
  EXPECT_EQ(LoadModelBytes("\x93NUMPY\x01\x00garbage", "", "a.onnx").status().message(),
            "a.onnx: not an ONNX model (the protobuf does not parse: a NumPy .npy array)");
  EXPECT_EQ(LoadModelBytes("PK\x03\x04\xff\xff\xff", "", "a.onnx").status().message(),
            "a.onnx: not an ONNX model (the protobuf does not parse: a zip archive (a PyTorch "
            "checkpoint?))");
  EXPECT_EQ(LoadModelBytes("", "", "a.onnx").status().message(),
            "a.onnx: is empty (0 bytes), not an ONNX model");
}

TEST(LoaderTest, RefusesFilesThatAreNotRegularWithoutBlocking) {
  TempDir dir;
  EXPECT_EQ(LoadModelFile(dir.path()).status().message(),
            dir.path() + ": is a directory, not a file");
  EXPECT_EQ(LoadModelFile(dir.File("missing.onnx")).status().message(),
            dir.File("missing.onnx") + ": no such file");
  // A fifo without a writer: opening it for reading must not wait.
  ASSERT_EQ(::mkfifo(dir.File("fifo.onnx").c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(LoadModelFile(dir.File("fifo.onnx")).status().message(),
            dir.File("fifo.onnx") + ": not a regular file");
  // The same for external data that is a fifo.
  ::mkdir(dir.File("m").c_str(), 0755);
  ASSERT_EQ(::mkfifo(dir.File("m/w.bin").c_str(), 0600), 0);
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y) { y = Add(x, w) }
  )");
  onnx::TensorProto* w = model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* location = w->add_external_data();
  location->set_key("location");
  location->set_value("w.bin");
  const std::string path = testing::SaveModel(dir, "m/model.onnx", model);
  EXPECT_EQ(LoadModelFile(path).status().message(),
            path + ": initializer 'w': external data 'w.bin' is not a regular file");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  // Bytes without a folder cannot have external data.
  EXPECT_EQ(LoadModelBytes(Serialize(model), "", "<memory>").status().message(),
            "<memory>: initializer 'w' has external data 'w.bin' but the model was given as "
            "bytes without a folder");
}

// A small model touching most of the importer: initializer, Constant,
// attributes of several types.
onnx::ModelProto RichModel() {
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,2,4] x) => (float[1,2,4] y) {
      c = Constant <value = float[2] {0.5, 2.0}> ()
      t = Transpose <perm = [0, 1, 2]> (x)
      u = LeakyRelu <alpha = 0.25> (t)
      y = Identity(u)
    }
  )");
  testing::AddFloatInitializer(&model, "unused", {2}, {1, 2});
  return model;
}

bool OneLine(const std::string& s) { return s.find('\n') == std::string::npos; }

TEST(LoaderTest, TruncationsAndByteFlipsNeverCrash) {
  const std::string good = Serialize(RichModel());
  ASSERT_TRUE(LoadModelBytes(good, "", "m").ok());
  int refused = 0, loaded = 0;
  auto check = [&](const std::string& bytes) {
    StatusOr<LoadedModel> result = LoadModelBytes(bytes, "", "m");
    if (result.ok()) {
      ++loaded;
      return;
    }
    ++refused;
    EXPECT_TRUE(OneLine(result.status().message())) << result.status().message();
    EXPECT_EQ(result.status().message().rfind("m: ", 0), 0u) << result.status().message();
  };
  for (size_t cut = 0; cut < good.size(); ++cut) check(good.substr(0, cut));
  for (size_t i = 0; i < good.size(); ++i) {
    for (unsigned char value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string bytes = good;
      bytes[i] = static_cast<char>(value);
      check(bytes);
    }
    std::string flipped = good;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x40);
    check(flipped);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0);
}

// The ONNX backend test data, when installed.
std::string TestDataRoot() {
  const char* env = std::getenv("BNFOLD_ONNX_TESTDATA");
  return env ? env : "/usr/share/libonnx-testdata/data";
}

TEST(LoaderTest, LoadsTheOpset1ConformanceModels) {
  const std::vector<std::string> cases = {
      "test_globalaveragepool", "test_globalaveragepool_precomputed",
      "test_globalmaxpool",     "test_globalmaxpool_precomputed",
      "test_not_2d",            "test_not_3d",
      "test_not_4d",            "test_softplus",
      "test_softplus_example",  "test_softsign",
      "test_softsign_example"};
  const std::string root = TestDataRoot() + "/node/";
  struct stat st {};
  BNFOLD_REQUIRE_DEPENDENCY(::stat(root.c_str(), &st) == 0, "no ONNX test data at " + root);
  for (const std::string& name : cases) {
    StatusOr<LoadedModel> loaded = LoadModelFile(root + name + "/model.onnx");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->model.DefaultOpset(), 1) << name;
  }
}

// Whether `message` refuses a graph input bnfold cannot feed (string,
// sequence, optional): the one reason a model of known ops may not load.
bool RefusesUnfeedableInput(const Status& status) {
  const std::string& m = status.message();
  // A sequence or optional value (If's branches returning one): not a
  // tensor bnfold holds yet.
  const bool not_a_tensor = m.find("is not a tensor") != std::string::npos &&
                            (m.find(": graph input '") != std::string::npos ||
                             m.find("subgraph '") != std::string::npos);
  return status.code() == StatusCode::kUnsupported &&
         (not_a_tensor || (m.find(": graph input '") != std::string::npos &&
                           m.find("has element type string") != std::string::npos));
}

TEST(LoaderTest, EveryConformanceModelLoadsOrIsRefusedOnOneLine) {
  // Every model of the suite whose ops bnfold has type rules for must load,
  // unless it feeds strings or sequences; the others may be refused, but
  // with a one-line message.
  int in_scope = 0, others_loaded = 0, others_refused = 0;
  bool any = false;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const std::string suite_dir = TestDataRoot() + "/" + suite;
    DIR* d = opendir(suite_dir.c_str());
    if (d == nullptr) continue;
    any = true;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = suite_dir + "/" + name + "/model.onnx";
      StatusOr<std::string> bytes = ReadFileToString(path, size_t{1} << 30);
      onnx::ModelProto proto;
      if (!bytes.ok() || !proto.ParseFromString(*bytes)) continue;
      bool known = true;
      for (const auto& node : proto.graph().node()) {
        known =
            known && ir::FindTypeRule(ir::OpKindFromName(node.domain(), node.op_type())) != nullptr;
      }
      StatusOr<LoadedModel> loaded = LoadModelFile(path);
      if (known) {
        ++in_scope;
        EXPECT_TRUE(loaded.ok() || RefusesUnfeedableInput(loaded.status()))
            << loaded.status().ToString();
      } else if (loaded.ok()) {
        ++others_loaded;
      } else {
        ++others_refused;
        EXPECT_TRUE(OneLine(loaded.status().message())) << loaded.status().message();
      }
    }
    closedir(d);
  }
  BNFOLD_REQUIRE_DEPENDENCY(any, "no ONNX test data at " + TestDataRoot());
  EXPECT_GE(in_scope, 500);
  RecordProperty("in_scope", in_scope);
  RecordProperty("others_loaded", others_loaded);
  RecordProperty("others_refused", others_refused);
}

}  // namespace
}  // namespace bnfold::onnx_io
