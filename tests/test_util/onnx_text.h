// Test models written in ONNX's textual syntax (onnx::OnnxParser), e.g.
//
//   <ir_version: 8, opset_import: ["" : 13]>
//   g (float[N, 5] x) => (float[N, 5] y) { y = Relu(x) }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bnfold::testing {

// The serialized ModelProto for `text`; aborts the test binary with the
// parser's message when the text does not parse (a bug in the test).
std::string ModelBytesFromText(const std::string& text);

// A float initializer in the text syntax, "float[4,3] w = {...}" ("float w"
// for a scalar), each value with 9 significant digits (exact for float32).
std::string InitializerText(const std::string& name, const std::vector<int64_t>& dims,
                            const std::vector<float>& values);

// The same with SeededValues (seeded_values.h) in [lo, hi).
std::string SeededInitializerText(const std::string& name, const std::vector<int64_t>& dims,
                                  uint32_t seed, float lo = -0.3f, float hi = 0.3f);

// `count` Expands of a fed float[1] x (plus a different constant each) to
// 2^31 floats, 8 GiB each (half the one-tensor limit), all alive until a
// chain of Adds sums them: a file of a few KB whose plan asks for
// count * 8 GiB of activations (the memory cap's tests).
std::string ManyLargeTensorsText(int count);

}  // namespace bnfold::testing
