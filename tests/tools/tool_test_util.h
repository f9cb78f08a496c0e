// Helpers for the tests of the public optimizer API and the `bnfold` CLI:
// models from ONNX text, temporary folders, running the built binary, and a
// small JSON reader for the --json outputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "onnx/onnx_pb.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold::testing {

// A fresh folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Names of the entries of the folder, sorted.
  std::vector<std::string> List() const;

 private:
  std::string path_;
};

// ONNX text (onnx::OnnxParser syntax) -> ModelProto; fails the test on a
// parse error.
onnx::ModelProto ParseModel(const std::string& text);
// Adds a float initializer (raw_data) to `graph`.
void AddFloatInitializer(onnx::GraphProto* graph, const std::string& name,
                         const std::vector<int64_t>& dims, const std::vector<float>& values);
void WriteModel(const onnx::ModelProto& model, const std::string& path);
onnx::ModelProto ReadModel(const std::string& path);
std::string ReadBytes(const std::string& path);
bool FileExists(const std::string& path);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built `bnfold` with `args`; `shell_prefix` (e.g. "ulimit -f 1;")
// runs before it in the same shell.
CommandResult RunBnfold(const std::vector<std::string>& args, const std::string& shell_prefix = "");

// A parsed JSON document.
struct JsonValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = kNull;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;

  bool Has(const std::string& key) const;
  // Member `key`; a test failure (and null) when absent.
  const JsonValue& operator[](const std::string& key) const;
  const JsonValue& operator[](size_t index) const;
  size_t size() const { return kind == kArray ? items.size() : members.size(); }
};
// Parses `text`; nullopt (with the reason in `error`) when it is not JSON.
std::optional<JsonValue> ParseJson(const std::string& text, std::string* error = nullptr);

}  // namespace bnfold::testing
