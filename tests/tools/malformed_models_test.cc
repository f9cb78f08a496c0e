// Bad models and bad inputs, each built here: the library must return a
// Status naming the file, the node where there is one, and the reason; the
// CLI (`bnfold run`) must print that same message and exit with 2 — never
// crash, hang or allocate what the data does not back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bnfold/optimizer.h"
#include "bnfold/session.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "runtime/common/npy.h"
#include "tests/runtime/onnx/test_models.h"

extern char** environ;

namespace bnfold {
namespace {

using testing::AddFloatInitializer;
using testing::ParseModel;
using testing::SaveModel;
using testing::TempDir;
using testing::WriteBytes;

constexpr const char* kReluModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[2,3] x) => (float[2,3] y) { y = Relu(x) }
)";

// A model whose node `add` reads initializer `w` (float[2,3]).
constexpr const char* kAddModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[2,3] x) => (float[2,3] y) { y = Add(x, w) }
)";

struct CliResult {
  bool exited = false;  // false: killed by a signal or timed out
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::string data;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) data.append(buffer, n);
    std::fclose(f);
  }
  return data;
}

// Runs the built `bnfold` with `args`, stdout and stderr captured in files
// of `dir`; kills it after `timeout`.
CliResult RunCli(const std::vector<std::string>& args, const TempDir& dir,
                 std::chrono::seconds timeout = std::chrono::minutes(2)) {
  const std::string out_path = dir.File("cli.out");
  const std::string err_path = dir.File("cli.err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<std::string> argv_storage = {BNFOLD_CLI_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  CliResult result;
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, BNFOLD_CLI_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << BNFOLD_CLI_PATH;
    return result;
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "bnfold did not finish within " << timeout.count() << " s";
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  if (WIFSIGNALED(status)) {
    ADD_FAILURE() << "bnfold was killed by signal " << WTERMSIG(status) << "; stderr: "
                  << result.err;
  }
  result.exited = WIFEXITED(status);
  if (result.exited) result.exit_code = WEXITSTATUS(status);
  return result;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Checks a refusal: code, one line, names `path` and every one of `parts`.
void ExpectMessage(const Status& status, StatusCode code, const std::string& path,
                   const std::vector<std::string>& parts) {
  ASSERT_FALSE(status.ok()) << "accepted " << path;
  EXPECT_EQ(status.code(), code) << status.ToString();
  const std::string& message = status.message();
  EXPECT_FALSE(Contains(message, "\n")) << "not one line: " << message;
  EXPECT_TRUE(Contains(message, path)) << "does not name the file: " << message;
  for (const std::string& part : parts) {
    EXPECT_TRUE(Contains(message, part)) << "lacks \"" << part << "\": " << message;
  }
}

// The CLI prints the library's message for `cli_args` and exits with 2.
void ExpectCliRefuses(const std::vector<std::string>& cli_args, const std::string& message,
                      const TempDir& dir) {
  const CliResult cli = RunCli(cli_args, dir);
  ASSERT_TRUE(cli.exited);
  EXPECT_EQ(cli.exit_code, 2) << cli.err;
  EXPECT_EQ(cli.err, "bnfold run: " + message + "\n");
}

// Session::Open refuses `path` with `code` and a message naming `parts`;
// `bnfold run PATH --random-inputs` prints the same message, exit code 2.
void ExpectRefused(const std::string& path, StatusCode code,
                   const std::vector<std::string>& parts, const TempDir& dir) {
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_NO_FATAL_FAILURE(ExpectMessage(session.status(), code, path, parts));
  ExpectCliRefuses({"run", path, "--random-inputs"}, session.status().message(), dir);
}

Tensor FloatTensor(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, shape);
  for (size_t i = 0; i < values.size(); ++i) t.data_as<float>()[i] = values[i];
  return t;
}

void WriteNpy(const std::string& path, const Tensor& tensor) {
  StatusOr<std::string> bytes = SerializeNpy(tensor);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  WriteBytes(path, *bytes);
}

// ---------------------------------------------------------------- files

TEST(MalformedModels, TruncatedFile) {
  TempDir dir;
  const std::string bytes = testing::Serialize(ParseModel(kReluModel));
  const std::string path = dir.File("truncated.onnx");
  WriteBytes(path, bytes.substr(0, bytes.size() / 2));
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"not an ONNX model", "truncated or a different file type"}, dir);
}

TEST(MalformedModels, RandomBytes) {
  TempDir dir;
  std::mt19937 rng(20240611);
  std::string bytes(512, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  const std::string path = dir.File("random.onnx");
  WriteBytes(path, bytes);
  ExpectRefused(path, StatusCode::kInvalidModel, {"not an ONNX model"}, dir);
}

TEST(MalformedModels, PngHeader) {
  TempDir dir;
  const std::string path = dir.File("picture.onnx");
  // The PNG signature and the start of an IHDR chunk (16x16 RGBA).
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
  WriteBytes(path, std::string(kPng, sizeof(kPng) - 1));
  ExpectRefused(path, StatusCode::kInvalidModel, {"not an ONNX model", "a PNG image"}, dir);
}

TEST(MalformedModels, EmptyFile) {
  TempDir dir;
  const std::string path = dir.File("empty.onnx");
  WriteBytes(path, "");
  ExpectRefused(path, StatusCode::kInvalidModel, {"is empty (0 bytes)"}, dir);
}

// ---------------------------------------------------------------- graph

TEST(MalformedModels, MissingInitializer) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(kAddModel, {"add"}));
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"Add 'add': input 'w' is not a graph input, an initializer, or the output of "
                 "any node"},
                dir);
}

TEST(MalformedModels, DanglingGraphOutput) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y) { t = Relu(x) }
  )"));
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"graph output 'y' is not produced by any node, input or initializer"}, dir);
}

TEST(MalformedModels, Cycle) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y) {
      a = Relu(b)
      b = Identity(a)
      y = Identity(a)
    }
  )", {"first", "second", "third"}));
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"the graph has a cycle: Relu 'first' -> Identity 'second' -> Relu 'first'"},
                dir);
}

TEST(MalformedModels, OutOfOrderAcyclicGraphLoadsAndRuns) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y) {
      y = Relu(t)
      t = Identity(x)
    }
  )"));
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> outputs;
  const Tensor x = FloatTensor({2, 3}, {-1.5f, 2, -3, 4.25f, 0, 6});
  ASSERT_TRUE((*session)->Run({{"x", x}}, &outputs).ok());
  ASSERT_EQ(outputs.size(), 1u);
  const std::vector<float> expected = {0, 2, 0, 4.25f, 0, 6};  // max(x, 0) by hand
  for (int i = 0; i < 6; ++i) EXPECT_EQ(outputs[0].tensor.data_as<float>()[i], expected[i]);

  ASSERT_NO_FATAL_FAILURE(WriteNpy(dir.File("x.npy"), x));
  const CliResult cli = RunCli({"run", path, "--input", "x=" + dir.File("x.npy")}, dir);
  ASSERT_TRUE(cli.exited);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, "y: float [2,3] [0, 2, 0, 4.25, 0, 6]\n");
}

TEST(MalformedModels, DuplicateNodeOutputName) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y) {
      y = Relu(x)
      y = Identity(x)
    }
  )", {"relu", "copy"}));
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"Identity 'copy': output 'y' is already produced by Relu 'relu'"}, dir);
}

TEST(MalformedModels, DuplicateGraphOutputName) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y, float[2,3] y) { y = Relu(x) }
  )"));
  // ONNX Runtime runs it (lenient_models_test.cc): refused only when strict.
  SessionOptions strict;
  strict.strict = true;
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path, strict);
  ASSERT_NO_FATAL_FAILURE(ExpectMessage(session.status(), StatusCode::kInvalidModel, path,
                                        {"graph output 'y' is listed twice"}));
  ExpectCliRefuses({"run", path, "--random-inputs", "--strict"}, session.status().message(), dir);
}

// ---------------------------------------------------------------- tensors

TEST(MalformedModels, InitializerDimsOverflowInt64) {
  TempDir dir;
  onnx::ModelProto model = ParseModel(kAddModel, {"add"});
  onnx::TensorProto* w = AddFloatInitializer(&model, "w", {2, 3}, {1, 2, 3, 4, 5, 6});
  w->set_dims(0, int64_t{1} << 62);
  w->set_dims(1, int64_t{1} << 62);
  const std::string path = SaveModel(dir, "m.onnx", model);
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w'", "[4611686018427387904,4611686018427387904]",
                 "more elements than fit in 64 bits"},
                dir);
}

TEST(MalformedModels, InitializerNegativeDims) {
  TempDir dir;
  onnx::ModelProto model = ParseModel(kAddModel, {"add"});
  onnx::TensorProto* w = AddFloatInitializer(&model, "w", {2, 3}, {1, 2, 3, 4, 5, 6});
  w->set_dims(0, -2);
  w->set_dims(1, -3);
  const std::string path = SaveModel(dir, "m.onnx", model);
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w'", "shape [-2,-3] has a negative dimension"}, dir);
}

TEST(MalformedModels, RawDataShorterThanShape) {
  TempDir dir;
  onnx::ModelProto model = ParseModel(kAddModel, {"add"});
  AddFloatInitializer(&model, "w", {2, 3}, {1, 2, 3, 4, 5});
  const std::string path = SaveModel(dir, "m.onnx", model);
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w': raw_data has 20 bytes but shape [2,3] of float needs 24"},
                dir);
}

TEST(MalformedModels, TypedDataShorterThanShape) {
  TempDir dir;
  onnx::ModelProto model = ParseModel(kAddModel, {"add"});
  onnx::TensorProto* w = model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_dims(3);
  for (float v : {1.f, 2.f, 3.f, 4.f, 5.f}) w->add_float_data(v);
  const std::string path = SaveModel(dir, "m.onnx", model);
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w' holds 5 elements but shape [2,3] needs 6"}, dir);
}

long PeakRssKb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(MalformedModels, HugeShapeWithTinyDataDoesNotAllocate) {
  TempDir dir;
  // 2^28 floats = 1 GiB: an allocation that would succeed, so only the
  // order of the checks keeps it from happening; peak RSS proves it.
  onnx::ModelProto model = ParseModel(kAddModel, {"add"});
  onnx::TensorProto* w = model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(int64_t{1} << 28);
  for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}) w->add_float_data(v);
  const std::string path = SaveModel(dir, "typed.onnx", model);
  const long rss_before = PeakRssKb();
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  EXPECT_LT(PeakRssKb() - rss_before, 256 * 1024) << "peak RSS grew by more than 256 MiB";
  ExpectMessage(session.status(), StatusCode::kInvalidModel, path,
                {"initializer 'w' holds 6 elements but shape [268435456] needs 268435456"});
  ExpectCliRefuses({"run", path, "--random-inputs"}, session.status().message(), dir);

  // The same with raw data and a shape of 4 PiB.
  onnx::ModelProto raw_model = ParseModel(kAddModel, {"add"});
  AddFloatInitializer(&raw_model, "w", {int64_t{1} << 20, int64_t{1} << 20, int64_t{1} << 10},
                      {1, 2, 3, 4, 5, 6});
  const std::string raw_path = SaveModel(dir, "raw.onnx", raw_model);
  ExpectRefused(raw_path, StatusCode::kInvalidModel,
                {"initializer 'w': raw_data has 24 bytes but shape [1048576,1048576,1024] of "
                 "float needs 4503599627370496"},
                dir);
}

// ---------------------------------------------------------------- fed inputs

TEST(MalformedModels, FedInputOfWrongDtype) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(kReluModel));
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  Tensor x = *Tensor::Allocate(DataType::kInt64, {2, 3});
  std::vector<NamedTensor> outputs;
  const Status status = (*session)->Run({{"x", x}}, &outputs);
  ASSERT_NO_FATAL_FAILURE(ExpectMessage(status, StatusCode::kInvalidArgument, path,
                                        {"input 'x': expected element type float, got int64"}));
  ASSERT_NO_FATAL_FAILURE(WriteNpy(dir.File("x.npy"), x));
  ExpectCliRefuses({"run", path, "--input", "x=" + dir.File("x.npy")}, status.message(), dir);
}

TEST(MalformedModels, FedInputOfWrongShape) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(kReluModel));
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const Tensor x = FloatTensor({3, 3}, {});
  std::vector<NamedTensor> outputs;
  const Status status = (*session)->Run({{"x", x}}, &outputs);
  ASSERT_NO_FATAL_FAILURE(ExpectMessage(status, StatusCode::kInvalidArgument, path,
                                        {"input 'x': expected shape [2,3], got [3,3]"}));
  ASSERT_NO_FATAL_FAILURE(WriteNpy(dir.File("x.npy"), x));
  ExpectCliRefuses({"run", path, "--input", "x=" + dir.File("x.npy")}, status.message(), dir);
}

// ---------------------------------------------------------------- versions, ops

TEST(MalformedModels, UnknownOp) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y) { y = FooBar(x) }
  )", {"foo"}));
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"FooBar 'foo': op 'FooBar' does not exist in ONNX opset 13"}, dir);
}

TEST(MalformedModels, OnnxOpBnfoldDoesNotImplement) {
  // Valid ONNX, so inspection and export work on it; a Session, which is
  // for running, refuses it when opened.
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (int32[2,3] x) => (float[2,4] y) {
      y = TfIdfVectorizer <mode = "TF", min_gram_length = 1, max_gram_length = 1,
                           max_skip_count = 0, ngram_counts = [0],
                           ngram_indexes = [0, 1, 2, 3], pool_int64s = [1, 2, 3, 4]> (x)
    }
  )", {"tf"}));
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_FALSE(session.ok());
  const Status status = session.status();
  ASSERT_NO_FATAL_FAILURE(
      ExpectMessage(status, StatusCode::kUnsupported, path,
                    {"TfIdfVectorizer 'tf': op 'TfIdfVectorizer' (domain 'ai.onnx', opset 13) is not "
                     "supported"}));
  ExpectCliRefuses({"run", path, "--random-inputs"}, status.message(), dir);
}

TEST(MalformedModels, OpsetTooNew) {
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 10, opset_import: ["" : 24]>
    g (float[2,3] x) => (float[2,3] y) { y = Relu(x) }
  )"));
  ExpectRefused(path, StatusCode::kUnsupported,
                {"default-domain opset 24 is newer than the newest bnfold knows (23)"}, dir);
}

TEST(MalformedModels, IrVersionOutOfRange) {
  TempDir dir;
  for (int64_t ir : {2, 11}) {
    onnx::ModelProto model = ParseModel(kReluModel);
    model.set_ir_version(ir);
    const std::string path = SaveModel(dir, "ir" + std::to_string(ir) + ".onnx", model);
    ExpectRefused(path, StatusCode::kUnsupported,
                  {"IR version " + std::to_string(ir) +
                   " is outside the range bnfold reads (3 to 10)"},
                  dir);
  }
}

TEST(MalformedModels, NewerThanInstalledOnnxStillLoadsAndRuns) {
  // IR 9 / opset 19 are newer than the installed ONNX 1.12 knows: its
  // checker is skipped, bnfold's own validation still runs.
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 9, opset_import: ["" : 19]>
    g (float[2,3] x) => (float[2,3] y) { t = Identity(x)  y = Relu(t) }
  )"));
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE((*session)->Run({{"x", FloatTensor({2, 3}, {1, -1, 2, -2, 3, -3})}}, &outputs).ok());
  const std::vector<float> expected = {1, 0, 2, 0, 3, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(outputs[0].tensor.data_as<float>()[i], expected[i]);
  const CliResult cli = RunCli({"run", path, "--random-inputs"}, dir);
  ASSERT_TRUE(cli.exited);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
}

// ---------------------------------------------------------------- external data

// A model folder `dir`/model with initializer `w` (float[2,3]) stored
// externally at `location`; outputs y = Relu(x) and z = Identity(w).
std::string SaveExternalDataModel(const TempDir& dir, const std::string& location,
                                  const std::string& offset, const std::string& length) {
  ::mkdir(dir.File("model").c_str(), 0755);
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2,3] x) => (float[2,3] y, float[2,3] z) { y = Relu(x)  z = Identity(w) }
  )");
  onnx::TensorProto* w = model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_dims(3);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add_entry = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    auto* entry = w->add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  };
  add_entry("location", location);
  add_entry("offset", offset);
  add_entry("length", length);
  const std::string path = dir.File("model/model.onnx");
  WriteBytes(path, testing::Serialize(model));
  return path;
}

// Seven floats 10..16: 28 bytes.
std::string SevenFloats() {
  std::vector<float> values = {10, 11, 12, 13, 14, 15, 16};
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4);
}

TEST(MalformedModels, ExternalDataEscapingWithDotDot) {
  TempDir dir;
  WriteBytes(dir.File("outside.bin"), SevenFloats());
  const std::string path = SaveExternalDataModel(dir, "../outside.bin", "", "24");
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w': external data location '../outside.bin' escapes the model's "
                 "folder"},
                dir);
}

TEST(MalformedModels, ExternalDataAtAbsolutePath) {
  TempDir dir;
  WriteBytes(dir.File("outside.bin"), SevenFloats());
  const std::string path = SaveExternalDataModel(dir, dir.File("outside.bin"), "", "24");
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w': external data location '" + dir.File("outside.bin") +
                 "' escapes the model's folder"},
                dir);
}

TEST(MalformedModels, ExternalDataThroughSymlinkOutside) {
  TempDir dir;
  WriteBytes(dir.File("outside.bin"), SevenFloats());
  const std::string path = SaveExternalDataModel(dir, "weights.bin", "", "24");
  ASSERT_EQ(::symlink(dir.File("outside.bin").c_str(), dir.File("model/weights.bin").c_str()), 0);
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w': external data location 'weights.bin' resolves outside the "
                 "model's folder"},
                dir);
}

TEST(MalformedModels, ExternalDataOffsetPastEnd) {
  TempDir dir;
  const std::string path = SaveExternalDataModel(dir, "weights.bin", "100", "24");
  WriteBytes(dir.File("model/weights.bin"), SevenFloats());
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w': external data offset 100 is past the end of 'weights.bin' "
                 "(28 bytes)"},
                dir);
}

TEST(MalformedModels, ExternalDataLengthPastEnd) {
  TempDir dir;
  const std::string path = SaveExternalDataModel(dir, "weights.bin", "8", "24");
  WriteBytes(dir.File("model/weights.bin"), SevenFloats());
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w': external data of 24 bytes at offset 8 runs past the end of "
                 "'weights.bin' (28 bytes)"},
                dir);
}

TEST(MalformedModels, ExternalDataLengthDisagreesWithShape) {
  TempDir dir;
  const std::string path = SaveExternalDataModel(dir, "weights.bin", "", "28");
  WriteBytes(dir.File("model/weights.bin"), SevenFloats());
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w': external data length 28 but shape [2,3] of float needs 24"},
                dir);
}

TEST(MalformedModels, ExternalDataOfOverlappingTensors) {
  // Two tensors reading the same bytes: a small model could otherwise make
  // the loader allocate its external file's size once per tensor.
  TempDir dir;
  const std::string path = SaveExternalDataModel(dir, "weights.bin", "0", "24");
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(ReadAll(path)));
  onnx::TensorProto* copy = model.mutable_graph()->add_initializer();
  *copy = model.graph().initializer(0);
  copy->set_name("w2");
  WriteBytes(path, testing::Serialize(model));
  WriteBytes(dir.File("model/weights.bin"), SevenFloats());
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"initializer 'w2': external data adds up to 48 bytes, more than the model's "
                 "external files hold (28): tensors overlap"},
                dir);
}

TEST(MalformedModels, ExternalDataThatIsFineLoadsAndRuns) {
  TempDir dir;
  // Skips the first float: w = 11..16.
  const std::string path = SaveExternalDataModel(dir, "weights.bin", "4", "24");
  WriteBytes(dir.File("model/weights.bin"), SevenFloats());
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> outputs;
  const Status run = (*session)->Run({{"x", FloatTensor({2, 3}, {-1, 1, -2, 2, -3, 3})}}, &outputs);
  ASSERT_TRUE(run.ok()) << run.ToString();
  ASSERT_EQ(outputs.size(), 2u);
  const std::vector<float> relu = {0, 1, 0, 2, 0, 3};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(outputs[0].tensor.data_as<float>()[i], relu[i]);
    EXPECT_EQ(outputs[1].tensor.data_as<float>()[i], 11.0f + i);
  }
  const CliResult cli = RunCli({"run", path, "--random-inputs"}, dir);
  ASSERT_TRUE(cli.exited);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_TRUE(Contains(cli.out, "z: float [2,3] [11, 12, 13, 14, 15, 16]")) << cli.out;
}

// ---------------------------------------------------------------- optimize
// Cases found by tests/tools/fuzz_models.py: `bnfold optimize` must write a
// model that passes ONNX's full check whenever its input did.

// What ONNX's checker and strict shape inference (check_model(full_check=
// True) in Python) say about the model in `path`; "" when it passes.
std::string FullCheckError(const std::string& path) {
  onnx::ModelProto model;
  if (!model.ParseFromString(ReadAll(path))) return "does not parse";
  try {
    onnx::checker::check_model(model);
    onnx::ShapeInferenceOptions options{/*check_type=*/true, /*error_mode=*/1};
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// `bnfold optimize in out` succeeds and writes a model passing the full check.
void ExpectCliOptimizes(const std::string& in, const std::string& out, const TempDir& dir) {
  ASSERT_EQ(FullCheckError(in), "") << "the test's input model is not valid ONNX";
  const CliResult cli = RunCli({"optimize", in, out}, dir);
  ASSERT_TRUE(cli.exited);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(FullCheckError(out), "");
}

const onnx::ValueInfoProto* FindValueInfo(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& info : model.graph().value_info()) {
    if (info.name() == name) return &info;
  }
  return nullptr;
}

TEST(MalformedModels, OptimizeRedescribesValueInfoAPassChanged) {
  // cancel-transposes moves the Relu between the two Transposes to NCHW and
  // keeps the name `r`: its NHWC value_info from the input model no longer
  // holds, and copying it made the written model fail shape inference.
  TempDir dir;
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,2,3,3] x) => (float[1,2,3,3] y) <float[1,3,3,2] r> {
      c = Conv(x, w)
      u = Transpose<perm=[0,2,3,1]>(c)
      r = Relu(u)
      t = Transpose<perm=[0,3,1,2]>(r)
      y = Conv(t, w)
    }
  )");
  AddFloatInitializer(&model, "w", {2, 2, 1, 1}, {1, -2, 3, 0.5f});
  const std::string in = SaveModel(dir, "m.onnx", model);
  const std::string out = dir.File("out.onnx");

  StatusOr<OptimizeReport> report = OptimizeModel(in, out);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->nodes_after, 3) << "the Transposes did not cancel: the case tests nothing";
  EXPECT_EQ(FullCheckError(out), "");
  onnx::ModelProto written;
  ASSERT_TRUE(written.ParseFromString(ReadAll(out)));
  const onnx::ValueInfoProto* r = FindValueInfo(written, "r");
  ASSERT_NE(r, nullptr) << "the surviving value lost its declaration";
  std::vector<int64_t> dims;
  for (const auto& d : r->type().tensor_type().shape().dim()) dims.push_back(d.dim_value());
  EXPECT_EQ(dims, (std::vector<int64_t>{1, 2, 3, 3}));

  ExpectCliOptimizes(in, dir.File("cli_out.onnx"), dir);
}

TEST(MalformedModels, OptimizeBatchNormReadingOneInitializerTwice) {
  // scale and var are the same initializer `v`: removing the folded
  // BatchNormalization freed `v` on its first input and read it again on
  // its second (a crash in optimize, run and verify).
  TempDir dir;
  onnx::ModelProto model = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,2] x) => (float[1,2] y) {
      g = Gemm(x, w, c)
      y = BatchNormalization(g, v, b, m, v)
    }
  )");
  AddFloatInitializer(&model, "w", {2, 2}, {1, 0, 0, 1});
  AddFloatInitializer(&model, "c", {2}, {0, 0});
  AddFloatInitializer(&model, "v", {2}, {4, 1});
  AddFloatInitializer(&model, "b", {2}, {0.5f, 0});
  AddFloatInitializer(&model, "m", {2}, {1, -1});
  const std::string in = SaveModel(dir, "m.onnx", model);
  const std::string out = dir.File("out.onnx");

  StatusOr<OptimizeReport> report = OptimizeModel(in, out);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->batchnorm_after, 0);
  ExpectCliOptimizes(in, dir.File("cli_out.onnx"), dir);

  // y = v * (x - m) / sqrt(v + 1e-5) + b; by hand for x = [3, 2]:
  // [4 * 2 / 2 + 0.5, 1 * 3 / 1 + 0] = [4.5, 3] (to 1e-5).
  for (const std::string& path : {in, out}) {
    StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    std::vector<NamedTensor> outputs;
    const Status run = (*session)->Run({{"x", FloatTensor({1, 2}, {3, 2})}}, &outputs);
    ASSERT_TRUE(run.ok()) << run.ToString();
    EXPECT_NEAR(outputs[0].tensor.data_as<float>()[0], 4.5f, 1e-4) << path;
    EXPECT_NEAR(outputs[0].tensor.data_as<float>()[1], 3.0f, 1e-4) << path;
  }
}

// ---------------------------------------------------------------- kernels
// Cases found by tests/tools/fuzz_models.py that ran for hours.

TEST(MalformedModels, PoolWindowFarLongerThanItsInputFinishes) {
  // A 2^31-row window with auto_pad SAME pads by 2^30 rows on each side:
  // oneDNN's pooling visited every padded tap, 2^31 per output row and
  // column tap, about five seconds per output; only the taps inside the
  // input count. Each output is the max over all rows of its columns
  // (width: kernel 2, SAME_UPPER pads 0 and 1).
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,3,8] x) => (float[1,1,3,8] y) {
      y = MaxPool<kernel_shape=[2147483648,2], auto_pad="SAME_UPPER">(x)
    }
  )"));
  std::vector<float> values(24);
  for (int i = 0; i < 24; ++i) values[i] = static_cast<float>((i * 7) % 24);  // 0..23 shuffled
  const Tensor x = FloatTensor({1, 1, 3, 8}, values);
  std::vector<float> expected(24);
  for (int col = 0; col < 8; ++col) {
    float best = values[col];
    for (int row = 0; row < 3; ++row) {
      for (int c = col; c < std::min(col + 2, 8); ++c) best = std::max(best, values[row * 8 + c]);
    }
    for (int row = 0; row < 3; ++row) expected[row * 8 + col] = best;
  }
  ASSERT_NO_FATAL_FAILURE(WriteNpy(dir.File("x.npy"), x));
  // The CLI first, with a deadline: the library call would just wait.
  const CliResult cli =
      RunCli({"run", path, "--input", "x=" + dir.File("x.npy")}, dir, std::chrono::seconds(20));
  ASSERT_TRUE(cli.exited);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;

  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> outputs;
  ASSERT_TRUE((*session)->Run({{"x", x}}, &outputs).ok());
  for (int i = 0; i < 24; ++i) EXPECT_EQ(outputs[0].tensor.data_as<float>()[i], expected[i]) << i;
}

// A model that loads but whose kernel refuses it when compiled, at the first
// Run: the Status names `path` and `parts`, and `bnfold run PATH
// --random-inputs` prints it and exits with 2.
void ExpectRunRefused(const std::string& path, const std::vector<std::string>& parts,
                      const TempDir& dir) {
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> inputs;
  for (const TensorInfo& info : (*session)->inputs()) {
    StatusOr<Tensor> zeros = Tensor::Allocate(info.dtype, info.shape);
    ASSERT_TRUE(zeros.ok()) << zeros.status().ToString();
    inputs.push_back({info.name, *zeros});
  }
  std::vector<NamedTensor> outputs;
  const Status status = (*session)->Run(inputs, &outputs);
  ASSERT_NO_FATAL_FAILURE(ExpectMessage(status, StatusCode::kInvalidModel, path, parts));
  ExpectCliRefuses({"run", path, "--random-inputs"}, status.message(), dir);
}

TEST(MalformedModels, DepthToSpaceBlocksizeNear2To63) {
  // b * b wrapped around (undefined behaviour) and the output dims h * b
  // overflowed; each is now checked by division, before any product.
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,8,2,2] x) => (float[1,2,4,4] y) {
      y = DepthToSpace<blocksize=9223372036854775807>(x)
    }
  )", {"d2s"}));
  ExpectRunRefused(path,
                   {"DepthToSpace 'd2s': channels 8 are not divisible by blocksize^2 (blocksize "
                    "9223372036854775807)"},
                   dir);
  // No channels: any blocksize divides them, the spatial dims still overflow.
  const std::string empty_path = SaveModel(dir, "empty.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,0,3,3] x) => (float[1,0,6,6] y) {
      y = DepthToSpace<blocksize=4611686018427387904>(x)
    }
  )", {"d2s"}));
  ExpectRunRefused(empty_path,
                   {"DepthToSpace 'd2s': blocksize 4611686018427387904 times the spatial dims "
                    "[1,0,3,3] does not fit in 64 bits"},
                   dir);
}

// ---------------------------------------------------------------- past ONNX's checker
// Opset 18 and newer: the installed ONNX library (opset 17) cannot check the
// model, so bnfold's own validation is all there is.

TEST(MalformedModels, NodeWithoutItsRequiredInputsPastTheChecker) {
  // Kernels read inputs by position: ReduceMean with no input read past
  // the end of the node's inputs (a crash).
  TempDir dir;
  const std::string path = SaveModel(dir, "m.onnx", ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 19]>
    g (float[2,3] x) => (float[1,1] y) { y = ReduceMean() }
  )", {"mean"}));
  ExpectRefused(path, StatusCode::kInvalidModel,
                {"ReduceMean 'mean': has 0 inputs; ReduceMean needs at least 1"}, dir);

  onnx::ModelProto slice = ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 19]>
    g (float[2,3] x, int64[1] starts, int64[1] ends) => (float[2,3] y) {
      y = Slice(x, starts, ends)
    }
  )", {"slice"});
  slice.mutable_graph()->mutable_node(0)->mutable_input()->RemoveLast();
  const std::string slice_path = SaveModel(dir, "slice.onnx", slice);
  ExpectRefused(slice_path, StatusCode::kInvalidModel,
                {"Slice 'slice': has 2 inputs; Slice needs at least 3"}, dir);

  slice.mutable_graph()->mutable_node(0)->add_input("");  // an empty name: omitted
  const std::string empty_path = SaveModel(dir, "empty.onnx", slice);
  ExpectRefused(empty_path, StatusCode::kInvalidModel,
                {"Slice 'slice': input 2 ('ends') is required but empty"}, dir);
}

}  // namespace
}  // namespace bnfold
