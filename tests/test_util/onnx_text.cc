#include "tests/test_util/onnx_text.h"

#include <cstdio>
#include <cstdlib>

#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"
#include "tests/test_util/seeded_values.h"

namespace bnfold::testing {

std::string ModelBytesFromText(const std::string& text) {
  onnx::ModelProto model;
  const onnx::Common::Status status = onnx::OnnxParser::Parse(model, text.c_str());
  if (!status.IsOK()) {
    std::fprintf(stderr, "test model does not parse: %s\n%s\n",
                 status.ErrorMessage().c_str(), text.c_str());
    std::abort();
  }
  std::string bytes;
  model.SerializeToString(&bytes);
  return bytes;
}

std::string InitializerText(const std::string& name, const std::vector<int64_t>& dims,
                            const std::vector<float>& values) {
  std::string text = "float";
  for (size_t i = 0; i < dims.size(); ++i) {
    text += (i ? "," : "[") + std::to_string(dims[i]) + (i + 1 == dims.size() ? "]" : "");
  }
  text += " " + name + " = {";
  char number[32];
  for (size_t i = 0; i < values.size(); ++i) {
    std::snprintf(number, sizeof number, "%s%.9g", i ? "," : "", values[i]);
    text += number;
  }
  return text + "}";
}

std::string SeededInitializerText(const std::string& name, const std::vector<int64_t>& dims,
                                  uint32_t seed, float lo, float hi) {
  size_t count = 1;
  for (int64_t d : dims) count *= static_cast<size_t>(d);
  return InitializerText(name, dims, SeededValues(count, seed, lo, hi));
}

}  // namespace bnfold::testing
