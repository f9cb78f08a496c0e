#include "runtime/backend/onednn/kernel_registry.h"

namespace bnfold::onednn {

const KernelRegistry& KernelRegistry::Global() {
  static const KernelRegistry* const registry = [] {
    auto* r = new KernelRegistry();
    // Every op family, one file each in kernels/, and the ops it runs.
    RegisterActivationKernels(*r);     // Relu, LeakyRelu, Elu, Selu, Sigmoid, HardSigmoid,
                                       // HardSwish, Tanh, Softplus, Softsign, Exp, Log, Sqrt,
                                       // Neg, Abs, Reciprocal, Floor, Ceil, Erf, Clip
    RegisterBinaryKernels(*r);         // Add, Sub, Mul, Div, Pow, PRelu, Max, Min, Sum, Mean
    RegisterCastKernels(*r);           // Cast
    RegisterConcatKernels(*r);         // Concat, Split
    RegisterConstantKernels(*r);       // Constant, ConstantOfShape
    RegisterConvKernels(*r);           // Conv, ConvTranspose
    RegisterGatherKernels(*r);         // Gather
    RegisterGemmKernels(*r);           // Gemm, MatMul
    RegisterNormalizationKernels(*r);  // BatchNormalization, InstanceNormalization, LRN
    RegisterPadKernels(*r);            // Pad
    RegisterPoolKernels(*r);           // MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool
    RegisterReduceKernels(*r);         // ReduceSum, ReduceMean, ReduceMax, ReduceMin
    RegisterReshapeKernels(*r);        // Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout
    RegisterResizeKernels(*r);         // Resize, Upsample
    RegisterShapeKernels(*r);          // Shape
    RegisterSliceKernels(*r);          // Slice
    RegisterSoftmaxKernels(*r);        // Softmax, LogSoftmax
    RegisterTileKernels(*r);           // Tile, Expand
    RegisterTransposeKernels(*r);      // Transpose, DepthToSpace, SpaceToDepth
    // The families of op_kind.h's BNFOLD_OPS_* lists (one kernel file each).
    RegisterLogicKernels(*r);  // comparison, logic and bitwise ops
    RegisterMathKernels(*r);  // element-wise math, matrix and generator ops
    RegisterIndexingKernels(*r);  // arg/top-k, gather/scatter, index ops and the further reductions
    RegisterLossSignalKernels(*r);  // losses, windows and spectral ops
    RegisterVisionKernels(*r);  // normalization, pooling and vision ops
    RegisterQuantKernels(*r);  // quantization ops
    RegisterRecurrentKernels(*r);  // recurrent layers
    RegisterControlFlowKernels(*r);  // control flow, sequences and optionals
    RegisterRandomKernels(*r);  // random generators
    return r;
  }();
  return *registry;
}

void KernelRegistry::Register(ir::OpKind kind, KernelFactory factory) {
  factories_[static_cast<size_t>(kind)] = factory;
}

KernelFactory KernelRegistry::Find(ir::OpKind kind) const {
  return factories_[static_cast<size_t>(kind)];
}

}  // namespace bnfold::onednn
