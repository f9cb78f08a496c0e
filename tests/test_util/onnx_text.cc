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

std::string ManyLargeTensorsText(int count) {
  std::string inits = "int64[1] s = {2147483648}";
  std::string body;
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    inits += ", float c" + n + " = {" + n + ".0}";
    body += "  a" + n + " = Add(x, c" + n + ")\n  e" + n + " = Expand(a" + n + ", s)\n";
  }
  std::string sum = "e0";
  for (int i = 1; i < count; ++i) {
    const std::string next = i + 1 == count ? "y" : "t" + std::to_string(i);
    body += "  " + next + " = Add(" + sum + ", e" + std::to_string(i) + ")\n";
    sum = next;
  }
  return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
         "g (float[1] x) => (float[M] y) <" + inits + "> {\n" + body + "}";
}

}  // namespace bnfold::testing
