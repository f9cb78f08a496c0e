// The since-version table against ONNX itself: the installed ONNX library's
// schema registry for opsets 1..17, and for 18..23 (newer than the library)
// the op lists of onnx/defs/operator_sets.h (OpSet_Onnx_ver18..23).
#include "runtime/ir/op_versions.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "onnx/defs/schema.h"

namespace bnfold::ir {
namespace {

constexpr int64_t kInstalledOnnxMaxOpset = 17;  // ONNX 1.12

// Ops bnfold knows that got a new schema in each opset after 17, from
// onnx/onnx onnx/defs/operator_sets.h (ForEachSchema of OpSet_Onnx_ver18 to
// OpSet_Onnx_ver23), restricted to bnfold's OpKinds.
const std::map<int64_t, std::set<std::string>>& ChangesAfter17() {
  static const auto* changes = new std::map<int64_t, std::set<std::string>>{
      {18, {"Pad", "Resize", "Split", "ReduceMax", "ReduceMin", "ReduceMean",
            // issue-13 families
            "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd",
            "ReduceSumSquare", "ScatterElements", "ScatterND", "LpPool", "GroupNormalization",
            "Col2Im", "CenterCropPad", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
            "OptionalHasElement", "OptionalGetElement", "Mish"}},
      {19, {"AveragePool", "Cast", "Constant", "Identity", "Pad", "Reshape", "Resize", "Shape",
            // issue-13 families
            "CastLike", "Equal", "If", "Loop", "Scan", "Size", "DequantizeLinear",
            "QuantizeLinear"}},
      {20, {"ConstantOfShape", "ReduceMax", "ReduceMin",
            // issue-13 families
            "DFT", "Gelu", "GridSample", "IsInf", "IsNaN"}},
      {21, {"Cast", "Constant", "ConstantOfShape", "Flatten", "Identity", "Pad", "Reshape",
            "Shape", "Squeeze", "Transpose", "Unsqueeze",
            // issue-13 families
            "CastLike", "DequantizeLinear", "GroupNormalization", "If", "Loop", "QLinearMatMul",
            "QuantizeLinear", "Scan", "Size"}},
      {22, {"AveragePool", "Conv", "ConvTranspose", "Dropout", "Elu", "GlobalAveragePool",
            "GlobalMaxPool", "HardSigmoid", "HardSwish", "InstanceNormalization", "MaxPool",
            "Selu", "Softplus", "Softsign",
            // issue-13 families
            "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Bernoulli", "Cos", "Cosh", "Det",
            "EyeLike", "GlobalLpPool", "GRU", "LpNormalization", "LpPool", "LSTM", "MaxRoiPool",
            "MaxUnpool", "Mish", "Multinomial", "NegativeLogLikelihoodLoss", "RandomNormal",
            "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Round", "RNN", "RoiAlign",
            "Sin", "Sinh", "Tan", "ThresholdedRelu", "GridSample"}},
      {23, {"Cast", "Constant", "ConstantOfShape", "Flatten", "Identity", "Pad", "Reshape",
            "Shape", "Squeeze", "Transpose", "Unsqueeze",
            // issue-13 families
            "CastLike", "DequantizeLinear", "If", "Loop", "QuantizeLinear", "Scan", "Size"}},
  };
  return *changes;
}

// The since-version the table gives at `opset`, 0 when none.
int64_t TableVersion(OpKind kind, int64_t opset) {
  int64_t resolved = 0;
  for (int64_t v : OpSinceVersions(kind)) {
    if (v <= opset) resolved = v;
  }
  return resolved;
}

std::vector<OpKind> AllKinds() {
  std::vector<OpKind> kinds;
  for (int k = 1; k < static_cast<int>(OpKind::kCount); ++k) kinds.push_back(static_cast<OpKind>(k));
  return kinds;
}

TEST(OpVersionsTest, InstalledOnnxIsTheVersionThisTestAssumes) {
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  ASSERT_EQ(ranges.at(onnx::ONNX_DOMAIN).second, kInstalledOnnxMaxOpset);
}

TEST(OpVersionsTest, MatchesTheOnnxSchemaRegistryForOpsets1To17) {
  for (OpKind kind : AllKinds()) {
    const std::string name = OpKindName(kind);
    for (int64_t opset = 1; opset <= kInstalledOnnxMaxOpset; ++opset) {
      const onnx::OpSchema* schema =
          onnx::OpSchemaRegistry::Schema(name, static_cast<int>(opset), onnx::ONNX_DOMAIN);
      const int64_t expected = schema ? schema->SinceVersion() : 0;
      EXPECT_EQ(TableVersion(kind, opset), expected) << name << " at opset " << opset;

      StatusOr<int64_t> resolved = ResolveOpVersion(kind, opset);
      if (resolved.ok()) {
        EXPECT_EQ(*resolved, expected) << name << " at opset " << opset;
      } else if (expected == 0) {
        EXPECT_EQ(resolved.status().code(), StatusCode::kInvalidModel);
        EXPECT_EQ(resolved.status().message().rfind(name + " does not exist in opset " +
                                                        std::to_string(opset),
                                                    0),
                  0u)
            << resolved.status().message();
      } else {
        // Exists in ONNX, but a version bnfold refuses as too old.
        EXPECT_EQ(resolved.status().code(), StatusCode::kUnsupported) << name << " " << opset;
        EXPECT_EQ(resolved.status().message().rfind(
                      name + "-" + std::to_string(expected) + " (opset " + std::to_string(opset) +
                          ") is older than bnfold implements",
                      0),
                  0u)
            << resolved.status().message();
      }
    }
  }
}

TEST(OpVersionsTest, MatchesTheOnnxOperatorSetsForOpsets18To23) {
  for (OpKind kind : AllKinds()) {
    const std::string name = OpKindName(kind);
    int64_t expected = TableVersion(kind, kInstalledOnnxMaxOpset);
    for (int64_t opset = kInstalledOnnxMaxOpset + 1; opset <= kMaxKnownOpset; ++opset) {
      if (ChangesAfter17().at(opset).count(name)) expected = opset;
      StatusOr<int64_t> resolved = ResolveOpVersion(kind, opset);
      if (expected == 0) {  // an op added after opset 17 (Gelu, Mish...), not yet here
        EXPECT_FALSE(resolved.ok()) << name << " at opset " << opset;
        continue;
      }
      ASSERT_TRUE(resolved.ok()) << name << ": " << resolved.status().ToString();
      EXPECT_EQ(*resolved, expected) << name << " at opset " << opset;
    }
  }
  // Every op named in the lists is one bnfold knows (no typo hides a change).
  for (const auto& [opset, ops] : ChangesAfter17()) {
    for (const std::string& op : ops) {
      EXPECT_NE(OpKindFromName("", op), OpKind::kUnknown) << op << " in opset " << opset;
    }
  }
}

TEST(OpVersionsTest, VersionsAreStrictlyAscending) {
  for (OpKind kind : AllKinds()) {
    const std::vector<int64_t>& versions = OpSinceVersions(kind);
    ASSERT_FALSE(versions.empty()) << OpKindName(kind);
    for (size_t i = 1; i < versions.size(); ++i) {
      EXPECT_LT(versions[i - 1], versions[i]) << OpKindName(kind);
    }
    EXPECT_LE(versions.back(), kMaxKnownOpset);
  }
  EXPECT_TRUE(OpSinceVersions(OpKind::kUnknown).empty());
}

TEST(OpVersionsTest, RefusesOpsetsNewerThanKnown) {
  StatusOr<int64_t> resolved = ResolveOpVersion(OpKind::kRelu, kMaxKnownOpset + 1);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(resolved.status().message(), "opset 24 is newer than the newest bnfold knows (23)");
}

TEST(OpVersionsTest, RefusesOpsBeforeTheyExist) {
  EXPECT_EQ(ResolveOpVersion(OpKind::kHardSwish, 13).status().message(),
            "HardSwish does not exist in opset 13 (it was added in opset 14)");
}

TEST(OpVersionsTest, RefusesVersionsOlderThanImplementedWithTheReason) {
  // Same op name, different meaning: these early versions are refused.
  const std::map<OpKind, int64_t> oldest = {
      {OpKind::kCast, 6},    {OpKind::kConcat, 4}, {OpKind::kPad, 2},
      {OpKind::kReshape, 5}, {OpKind::kSplit, 2},  {OpKind::kTile, 6},
      {OpKind::kUpsample, 7},
  };
  for (const auto& [kind, first_ok] : oldest) {
    const std::string name = OpKindName(kind);
    StatusOr<int64_t> too_old = ResolveOpVersion(kind, first_ok - 1);
    ASSERT_FALSE(too_old.ok()) << name;
    EXPECT_EQ(too_old.status().code(), StatusCode::kUnsupported);
    EXPECT_EQ(too_old.status().message(),
              name + "-1 (opset " + std::to_string(first_ok - 1) +
                  ") is older than bnfold implements: " + name + " is supported from opset " +
                  std::to_string(first_ok));
    EXPECT_TRUE(ResolveOpVersion(kind, first_ok).ok()) << name;
  }
  // Ops whose first version means what later ones do stay accepted from
  // opset 1: the conformance suite has opset-1 models of these.
  for (OpKind kind : {OpKind::kGlobalAveragePool, OpKind::kGlobalMaxPool, OpKind::kSoftplus,
                      OpKind::kSoftsign, OpKind::kConv, OpKind::kRelu, OpKind::kAdd,
                      OpKind::kBatchNormalization, OpKind::kSlice}) {
    EXPECT_EQ(*ResolveOpVersion(kind, 1), 1) << OpKindName(kind);
  }
}

}  // namespace
}  // namespace bnfold::ir
