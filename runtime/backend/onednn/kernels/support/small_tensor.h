// When an element-wise kernel skips oneDNN (issue 15).
#pragma once

#include <cstdint>

namespace bnfold::onednn {

// Below this many elements, element-wise ops whose C++ loop gives exactly
// oneDNN's result (Relu, Abs, Neg; Add, Sub, Mul: each output one correctly
// rounded operation or none) run the loop: a oneDNN primitive costs a
// primitive descriptor at compile time and memory objects in every execution
// context, which is most of the load+compile+run time of a graph of many
// ops on tiny tensors, and on 255 floats the loop is as fast.
inline constexpr int64_t kLoopOnlyElements = 256;

}  // namespace bnfold::onednn
