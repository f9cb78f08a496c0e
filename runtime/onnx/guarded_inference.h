// ONNX shape inference that cannot crash on malformed models.
//
// ONNX 1.12's per-op inference functions trust their inputs: fuzzing found
// segfaults (Gemm-6/7 on inputs not of rank 2, Conv/ConvTranspose when the
// weight's rank differs from the input's), division by zero (a stride of 0,
// DepthToSpace's blocksize squared overflowing to 0) and unbounded
// allocation (ConstantOfShape/Expand/Reshape given a shape input with 2^40
// elements: an output of rank 2^40). Inference therefore runs through a
// schema registry whose inference functions first check the input types
// ONNX has inferred so far and the attributes, and skip the node (leaving
// its outputs unshaped) when the original function could misbehave. Ops
// bnfold does not know are never inferred (their functions and function
// bodies are not trusted; such models cannot run anyway).
#pragma once

#include <string>

namespace onnx {
class ModelProto;
}

namespace bnfold::onnx_io {

// Runs ONNX shape inference (no type checks, node-level errors ignored, data
// propagation on) on `model`, adding value_info. Throws what ONNX throws for
// model-level contradictions (e.g. a declared shape that differs from the
// inferred one).
void InferShapesGuarded(onnx::ModelProto* model);

}  // namespace bnfold::onnx_io
