// Every op the backend has a kernel for also has a type rule, so that the
// importer's own type propagation covers every op a model can run.
#include "runtime/backend/onednn/kernel_registry.h"

#include <gtest/gtest.h>

#include "runtime/ir/op_schema.h"

namespace bnfold::onednn {
namespace {

TEST(KernelRegistryTest, EveryRunnableOpHasATypeRule) {
  int runnable = 0;
  for (int k = 1; k < static_cast<int>(ir::OpKind::kCount); ++k) {
    const ir::OpKind kind = static_cast<ir::OpKind>(k);
    if (KernelRegistry::Global().Find(kind) == nullptr) continue;
    ++runnable;
    EXPECT_NE(ir::FindTypeRule(kind), nullptr)
        << ir::OpKindName(kind) << " has a kernel but no row in runtime/ir/op_rules/";
  }
  // The core runtime alone runs 69 ops.
  EXPECT_GE(runnable, 69);
}

TEST(KernelRegistryTest, UnknownOpsHaveNoKernel) {
  EXPECT_EQ(KernelRegistry::Global().Find(ir::OpKind::kUnknown), nullptr);
}

}  // namespace
}  // namespace bnfold::onednn
