// OpKind: the closed set of ONNX operators bnfold understands, as an enum so
// passes and the backend dispatch on it instead of comparing strings.
#pragma once

#include <string_view>

namespace bnfold::ir {

// Every default-domain op bnfold imports with a known kind, by family. Ops
// outside these lists import as kUnknown, keep their raw attributes, export
// unchanged, and are refused (naming op, node and opset) only when compiled.
// A kind is runnable when its family registers a kernel for it
// (kernel_registry.cc) and has a type rule (runtime/ir/op_rules/); a kind
// without them imports, exports and is refused at compile time like an
// unknown op. Since-versions per kind: op_versions.cc.

// The ops of the core runtime (the seed models and the ONNX core suite).
#define BNFOLD_OPS_CORE(X)                                                \
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

// Comparison, logic and bitwise ops (kernels/logic.cc,
// op_rules/logic_rules.cc).
#define BNFOLD_OPS_LOGIC(X) \
  X(Equal) X(Less) X(LessOrEqual) X(Greater) X(GreaterOrEqual)         \
  X(And) X(Or) X(Xor) X(Not) X(Where) X(IsNaN) X(IsInf) X(Sign)        \
  X(BitShift) X(Mod) X(BitwiseAnd) X(BitwiseOr) X(BitwiseXor)          \
  X(BitwiseNot)                                                       

// Element-wise math, matrix and generator ops (kernels/math.cc,
// op_rules/math_rules.cc).
#define BNFOLD_OPS_MATH(X) \
  X(Sin) X(Cos) X(Tan) X(Asin) X(Acos) X(Atan) X(Sinh) X(Cosh)         \
  X(Asinh) X(Acosh) X(Atanh) X(Round) X(ThresholdedRelu) X(Shrink)     \
  X(Celu) X(Mish) X(Gelu) X(Hardmax) X(Det) X(Einsum) X(CumSum)        \
  X(Trilu) X(EyeLike) X(Range) X(Size) X(OneHot) X(CastLike)          

// Reductions, arg/top-k, gather/scatter and index ops (kernels/indexing.cc,
// reduce.cc; op_rules/indexing_rules.cc).
#define BNFOLD_OPS_INDEXING(X) \
  X(ArgMax) X(ArgMin) X(TopK) X(GatherElements) X(GatherND)            \
  X(ScatterElements) X(ScatterND) X(Scatter) X(Compress) X(NonZero)    \
  X(Unique) X(ReverseSequence) X(ReduceL1) X(ReduceL2)                 \
  X(ReduceLogSum) X(ReduceLogSumExp) X(ReduceProd)                     \
  X(ReduceSumSquare)                                                  

// Losses, windows and spectral ops (kernels/loss_signal.cc,
// op_rules/loss_signal_rules.cc).
#define BNFOLD_OPS_LOSS_SIGNAL(X) \
  X(NegativeLogLikelihoodLoss) X(SoftmaxCrossEntropyLoss)              \
  X(BlackmanWindow) X(HannWindow) X(HammingWindow) X(DFT) X(STFT)      \
  X(MelWeightMatrix)                                                  

// Normalization, pooling and vision ops (kernels/vision.cc, normalization.cc,
// pool.cc; op_rules/vision_rules.cc).
#define BNFOLD_OPS_VISION(X) \
  X(LayerNormalization) X(GroupNormalization)                          \
  X(MeanVarianceNormalization) X(LpNormalization) X(LpPool)            \
  X(GlobalLpPool) X(MaxUnpool) X(MaxRoiPool) X(RoiAlign)               \
  X(GridSample) X(NonMaxSuppression) X(Col2Im) X(CenterCropPad)       

// Quantization ops (kernels/quantize.cc, op_rules/quant_rules.cc).
#define BNFOLD_OPS_QUANT(X) \
  X(QuantizeLinear) X(DequantizeLinear) X(DynamicQuantizeLinear)       \
  X(QLinearConv) X(QLinearMatMul) X(ConvInteger) X(MatMulInteger)     

// Recurrent layers (kernels/recurrent.cc, op_rules/recurrent_rules.cc).
#define BNFOLD_OPS_RECURRENT(X) \
  X(LSTM) X(GRU) X(RNN)                                               

// Control flow, sequences and optionals (kernels/control_flow.cc,
// op_rules/control_rules.cc).
#define BNFOLD_OPS_CONTROL(X) \
  X(If) X(Loop) X(Scan) X(SequenceConstruct) X(SequenceAt)             \
  X(SequenceInsert) X(SequenceErase) X(SequenceLength)                 \
  X(SequenceEmpty) X(SplitToSequence) X(ConcatFromSequence)            \
  X(SequenceMap) X(Optional) X(OptionalHasElement)                     \
  X(OptionalGetElement)                                               

// Random generators (kernels/random.cc, op_rules/random_rules.cc).
#define BNFOLD_OPS_RANDOM(X) \
  X(RandomNormal) X(RandomUniform) X(RandomNormalLike)                 \
  X(RandomUniformLike) X(Bernoulli) X(Multinomial)                    

#define BNFOLD_OP_KINDS(X)                                             \
  BNFOLD_OPS_CORE(X) BNFOLD_OPS_LOGIC(X) BNFOLD_OPS_MATH(X)            \
  BNFOLD_OPS_INDEXING(X) BNFOLD_OPS_LOSS_SIGNAL(X) BNFOLD_OPS_VISION(X) \
  BNFOLD_OPS_QUANT(X) BNFOLD_OPS_RECURRENT(X) BNFOLD_OPS_CONTROL(X)     \
  BNFOLD_OPS_RANDOM(X)

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
