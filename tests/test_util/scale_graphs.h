// The graphs of scripts/gen_chain.py, built in process for the scaling
// benchmark (bench/scale_benchmark.cc) and the linear-work test
// (tests/runtime/scale_work_test.cc): N cheap ops on a float[1,8] tensor x,
// output y.
//
//   kRelu  x -> Relu -> Relu ... (N nodes)
//   kAdd   x -> Add(c_0) -> Add(c_1) ... (N nodes, N constants
//          c_i = 1e-3 * (i % 7 - 3))
//   kWide  N/2 Relu branches off x summed by a binary tree of Add, then an
//          Identity to y (N nodes in all)
#pragma once

#include <cstdint>
#include <string>

namespace bnfold::testing {

enum class ScaleGraph { kRelu, kAdd, kWide };

// The serialized ModelProto (opset 13).
std::string ScaleGraphBytes(ScaleGraph kind, int64_t n);

// "relu", "add", "wide".
const char* ScaleGraphName(ScaleGraph kind);

}  // namespace bnfold::testing
