#include "runtime/onnx/guarded_inference.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "onnx/defs/data_type_utils.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "runtime/ir/op_kind.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::onnx_io {

namespace {

using ir::OpKind;

// No real model comes near these. ONNX allocates per dimension, and
// computes pooled sizes through float (MaxPool with ceil_mode on a dim of
// 2^62 spun for minutes).
constexpr int kMaxRank = 32;
constexpr int64_t kMaxShapeInputLength = 64;
constexpr int64_t kMaxDim = int64_t{1} << 32;

// Rank of input `i` when ONNX knows it, else -1.
template <typename Context>
int InputRank(const Context& ctx, size_t i) {
  if (i >= ctx.getNumInputs()) return -1;
  const onnx::TypeProto* type = ctx.getInputType(i);
  if (type == nullptr || !type->has_tensor_type() || !type->tensor_type().has_shape()) return -1;
  return type->tensor_type().shape().dim_size();
}

// Length of 1-D input `i` when fixed, else -1.
template <typename Context>
int64_t InputLength(const Context& ctx, size_t i) {
  if (InputRank(ctx, i) != 1) return -1;
  const auto& dim = ctx.getInputType(i)->tensor_type().shape().dim(0);
  return dim.has_dim_value() ? dim.dim_value() : -1;
}

template <typename Context>
bool IntAttrAtLeast(const Context& ctx, const char* name, int64_t low, int64_t high) {
  const onnx::AttributeProto* a = ctx.getAttribute(name);
  return a == nullptr || (a->i() >= low && a->i() <= high);
}

template <typename Context>
bool IntsAttrAllAtLeastOne(const Context& ctx, const char* name) {
  const onnx::AttributeProto* a = ctx.getAttribute(name);
  if (a == nullptr) return true;
  for (int64_t v : a->ints()) {
    if (v < 1) return false;
  }
  return true;
}

// Whether every input's type is one `schema` allows. The checker does not
// look at types, and inference functions read data (axes, shapes) assuming
// the declared type: a float `axes` initializer crashed ReduceSum + Shape.
template <typename Context>
bool InputTypesMatch(const onnx::OpSchema& schema, const Context& ctx) {
  const auto& params = schema.inputs();
  for (size_t i = 0; i < ctx.getNumInputs(); ++i) {
    const onnx::TypeProto* type = ctx.getInputType(i);
    if (type == nullptr) continue;  // omitted, or not known yet
    if (params.empty()) return false;
    const auto& param = params[std::min(i, params.size() - 1)];
    if (i >= params.size() && param.GetOption() != onnx::OpSchema::Variadic) return false;
    if (!type->has_tensor_type()) return false;
    const int32_t elem = type->tensor_type().elem_type();
    if (elem == 0 || !onnx::TensorProto_DataType_IsValid(elem)) return false;
    if (param.GetTypes().count(onnx::Utils::DataTypeUtils::ToType(*type)) == 0) return false;
  }
  return true;
}

// Whether ONNX 1.12's inference (or data propagation) for a node of `kind`
// is safe on these inputs and attributes. Only ops bnfold has a type rule
// for are handed to it: their inputs are the ones the guards below know.
template <typename Context>
bool SafeToInfer(OpKind kind, const onnx::OpSchema& schema, const Context& ctx) {
  if (ir::FindTypeRule(kind) == nullptr || !InputTypesMatch(schema, ctx)) return false;
  for (size_t i = 0; i < ctx.getNumInputs(); ++i) {
    const int rank = InputRank(ctx, i);
    if (rank > kMaxRank) return false;
    for (int d = 0; d < rank; ++d) {
      const auto& dim = ctx.getInputType(i)->tensor_type().shape().dim(d);
      if (dim.has_dim_value() && (dim.dim_value() < 0 || dim.dim_value() > kMaxDim)) return false;
    }
  }
  switch (kind) {
    case OpKind::kGemm:
      // Gemm-6/7 index dims 0 and 1 without checking the rank.
      return InputRank(ctx, 0) == 2 && InputRank(ctx, 1) == 2;
    case OpKind::kConv:
    case OpKind::kConvTranspose: {
      const int x = InputRank(ctx, 0);
      const int w = InputRank(ctx, 1);
      if (x >= 0 && x < 3) return false;
      if (w >= 0 && w != x) return false;
      return IntsAttrAllAtLeastOne(ctx, "strides") && IntsAttrAllAtLeastOne(ctx, "dilations") &&
             IntsAttrAllAtLeastOne(ctx, "kernel_shape") &&
             IntAttrAtLeast(ctx, "group", 1, INT32_MAX);
    }
    case OpKind::kAveragePool:
    case OpKind::kMaxPool: {
      const int x = InputRank(ctx, 0);
      if (x >= 0 && x < 3) return false;
      return IntsAttrAllAtLeastOne(ctx, "strides") && IntsAttrAllAtLeastOne(ctx, "dilations") &&
             IntsAttrAllAtLeastOne(ctx, "kernel_shape");
    }
    case OpKind::kQLinearConv:
    case OpKind::kConvInteger: {
      // Conv's inference on X and W (input 3 for QLinearConv).
      const int x = InputRank(ctx, 0);
      const int w = InputRank(ctx, kind == OpKind::kQLinearConv ? 3 : 1);
      if (x >= 0 && x < 3) return false;
      if (w >= 0 && w != x) return false;
      return IntsAttrAllAtLeastOne(ctx, "strides") && IntsAttrAllAtLeastOne(ctx, "dilations") &&
             IntsAttrAllAtLeastOne(ctx, "kernel_shape") &&
             IntAttrAtLeast(ctx, "group", 1, INT32_MAX);
    }
    case OpKind::kLpPool: {
      const int x = InputRank(ctx, 0);
      if (x >= 0 && x < 3) return false;
      return IntsAttrAllAtLeastOne(ctx, "strides") && IntsAttrAllAtLeastOne(ctx, "dilations") &&
             IntsAttrAllAtLeastOne(ctx, "kernel_shape");
    }
    case OpKind::kLSTM:
    case OpKind::kGRU:
    case OpKind::kRNN:
      // RNNShapeInference reads X's three dims without checking its rank.
      for (size_t i = 0; i < std::min<size_t>(3, ctx.getNumInputs()); ++i) {
        const int rank = InputRank(ctx, i);
        if (rank >= 0 && rank != 3) return false;
      }
      return IntAttrAtLeast(ctx, "hidden_size", 1, INT32_MAX) &&
             IntAttrAtLeast(ctx, "layout", 0, 1);
    case OpKind::kLayerNormalization: {
      const int x = InputRank(ctx, 0);
      return x >= 1 && IntAttrAtLeast(ctx, "axis", -x, x - 1);
    }
    case OpKind::kDepthToSpace:
    case OpKind::kSpaceToDepth:
      // blocksize squared must neither be 0 nor overflow.
      return IntAttrAtLeast(ctx, "blocksize", 1, INT32_MAX);
    case OpKind::kIf:  // ONNX 1.12's Scan inference crashed on a fuzzed body; bnfold
    case OpKind::kLoop:  // types every subgraph itself (subgraph_rules.cc)
    case OpKind::kScan:
      return false;
    case OpKind::kEyeLike:  // ONNX 1.12 crashed on an input of unknown rank
      return InputRank(ctx, 0) == 2;
    case OpKind::kShape:
      // Shape-15's start/end are added to the rank unchecked.
      return IntAttrAtLeast(ctx, "start", -kMaxRank, kMaxRank) &&
             IntAttrAtLeast(ctx, "end", -kMaxRank, kMaxRank);
    case OpKind::kConstantOfShape:
      // The output's rank is the input's length.
      return InputLength(ctx, 0) <= kMaxShapeInputLength;
    case OpKind::kExpand:
    case OpKind::kReshape:
    case OpKind::kTile:
    case OpKind::kResize:
    case OpKind::kUpsample:
    case OpKind::kPad:
    case OpKind::kSlice:
    case OpKind::kSqueeze:
    case OpKind::kUnsqueeze:
    case OpKind::kSplit:
    case OpKind::kReduceMax:
    case OpKind::kReduceMean:
    case OpKind::kReduceMin:
    case OpKind::kReduceSum:
    case OpKind::kReduceL1:
    case OpKind::kReduceL2:
    case OpKind::kReduceLogSum:
    case OpKind::kReduceLogSumExp:
    case OpKind::kReduceProd:
    case OpKind::kReduceSumSquare:
      // Shape-like inputs (shape, repeats, scales, sizes, pads, axes ...)
      // longer than any rank: an output of that rank, or a loop over it.
      for (size_t i = 1; i < ctx.getNumInputs(); ++i) {
        if (InputLength(ctx, i) > 2 * kMaxShapeInputLength) return false;
      }
      return true;
    case OpKind::kSTFT:
    case OpKind::kDFT:
    case OpKind::kMelWeightMatrix:
    case OpKind::kHannWindow:
    case OpKind::kHammingWindow:
    case OpKind::kBlackmanWindow:
      // The opset-17 signal ops' inference reads dims (STFT's signal dim 1
      // of a 1-D signal crashed) and input data unchecked; bnfold's own
      // rules type them.
      return false;
    default:
      return true;
  }
}

// Data propagation additionally trusts that input shapes are known and that
// the propagated values are not empty: Add/Sub/Mul index an empty operand
// (1.12's MathOpDataPropagator).
bool SafeToPropagate(OpKind kind, const onnx::OpSchema& schema,
                     onnx::DataPropagationContext& ctx) {
  if (!SafeToInfer(kind, schema, ctx)) return false;
  for (size_t i = 0; i < ctx.getNumInputs(); ++i) {
    // Shape-15's propagator reads its input's shape without checking.
    if (InputRank(ctx, i) < 0) return false;
    const onnx::TensorShapeProto* data = ctx.getInputData(i);
    if (data != nullptr && data->dim_size() == 0) return false;
  }
  return true;
}

// ONNX's schema registry, with every schema's inference and data
// propagation functions wrapped in SafeToInfer.
class GuardedRegistry : public onnx::ISchemaRegistry {
 public:
  const onnx::OpSchema* GetSchema(const std::string& key, const int max_inclusive_version,
                                  const std::string& domain) const override {
    const onnx::OpSchema* original =
        onnx::OpSchemaRegistry::Schema(key, max_inclusive_version, domain);
    if (original == nullptr) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    std::unique_ptr<onnx::OpSchema>& guarded = guarded_[original];
    if (!guarded) {
      const OpKind kind = ir::OpKindFromName(domain, key);
      guarded = std::make_unique<onnx::OpSchema>(*original);
      // Set even for schemas without one, so ONNX does not expand (and
      // infer) their function bodies instead.
      guarded->TypeAndShapeInferenceFunction(
          [kind, original, infer = original->GetTypeAndShapeInferenceFunction()](
              onnx::InferenceContext& ctx) {
            if (SafeToInfer(kind, *original, ctx)) infer(ctx);
          });
      if (original->has_data_propagation_function()) {
        guarded->PartialDataPropagationFunction(
            [kind, original, propagate = original->GetDataPropagationFunction()](
                onnx::DataPropagationContext& ctx) {
              if (SafeToPropagate(kind, *original, ctx)) propagate(ctx);
            });
      }
    }
    return guarded.get();
  }

 private:
  mutable std::mutex mutex_;
  // Keyed by the original schema, which ONNX never frees.
  mutable std::map<const onnx::OpSchema*, std::unique_ptr<onnx::OpSchema>> guarded_;
};

}  // namespace

void InferShapesGuarded(onnx::ModelProto* model) {
  static GuardedRegistry* const registry = new GuardedRegistry();
  // Types are the checker's job (check_type would refuse int64 Constants
  // that real exporters wrote before opset 9); node-level errors are left
  // to the kernels, which validate every node when the model is compiled.
  const onnx::ShapeInferenceOptions options(/*check_type=*/false, /*strict_mode=*/0,
                                            /*data_prop=*/true);
  onnx::shape_inference::InferShapes(*model, registry, options);
}

}  // namespace bnfold::onnx_io
