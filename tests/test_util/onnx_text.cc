#include "tests/test_util/onnx_text.h"

#include <cstdio>
#include <cstdlib>

#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"

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

}  // namespace bnfold::testing
