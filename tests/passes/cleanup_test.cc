// cleanup: Identity/Dropout bypass keeping graph names, dead nodes and
// unused initializers.
#include "passes/cleanup.h"

#include <gtest/gtest.h>

#include "tests/passes/fold_test_util.h"
#include "tests/passes/test_models.h"

namespace bnfold::passes::testing {
namespace {

const std::vector<std::string> kCleanup = {"cleanup"};

TEST(Cleanup, IdentityInsideTheGraphIsBypassed) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3] X) => (float Y) {\n"
              "  A = Relu (X)\n  B = Identity (A)\n  Y = Relu (B)\n}\n";
  FoldResult r = Fold(spec, kCleanup);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Identity"), 0);
  EXPECT_EQ(FindNode(*r.after, "Y")->input(0)->name(), "A");
  EXPECT_EQ(r.after->FindValue("B"), nullptr);
  EXPECT_LT(CompareGraphs(*r.before, *r.after), 1e-12);
}

TEST(Cleanup, IdentityFeedingAGraphOutputRenamesItsProducer) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3] X) => (float Y, float Z) {\n"
              "  A = Relu (X)\n  Y = Identity (A)\n  Z = Sigmoid (A)\n}\n";
  FoldResult r = Fold(spec, kCleanup);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Identity"), 0);
  ASSERT_EQ(r.after->outputs()[0]->name(), "Y");
  EXPECT_EQ(r.after->outputs()[0]->producer(), FindNode(*r.after, "A"));
  // The other reader of A now reads Y, the same data.
  EXPECT_EQ(FindNode(*r.after, "Z")->input(0)->name(), "Y");
  EXPECT_EQ(r.after->FindValue("A"), nullptr);
}

TEST(Cleanup, IdentityFromAGraphInputToAGraphOutputIsKept) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3] X) => (float Y) {\n  Y = Identity (X)\n}\n";
  FoldResult r = Fold(spec, kCleanup);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_TRUE(HasNote(r.report, "exposes the graph input or constant 'X' as graph output 'Y'"));
}

TEST(Cleanup, IdentityBetweenTwoGraphOutputsIsKept) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3] X) => (float A, float Y) {\n"
              "  A = Relu (X)\n  Y = Identity (A)\n}\n";
  FoldResult r = Fold(spec, kCleanup);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(Fingerprint(*r.before), Fingerprint(*r.after));
  EXPECT_TRUE(HasNote(r.report, "is itself a graph output"));
}

TEST(Cleanup, InferenceDropoutIsBypassedAtEveryOpset) {
  for (const auto& [opset, attrs] : std::vector<std::pair<int, std::string>>{
           {6, " <is_test = 1>"}, {7, ""}, {10, " <ratio = 0.3>"}, {13, ""}}) {
    ModelSpec spec;
    spec.text = Header(8, opset) + "g (float[2,3] X) => (float[2,3] Y) {\n"
                "  A = Relu (X)\n  B = Dropout" + attrs + " (A)\n  Y = Relu (B)\n}\n";
    FoldResult r = Fold(spec, kCleanup);
    ASSERT_TRUE(r.after) << opset;
    EXPECT_EQ(CountOps(*r.after, "Dropout"), 0) << opset;
    EXPECT_EQ(FindNode(*r.after, "Y")->input(0)->name(), "A") << opset;
  }
}

TEST(Cleanup, DropoutWithAConstantFalseTrainingModeIsBypassed) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3] X) => (float Y) {\n"
              "  A = Relu (X)\n  F = Constant <value = bool {0}> ()\n"
              "  B = Dropout (A, Ratio, F)\n  Y = Relu (B)\n}\n";
  spec.inits = {{"Ratio", {}, 0.5, 0.5}};
  FoldResult r = Fold(spec, kCleanup);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 2u);  // the Constant and the ratio go too
  EXPECT_EQ(r.after->FindValue("Ratio"), nullptr);
}

void ExpectDropoutKept(const std::string& text, const std::vector<Init>& inits,
                       const std::string& reason) {
  ModelSpec spec;
  spec.text = text;
  spec.inits = inits;
  FoldResult r = Fold(spec, kCleanup);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(CountOps(*r.after, "Dropout"), 1);
  EXPECT_TRUE(HasNote(r.report, reason)) << "no note with: " << reason;
}

TEST(Cleanup, TrainingDropoutIsKept) {
  ExpectDropoutKept(Header(8, 6) + "g (float[2,3] X) => (float[2,3] Y) {\n"
                    "  A = Relu (X)\n  B = Dropout (A)\n  Y = Relu (B)\n}\n",
                    {}, "is_test = 0");
  ExpectDropoutKept(Header(8, 13) + "g (float[2,3] X) => (float Y) {\n"
                    "  A = Relu (X)\n  T = Constant <value = bool {1}> ()\n"
                    "  B = Dropout (A, Ratio, T)\n  Y = Relu (B)\n}\n",
                    {{"Ratio", {}, 0.5, 0.5}}, "is not false");
  ExpectDropoutKept(Header(8, 13) + "g (float[2,3] X, bool T) => (float Y) {\n"
                    "  A = Relu (X)\n  B = Dropout (A, Ratio, T)\n  Y = Relu (B)\n}\n",
                    {{"Ratio", {}, 0.5, 0.5}}, "is not a constant");
}

TEST(Cleanup, DropoutWhoseMaskIsReadIsKept) {
  ExpectDropoutKept(Header(8, 13) + "g (float[2,3] X) => (float Y, bool M) {\n"
                    "  A = Relu (X)\n  B, M = Dropout (A)\n  Y = Relu (B)\n}\n",
                    {}, "mask output 'M' is used");
}

TEST(Cleanup, DeadNodesAndUnusedInitializersGoGraphInputsStay) {
  ModelSpec spec;
  spec.text = Header(8, 13) + "g (float[2,3] X, float[3] Fed) => (float Y) {\n"
              "  Y = Relu (X)\n  D1 = Add (X, Unused)\n  D2 = Relu (D1)\n}\n";
  spec.inits = {{"Unused", {3}}, {"Fed", {3}}, {"Lonely", {2}}};
  FoldResult r = Fold(spec, kCleanup);
  ASSERT_TRUE(r.after);
  EXPECT_EQ(r.after->num_nodes(), 1u);
  EXPECT_EQ(r.after->FindValue("Unused"), nullptr);
  EXPECT_EQ(r.after->FindValue("Lonely"), nullptr);
  EXPECT_EQ(r.after->FindValue("D1"), nullptr);
  EXPECT_NE(r.after->FindValue("Fed"), nullptr);  // an overridable graph input
  EXPECT_EQ(r.after->inputs().size(), 2u);
  EXPECT_TRUE(HasNote(r.report, "removed 0 Identity/Dropout, 2 other nodes, 2 unused constants"));
}

}  // namespace
}  // namespace bnfold::passes::testing
