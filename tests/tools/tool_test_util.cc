#include "tests/tools/tool_test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "onnx/defs/parser.h"

namespace bnfold::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/bnfold_tools_test_XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::vector<std::string> TempDir::List() const {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(path_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

onnx::ModelProto ParseModel(const std::string& text) {
  onnx::ModelProto model;
  const onnx::Common::Status status = onnx::OnnxParser::Parse(model, text.c_str());
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage() << "\nin:\n" << text;
  return model;
}

void AddFloatInitializer(onnx::GraphProto* graph, const std::string& name,
                         const std::vector<int64_t>& dims, const std::vector<float>& values) {
  onnx::TensorProto* t = graph->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(values.data(), values.size() * sizeof(float));
}

void WriteModel(const onnx::ModelProto& model, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(model.SerializeToOstream(&out)) << path;
}

onnx::ModelProto ReadModel(const std::string& path) {
  onnx::ModelProto model;
  const std::string bytes = ReadBytes(path);
  EXPECT_TRUE(model.ParseFromString(bytes)) << path;
  return model;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

CommandResult RunBnfold(const std::vector<std::string>& args, const std::string& shell_prefix) {
  TempDir scratch;
  // Appended piece by piece: `" " + std::string` trips a GCC 12 -Wrestrict
  // false positive.
  std::string command = shell_prefix;
  command += " exec ";
  command += ShellQuote(BNFOLD_BINARY);
  for (const std::string& a : args) {
    command += ' ';
    command += ShellQuote(a);
  }
  command += " >";
  command += ShellQuote(scratch.File("out"));
  command += " 2>";
  command += ShellQuote(scratch.File("err"));
  std::string shell = "/bin/sh -c ";
  shell += ShellQuote(command);
  const int status = std::system(shell.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadBytes(scratch.File("out"));
  result.err = ReadBytes(scratch.File("err"));
  return result;
}

// ---------------------------------------------------------------- JSON

namespace {

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : text_(text) {}

  bool Parse(JsonValue* out, std::string* error) {
    if (!Value(out, 0)) {
      if (error) *error = error_ + " at offset " + std::to_string(pos_);
      return false;
    }
    SkipSpace();
    if (pos_ != text_.size()) {
      if (error) *error = "trailing text at offset " + std::to_string(pos_);
      return false;
    }
    return true;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Fail(const std::string& why) {
    error_ = why;
    return false;
  }
  bool Literal(const char* word) {
    const std::string w = word;
    if (text_.compare(pos_, w.size(), w) != 0) return Fail("expected " + w);
    pos_ += w.size();
    return true;
  }

  bool String(std::string* out) {
    if (text_[pos_] != '"') return Fail("expected a string");
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (pos_ >= text_.size()) return Fail("unterminated escape");
      c = text_[pos_++];
      switch (c) {
        case 'n': *out += '\n'; break;
        case 't': *out += '\t'; break;
        case 'r': *out += '\r'; break;
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return Fail("short \\u escape");
          const unsigned code = std::stoul(text_.substr(pos_, 4), nullptr, 16);
          pos_ += 4;
          if (code >= 0x80) return Fail("non-ASCII \\u escape (not written by bnfold)");
          *out += static_cast<char>(code);
          break;
        }
        default: *out += c;
      }
    }
    if (pos_ >= text_.size()) return Fail("unterminated string");
    ++pos_;
    return true;
  }

  bool Value(JsonValue* out, int depth) {
    if (depth > 64) return Fail("nested too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') {
      out->kind = JsonValue::kObject;
      ++pos_;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
      while (true) {
        SkipSpace();
        std::string key;
        if (!String(&key)) return false;
        SkipSpace();
        if (pos_ >= text_.size() || text_[pos_] != ':') return Fail("expected ':'");
        ++pos_;
        JsonValue member;
        if (!Value(&member, depth + 1)) return false;
        out->members.emplace_back(std::move(key), std::move(member));
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ',') { ++pos_; continue; }
        if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
        return Fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      out->kind = JsonValue::kArray;
      ++pos_;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
      while (true) {
        JsonValue item;
        if (!Value(&item, depth + 1)) return false;
        out->items.push_back(std::move(item));
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ',') { ++pos_; continue; }
        if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
        return Fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      out->kind = JsonValue::kString;
      return String(&out->string);
    }
    if (c == 't') return out->kind = JsonValue::kBool, out->boolean = true, Literal("true");
    if (c == 'f') return out->kind = JsonValue::kBool, out->boolean = false, Literal("false");
    if (c == 'n') return out->kind = JsonValue::kNull, Literal("null");
    const char* begin = text_.c_str() + pos_;
    char* end = nullptr;
    out->number = std::strtod(begin, &end);
    if (end == begin) return Fail("unexpected character");
    out->kind = JsonValue::kNumber;
    pos_ += static_cast<size_t>(end - begin);
    return true;
  }

  const std::string& text_;
  size_t pos_ = 0;
  std::string error_;
};

const JsonValue& NullValue() {
  static const JsonValue null;
  return null;
}

}  // namespace

bool JsonValue::Has(const std::string& key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return true;
  }
  return false;
}

const JsonValue& JsonValue::operator[](const std::string& key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return v;
  }
  ADD_FAILURE() << "JSON has no key '" << key << "'";
  return NullValue();
}

const JsonValue& JsonValue::operator[](size_t index) const {
  if (kind == kArray && index < items.size()) return items[index];
  ADD_FAILURE() << "JSON array has no element " << index;
  return NullValue();
}

std::optional<JsonValue> ParseJson(const std::string& text, std::string* error) {
  JsonValue value;
  JsonReader reader(text);
  if (!reader.Parse(&value, error)) return std::nullopt;
  return value;
}

}  // namespace bnfold::testing
