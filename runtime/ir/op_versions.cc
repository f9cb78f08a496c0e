#include "runtime/ir/op_versions.h"

#include <string>

namespace bnfold::ir {

namespace {

// Since-versions from the ONNX operator changelog (default domain), through
// opset 23. Type-only bumps are listed too: a node's semantics are chosen by
// the kernels from its opset, this table only says which schema applies.
std::vector<int64_t> SinceVersions(OpKind kind) {
  switch (kind) {
    case OpKind::kAbs: return {1, 6, 13};
    case OpKind::kAdd: return {1, 6, 7, 13, 14};
    case OpKind::kAveragePool: return {1, 7, 10, 11, 19, 22};
    case OpKind::kBatchNormalization: return {1, 6, 7, 9, 14, 15};
    case OpKind::kCast: return {1, 6, 9, 13, 19, 21, 23};
    case OpKind::kCeil: return {1, 6, 13};
    case OpKind::kClip: return {1, 6, 11, 12, 13};
    case OpKind::kConcat: return {1, 4, 11, 13};
    case OpKind::kConstant: return {1, 9, 11, 12, 13, 19, 21, 23};
    case OpKind::kConstantOfShape: return {9, 20, 21, 23};
    case OpKind::kConv: return {1, 11, 22};
    case OpKind::kConvTranspose: return {1, 11, 22};
    case OpKind::kDepthToSpace: return {1, 11, 13};
    case OpKind::kDiv: return {1, 6, 7, 13, 14};
    case OpKind::kDropout: return {1, 6, 7, 10, 12, 13, 22};
    case OpKind::kElu: return {1, 6, 22};
    case OpKind::kErf: return {9, 13};
    case OpKind::kExp: return {1, 6, 13};
    case OpKind::kExpand: return {8, 13};
    case OpKind::kFlatten: return {1, 9, 11, 13, 21, 23};
    case OpKind::kFloor: return {1, 6, 13};
    case OpKind::kGather: return {1, 11, 13};
    case OpKind::kGemm: return {1, 6, 7, 9, 11, 13};
    case OpKind::kGlobalAveragePool: return {1, 22};
    case OpKind::kGlobalMaxPool: return {1, 22};
    case OpKind::kHardSigmoid: return {1, 6, 22};
    case OpKind::kHardSwish: return {14, 22};
    case OpKind::kIdentity: return {1, 13, 14, 16, 19, 21, 23};
    case OpKind::kInstanceNormalization: return {1, 6, 22};
    case OpKind::kLeakyRelu: return {1, 6, 16};
    case OpKind::kLog: return {1, 6, 13};
    case OpKind::kLogSoftmax: return {1, 11, 13};
    case OpKind::kLRN: return {1, 13};
    case OpKind::kMatMul: return {1, 9, 13};
    case OpKind::kMax: return {1, 6, 8, 12, 13};
    case OpKind::kMaxPool: return {1, 8, 10, 11, 12, 22};
    case OpKind::kMean: return {1, 6, 8, 13};
    case OpKind::kMin: return {1, 6, 8, 12, 13};
    case OpKind::kMul: return {1, 6, 7, 13, 14};
    case OpKind::kNeg: return {1, 6, 13};
    case OpKind::kPad: return {1, 2, 11, 13, 18, 19, 21, 23};
    case OpKind::kPow: return {1, 7, 12, 13, 15};
    case OpKind::kPRelu: return {1, 6, 7, 9, 16};
    case OpKind::kReciprocal: return {1, 6, 13};
    case OpKind::kReduceMax: return {1, 11, 12, 13, 18, 20};
    case OpKind::kReduceMean: return {1, 11, 13, 18};
    case OpKind::kReduceMin: return {1, 11, 12, 13, 18, 20};
    case OpKind::kReduceSum: return {1, 11, 13};
    case OpKind::kRelu: return {1, 6, 13, 14};
    case OpKind::kReshape: return {1, 5, 13, 14, 19, 21, 23};
    case OpKind::kResize: return {10, 11, 13, 18, 19};
    case OpKind::kSelu: return {1, 6, 22};
    case OpKind::kShape: return {1, 13, 15, 19, 21, 23};
    case OpKind::kSigmoid: return {1, 6, 13};
    case OpKind::kSlice: return {1, 10, 11, 13};
    case OpKind::kSoftmax: return {1, 11, 13};
    case OpKind::kSoftplus: return {1, 22};
    case OpKind::kSoftsign: return {1, 22};
    case OpKind::kSpaceToDepth: return {1, 13};
    case OpKind::kSplit: return {1, 2, 11, 13, 18};
    case OpKind::kSqrt: return {1, 6, 13};
    case OpKind::kSqueeze: return {1, 11, 13, 21, 23};
    case OpKind::kSub: return {1, 6, 7, 13, 14};
    case OpKind::kSum: return {1, 6, 8, 13};
    case OpKind::kTanh: return {1, 6, 13};
    case OpKind::kTile: return {1, 6, 13};
    case OpKind::kTranspose: return {1, 13, 21, 23};
    case OpKind::kUnsqueeze: return {1, 11, 13, 21, 23};
    case OpKind::kUpsample: return {1, 7, 9, 10};
    // logic
    case OpKind::kEqual: return {1, 7, 11, 13, 19};
    case OpKind::kLess: return {1, 7, 9, 13};
    case OpKind::kLessOrEqual: return {12, 16};
    case OpKind::kGreater: return {1, 7, 9, 13};
    case OpKind::kGreaterOrEqual: return {12, 16};
    case OpKind::kAnd: return {1, 7};
    case OpKind::kOr: return {1, 7};
    case OpKind::kXor: return {1, 7};
    case OpKind::kNot: return {1};
    case OpKind::kWhere: return {9, 16};
    case OpKind::kIsNaN: return {9, 13, 20};
    case OpKind::kIsInf: return {10, 20};
    case OpKind::kSign: return {9, 13};
    case OpKind::kBitShift: return {11};
    case OpKind::kMod: return {10, 13};
    case OpKind::kBitwiseAnd: return {18};
    case OpKind::kBitwiseOr: return {18};
    case OpKind::kBitwiseXor: return {18};
    case OpKind::kBitwiseNot: return {18};
    // math
    case OpKind::kSin: return {7, 22};
    case OpKind::kCos: return {7, 22};
    case OpKind::kTan: return {7, 22};
    case OpKind::kAsin: return {7, 22};
    case OpKind::kAcos: return {7, 22};
    case OpKind::kAtan: return {7, 22};
    case OpKind::kSinh: return {9, 22};
    case OpKind::kCosh: return {9, 22};
    case OpKind::kAsinh: return {9, 22};
    case OpKind::kAcosh: return {9, 22};
    case OpKind::kAtanh: return {9, 22};
    case OpKind::kRound: return {11, 22};
    case OpKind::kThresholdedRelu: return {10, 22};
    case OpKind::kShrink: return {9};
    case OpKind::kCelu: return {12};
    case OpKind::kMish: return {18, 22};
    case OpKind::kGelu: return {20};
    case OpKind::kHardmax: return {1, 11, 13};
    case OpKind::kDet: return {11, 22};
    case OpKind::kEinsum: return {12};
    case OpKind::kCumSum: return {11, 14};
    case OpKind::kTrilu: return {14};
    case OpKind::kEyeLike: return {9, 22};
    case OpKind::kRange: return {11};
    case OpKind::kSize: return {1, 13, 19, 21, 23};
    case OpKind::kOneHot: return {9, 11};
    case OpKind::kCastLike: return {15, 19, 21, 23};
    // indexing
    case OpKind::kArgMax: return {1, 11, 12, 13};
    case OpKind::kArgMin: return {1, 11, 12, 13};
    case OpKind::kTopK: return {1, 10, 11};
    case OpKind::kGatherElements: return {11, 13};
    case OpKind::kGatherND: return {11, 12, 13};
    case OpKind::kScatterElements: return {11, 13, 16, 18};
    case OpKind::kScatterND: return {11, 13, 16, 18};
    case OpKind::kScatter: return {9, 11};
    case OpKind::kCompress: return {9, 11};
    case OpKind::kNonZero: return {9, 13};
    case OpKind::kUnique: return {11};
    case OpKind::kReverseSequence: return {10};
    case OpKind::kReduceL1: return {1, 11, 13, 18};
    case OpKind::kReduceL2: return {1, 11, 13, 18};
    case OpKind::kReduceLogSum: return {1, 11, 13, 18};
    case OpKind::kReduceLogSumExp: return {1, 11, 13, 18};
    case OpKind::kReduceProd: return {1, 11, 13, 18};
    case OpKind::kReduceSumSquare: return {1, 11, 13, 18};
    // loss / signal
    case OpKind::kNegativeLogLikelihoodLoss: return {12, 13, 22};
    case OpKind::kSoftmaxCrossEntropyLoss: return {12, 13};
    case OpKind::kBlackmanWindow: return {17};
    case OpKind::kHannWindow: return {17};
    case OpKind::kHammingWindow: return {17};
    case OpKind::kDFT: return {17, 20};
    case OpKind::kSTFT: return {17};
    case OpKind::kMelWeightMatrix: return {17};
    // vision
    case OpKind::kLayerNormalization: return {17};
    case OpKind::kGroupNormalization: return {18, 21};
    case OpKind::kMeanVarianceNormalization: return {9, 13};
    case OpKind::kLpNormalization: return {1, 22};
    case OpKind::kLpPool: return {1, 2, 11, 18, 22};
    case OpKind::kGlobalLpPool: return {1, 2, 22};
    case OpKind::kMaxUnpool: return {9, 11, 22};
    case OpKind::kMaxRoiPool: return {1, 22};
    case OpKind::kRoiAlign: return {10, 16, 22};
    case OpKind::kGridSample: return {16, 20, 22};
    case OpKind::kNonMaxSuppression: return {10, 11};
    case OpKind::kCol2Im: return {18};
    case OpKind::kCenterCropPad: return {18};
    // quant
    case OpKind::kQuantizeLinear: return {10, 13, 19, 21, 23};
    case OpKind::kDequantizeLinear: return {10, 13, 19, 21, 23};
    case OpKind::kDynamicQuantizeLinear: return {11};
    case OpKind::kQLinearConv: return {10};
    case OpKind::kQLinearMatMul: return {10, 21};
    case OpKind::kConvInteger: return {10};
    case OpKind::kMatMulInteger: return {10};
    // recurrent
    case OpKind::kLSTM: return {1, 7, 14, 22};
    case OpKind::kGRU: return {1, 3, 7, 14, 22};
    case OpKind::kRNN: return {1, 7, 14, 22};
    // control
    case OpKind::kIf: return {1, 11, 13, 16, 19, 21, 23};
    case OpKind::kLoop: return {1, 11, 13, 16, 19, 21, 23};
    case OpKind::kScan: return {8, 9, 11, 16, 19, 21, 23};
    case OpKind::kSequenceConstruct: return {11};
    case OpKind::kSequenceAt: return {11};
    case OpKind::kSequenceInsert: return {11};
    case OpKind::kSequenceErase: return {11};
    case OpKind::kSequenceLength: return {11};
    case OpKind::kSequenceEmpty: return {11};
    case OpKind::kSplitToSequence: return {11};
    case OpKind::kConcatFromSequence: return {11};
    case OpKind::kSequenceMap: return {17};
    case OpKind::kOptional: return {15};
    case OpKind::kOptionalHasElement: return {15, 18};
    case OpKind::kOptionalGetElement: return {15, 18};
    // random
    case OpKind::kRandomNormal: return {1, 22};
    case OpKind::kRandomUniform: return {1, 22};
    case OpKind::kRandomNormalLike: return {1, 22};
    case OpKind::kRandomUniformLike: return {1, 22};
    case OpKind::kBernoulli: return {15, 22};
    case OpKind::kMultinomial: return {7, 22};
    case OpKind::kUnknown:
    case OpKind::kCount: break;
  }
  return {};
}

// The oldest since-version bnfold implements, for ops whose early schema
// means something else under the same name; every other op is implemented
// from its first version (later versions only added types, dropped the
// legacy `consumed_inputs` attribute or moved attributes to inputs, which
// the kernels handle by opset). Checked against ONNX 1.12's schemas.
int64_t OldestImplementedVersion(OpKind kind) {
  switch (kind) {
    case OpKind::kCast: return 6;      // Cast-1: `to` is a string
    case OpKind::kConcat: return 4;    // Concat-1: `axis` optional, default 1
    case OpKind::kPad: return 2;       // Pad-1: `paddings`, not `pads`
    case OpKind::kReshape: return 5;   // Reshape-1: shape attribute
    case OpKind::kSplit: return 2;     // Split-1: optional `split` input
    case OpKind::kTile: return 6;      // Tile-1: (input, tiles, axis) inputs
    case OpKind::kUpsample: return 7;  // Upsample-1: height/width_scale
    default: return 0;
  }
}

}  // namespace

const std::vector<int64_t>& OpSinceVersions(OpKind kind) {
  static const auto* const table = [] {
    auto* t = new std::vector<std::vector<int64_t>>();
    for (int k = 0; k < static_cast<int>(OpKind::kCount); ++k) {
      t->push_back(SinceVersions(static_cast<OpKind>(k)));
    }
    return t;
  }();
  return (*table)[static_cast<size_t>(kind)];
}

StatusOr<int64_t> ResolveOpVersion(OpKind kind, int64_t opset) {
  if (opset > kMaxKnownOpset) {
    return Unsupported("opset " + std::to_string(opset) +
                       " is newer than the newest bnfold knows (" +
                       std::to_string(kMaxKnownOpset) + ")");
  }
  const std::vector<int64_t>& versions = OpSinceVersions(kind);
  int64_t resolved = 0;
  for (int64_t v : versions) {
    if (v <= opset) resolved = v;
  }
  const std::string name = OpKindName(kind);
  if (resolved == 0) {
    return InvalidModel(name + " does not exist in opset " + std::to_string(opset) +
                        (versions.empty() ? std::string()
                                          : " (it was added in opset " +
                                                std::to_string(versions.front()) + ")"));
  }
  const int64_t oldest = OldestImplementedVersion(kind);
  if (resolved < oldest) {
    return Unsupported(name + "-" + std::to_string(resolved) + " (opset " +
                       std::to_string(opset) + ") is older than bnfold implements: " +
                       name + " is supported from opset " + std::to_string(oldest));
  }
  return resolved;
}

}  // namespace bnfold::ir
