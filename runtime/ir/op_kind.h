// OpKind: the closed set of ONNX operators bnfold understands, as an enum so
// passes and the backend dispatch on it instead of comparing strings.
#pragma once

#include <string_view>

namespace bnfold::ir {

// Every default-domain op bnfold imports with a known kind. Ops outside this
// list import as kUnknown, keep their raw attributes, export unchanged, and
// are refused (naming op, node and opset) only when compiled.
#define BNFOLD_OP_KINDS(X)                                              \
  X(Abs) X(Add) X(AveragePool) X(BatchNormalization) X(Cast) X(Ceil)    \
  X(Clip) X(Concat) X(Constant) X(ConstantOfShape) X(Conv)              \
  X(ConvTranspose) X(DepthToSpace) X(Div) X(Dropout) X(Elu) X(Erf)      \
  X(Exp) X(Expand) X(Flatten) X(Floor) X(Gather) X(Gemm)                \
  X(GlobalAveragePool) X(GlobalMaxPool) X(HardSigmoid) X(HardSwish)     \
  X(Identity) X(InstanceNormalization) X(LeakyRelu) X(Log)              \
  X(LogSoftmax) X(LRN) X(MatMul) X(Max) X(MaxPool) X(Mean) X(Min)       \
  X(Mul) X(Neg) X(Pad) X(Pow) X(PRelu) X(Reciprocal) X(ReduceMax)       \
  X(ReduceMean) X(ReduceMin) X(ReduceSum) X(Relu) X(Reshape) X(Resize)  \
  X(Selu) X(Shape) X(Sigmoid) X(Slice) X(Softmax) X(Softplus)           \
  X(Softsign) X(SpaceToDepth) X(Split) X(Sqrt) X(Squeeze) X(Sub)        \
  X(Sum) X(Tanh) X(Tile) X(Transpose) X(Unsqueeze) X(Upsample)

enum class OpKind {
  kUnknown = 0,
#define BNFOLD_OP_ENUM(name) k##name,
  BNFOLD_OP_KINDS(BNFOLD_OP_ENUM)
#undef BNFOLD_OP_ENUM
      kCount,
};

// Kind of a default-domain ("" or "ai.onnx") op; kUnknown otherwise.
OpKind OpKindFromName(std::string_view domain, std::string_view op_type);
// The ONNX op_type spelling ("Conv"), "Unknown" for kUnknown.
const char* OpKindName(OpKind kind);

}  // namespace bnfold::ir
