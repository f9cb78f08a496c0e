// The Einsum equation parser (kernels/support/einsum_equation.h): labels
// per axis written out by hand from the ONNX Einsum definition.
#include "runtime/backend/onednn/kernels/support/einsum_equation.h"

#include <gtest/gtest.h>

namespace bnfold::onednn {
namespace {

// 'A'-'Z' are labels 0-25, 'a'-'z' 26-51.
constexpr int L(char c) { return c >= 'a' ? c - 'a' + 26 : c - 'A'; }
constexpr int kE = kEinsumEllipsisLabel;

using Labels = std::vector<int>;

TEST(EinsumEquationTest, ExplicitOutputKeepsItsOrder) {
  StatusOr<EinsumEquation> eq = ParseEinsum("ij, jk -> ki", {{2, 3}, {3, 4}});
  ASSERT_TRUE(eq.ok()) << eq.status().message();
  EXPECT_EQ(eq->inputs, (std::vector<Labels>{{L('i'), L('j')}, {L('j'), L('k')}}));
  EXPECT_EQ(eq->output, (Labels{L('k'), L('i')}));
}

TEST(EinsumEquationTest, ImplicitOutputIsLettersUsedOnceUpperCaseFirst) {
  // j appears twice (summed); b, Z and a once: sorted Z (25), a (26), b (27).
  StatusOr<EinsumEquation> eq = ParseEinsum("bj,jZa", {{2, 3}, {3, 4, 5}});
  ASSERT_TRUE(eq.ok()) << eq.status().message();
  EXPECT_EQ(eq->output, (Labels{L('Z'), L('a'), L('b')}));
  // A trace: the repeated label is summed, the output is a scalar.
  StatusOr<EinsumEquation> trace = ParseEinsum("ii", {{3, 3}});
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->inputs[0], (Labels{L('i'), L('i')}));
  EXPECT_TRUE(trace->output.empty());
}

TEST(EinsumEquationTest, EllipsesAlignRightAcrossInputs) {
  // Input 0's ellipsis is 2 axes, input 1's is 1: it takes the last label.
  StatusOr<EinsumEquation> eq = ParseEinsum("...ij,...jk->...ik", {{5, 2, 2, 3}, {2, 3, 4}});
  ASSERT_TRUE(eq.ok()) << eq.status().message();
  EXPECT_EQ(eq->inputs[0], (Labels{kE, kE + 1, L('i'), L('j')}));
  EXPECT_EQ(eq->inputs[1], (Labels{kE + 1, L('j'), L('k')}));
  EXPECT_EQ(eq->output, (Labels{kE, kE + 1, L('i'), L('k')}));
  // Implicit output: the ellipsis axes come first.
  StatusOr<EinsumEquation> implicit = ParseEinsum("...ba", {{7, 2, 3}});
  ASSERT_TRUE(implicit.ok());
  EXPECT_EQ(implicit->output, (Labels{kE, L('a'), L('b')}));
  // An empty ellipsis is allowed.
  StatusOr<EinsumEquation> empty = ParseEinsum("...i->i", {{4}});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->inputs[0], (Labels{L('i')}));
}

TEST(EinsumEquationTest, RefusesMalformedEquations) {
  const std::vector<std::pair<std::string, std::vector<std::vector<int64_t>>>> bad = {
      {"ijk->i", {{2, 3}}},        // more letters than axes
      {"i->i", {{2, 3}}},          // fewer letters, no ellipsis
      {"ij,jk", {{2, 3}}},         // two terms, one input
      {"i1->i", {{2, 3}}},         // a character that is no label
      {"......i", {{2, 3, 4}}},    // two ellipses
      {"ij->ii", {{2, 3}}},        // the output repeats a label
      {"ij->k", {{2, 3}}},         // an output label no input has
  };
  for (const auto& [equation, dims] : bad) {
    EXPECT_FALSE(ParseEinsum(equation, dims).ok()) << equation;
  }
}

}  // namespace
}  // namespace bnfold::onednn
