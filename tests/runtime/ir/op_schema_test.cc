// The op-schema table has a type rule for every op bnfold runs.
#include "runtime/ir/op_schema.h"

#include <gtest/gtest.h>

namespace bnfold::ir {
namespace {

TEST(OpSchemaTest, EveryCoreOpHasATypeRule) {
  // The families added by the operator-coverage work get their rows with
  // their kernels; the backend's registry test checks that pairing.
#define BNFOLD_EXPECT_RULE(name) \
  EXPECT_NE(FindTypeRule(OpKind::k##name), nullptr) << #name " has no row in op_rules/";
  BNFOLD_OPS_CORE(BNFOLD_EXPECT_RULE)
#undef BNFOLD_EXPECT_RULE
  EXPECT_EQ(FindTypeRule(OpKind::kUnknown), nullptr);
}

TEST(OpSchemaTest, BroadcastAndProductOfSymbolicDims) {
  const Dim n{-1, "N"}, m{-1, "M"}, unknown{};
  StatusOr<StaticShape> s = BroadcastShapes({n, FixedDim(1), FixedDim(5)}, {FixedDim(3), FixedDim(1)});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].param, "N");
  EXPECT_EQ((*s)[1].value, 3);
  EXPECT_EQ((*s)[2].value, 5);
  s = BroadcastShapes({n}, {m});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)[0].is_fixed());
  EXPECT_TRUE((*s)[0].param.empty()) << "N or M: either may be 1";
  EXPECT_EQ((*BroadcastShapes({unknown}, {FixedDim(4)}))[0].value, 4);
  EXPECT_FALSE(BroadcastShapes({FixedDim(2)}, {FixedDim(3)}).ok());
  EXPECT_EQ(DimProduct({n, FixedDim(1), FixedDim(1)}, 0, 3).param, "N");
  EXPECT_EQ(DimProduct({FixedDim(2), FixedDim(3)}, 0, 2).value, 6);
  EXPECT_FALSE(DimProduct({n, FixedDim(2)}, 0, 2).is_fixed());
  EXPECT_EQ(DimProduct({unknown, FixedDim(0)}, 0, 2).value, 0);
  EXPECT_FALSE(CheckedDim(__int128{1} << 70).is_fixed());
}

}  // namespace
}  // namespace bnfold::ir
