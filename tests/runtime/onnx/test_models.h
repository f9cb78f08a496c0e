// Helpers for tests that build ONNX models in C++: parse a graph from ONNX
// text, add initializers, write the model into a temporary folder.
#pragma once

#include <ftw.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"

namespace bnfold::testing {

// A fresh folder under $TMPDIR, removed with everything in it on
// destruction.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/bnfold_test_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
    }
    path_ = pattern;
  }
  ~TempDir() {
    ::nftw(
        path_.c_str(),
        [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); },
        16, FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Parses ONNX text (onnx/defs/parser.h syntax), e.g.
//   <ir_version: 8, opset_import: ["" : 13]>
//   g (float[2,3] x) => (float[2,3] y) { y = Relu(x) }
// and names node i "n<i>" unless `names` gives the names in order.
inline onnx::ModelProto ParseModel(const std::string& text,
                                   const std::vector<std::string>& names = {}) {
  onnx::ModelProto model;
  const onnx::Status status = onnx::OnnxParser::Parse(model, text.c_str());
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage() << "\n" << text;
  auto* nodes = model.mutable_graph()->mutable_node();
  for (int i = 0; i < nodes->size(); ++i) {
    // (not "n" + to_string(i): GCC 12 warns falsely, -Wrestrict bug 105329)
    std::string name = "n";
    name += std::to_string(i);
    nodes->Mutable(i)->set_name(static_cast<size_t>(i) < names.size() ? names[i] : name);
  }
  return model;
}

// Adds a float initializer holding `values` as raw little-endian data.
inline onnx::TensorProto* AddFloatInitializer(onnx::ModelProto* model, const std::string& name,
                                              const std::vector<int64_t>& dims,
                                              const std::vector<float>& values) {
  onnx::TensorProto* t = model->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(values.data(), values.size() * sizeof(float));
  return t;
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
  std::fclose(f);
}

inline std::string Serialize(const onnx::ModelProto& model) {
  std::string bytes;
  EXPECT_TRUE(model.SerializeToString(&bytes));
  return bytes;
}

// Writes `model` to `dir`/`name` and returns the path.
inline std::string SaveModel(const TempDir& dir, const std::string& name,
                             const onnx::ModelProto& model) {
  const std::string path = dir.File(name);
  WriteBytes(path, Serialize(model));
  return path;
}

}  // namespace bnfold::testing
