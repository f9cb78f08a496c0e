// Test models written in ONNX's textual syntax (onnx::OnnxParser), e.g.
//
//   <ir_version: 8, opset_import: ["" : 13]>
//   g (float[N, 5] x) => (float[N, 5] y) { y = Relu(x) }
#pragma once

#include <string>

namespace bnfold::testing {

// The serialized ModelProto for `text`; aborts the test binary with the
// parser's message when the text does not parse (a bug in the test).
std::string ModelBytesFromText(const std::string& text);

}  // namespace bnfold::testing
