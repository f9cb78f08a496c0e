// Typed attributes (attrs.h): ONNX's defaults per opset, errors for
// attributes of the wrong type, and GetBatchNormMode, the one answer to
// "is this BatchNormalization in training mode", for every opset's rule.
#include "runtime/ir/attrs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/ir/graph.h"

namespace bnfold::ir {
namespace {

Attribute IntAttribute(const std::string& name, int64_t value) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = value;
  return a;
}

Attribute FloatAttribute(const std::string& name, float value) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kFloat;
  a.f = value;
  return a;
}

Attribute IntsAttribute(const std::string& name, std::vector<int64_t> value) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInts;
  a.ints = std::move(value);
  return a;
}

class AttrsTest : public ::testing::Test {
 protected:
  // A node of `kind` at `opset` with `outputs` outputs ("" = omitted).
  Node* Make(OpKind kind, int64_t opset, const std::vector<std::string>& outputs = {"y"}) {
    std::vector<Value*> outs;
    for (const std::string& name : outputs) {
      outs.push_back(name.empty() ? nullptr : *graph_.AddValue(name + std::to_string(next_)));
    }
    ++next_;
    return *graph_.AddNode(kind, OpKindName(kind), "", "n", opset, {}, outs);
  }

  Graph graph_;
  int next_ = 0;
};

TEST_F(AttrsTest, DefaultsAreOnnxs) {
  const Node* bn = Make(OpKind::kBatchNormalization, 15);
  EXPECT_FLOAT_EQ(bn->attrs<BatchNormAttrs>().epsilon, 1e-5f);
  EXPECT_FLOAT_EQ(bn->attrs<BatchNormAttrs>().momentum, 0.9f);
  EXPECT_TRUE(bn->attrs<BatchNormAttrs>().spatial);
  const Node* gemm = Make(OpKind::kGemm, 13);
  EXPECT_FLOAT_EQ(gemm->attrs<GemmAttrs>().alpha, 1.0f);
  EXPECT_FLOAT_EQ(gemm->attrs<GemmAttrs>().beta, 1.0f);
  EXPECT_FALSE(gemm->attrs<GemmAttrs>().trans_b);
  EXPECT_EQ(Make(OpKind::kFlatten, 13)->attrs<FlattenAttrs>().axis, 1);
  EXPECT_FLOAT_EQ(Make(OpKind::kLeakyRelu, 13)->attrs<ActivationAttrs>().alpha, 0.01f);
  EXPECT_FLOAT_EQ(Make(OpKind::kElu, 13)->attrs<ActivationAttrs>().alpha, 1.0f);
  EXPECT_FLOAT_EQ(Make(OpKind::kHardSigmoid, 13)->attrs<ActivationAttrs>().beta, 0.5f);
  EXPECT_FLOAT_EQ(Make(OpKind::kDropout, 10)->attrs<DropoutAttrs>().ratio, 0.5f);
  EXPECT_FALSE(Make(OpKind::kTranspose, 13)->attrs<TransposeAttrs>().perm.has_value());
  const ConvAttrs& conv = Make(OpKind::kConv, 11)->attrs<ConvAttrs>();
  EXPECT_EQ(conv.group, 1);
  EXPECT_EQ(conv.stride(1), 1);
  EXPECT_EQ(conv.dilation(0), 1);
  EXPECT_EQ(conv.pad_end(1, 2), 0);
}

TEST_F(AttrsTest, SetAttributeParsesAgain) {
  Node* conv = Make(OpKind::kConv, 11);
  conv->SetAttribute(IntsAttribute("pads", {1, 2, 3, 4}));
  conv->SetAttribute(IntsAttribute("strides", {2, 1}));
  EXPECT_EQ(conv->attrs<ConvAttrs>().pad_begin(1), 2);
  EXPECT_EQ(conv->attrs<ConvAttrs>().pad_end(0, 2), 3);
  EXPECT_EQ(conv->attrs<ConvAttrs>().stride(0), 2);
  conv->RemoveAttribute("strides");
  EXPECT_EQ(conv->attrs<ConvAttrs>().stride(0), 1);
  // auto_pad decides the padding: explicit pads no longer count.
  Attribute same;
  same.name = "auto_pad";
  same.type = AttrType::kString;
  same.s = "SAME_UPPER";
  conv->SetAttribute(same);
  EXPECT_EQ(conv->attrs<ConvAttrs>().auto_pad, AutoPad::kSameUpper);
  EXPECT_EQ(conv->attrs<ConvAttrs>().pad_begin(1), 0);
}

TEST_F(AttrsTest, WrongTypeOrValueIsAnErrorNamingNodeAndAttribute) {
  Node* bn = Make(OpKind::kBatchNormalization, 15);
  bn->SetAttribute(IntAttribute("epsilon", 1));
  Status s = bn->ParseTypedAttributes();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("BatchNormalization 'n': attribute 'epsilon'"), std::string::npos)
      << s.message();
  Node* conv = Make(OpKind::kConv, 11);
  Attribute pad;
  pad.name = "auto_pad";
  pad.type = AttrType::kString;
  pad.s = "SAME";
  conv->SetAttribute(pad);
  s = conv->ParseTypedAttributes();
  EXPECT_NE(s.message().find("auto_pad 'SAME'"), std::string::npos) << s.message();
}

TEST_F(AttrsTest, AttributesOfOtherOpsetsAreIgnored) {
  Node* bn = Make(OpKind::kBatchNormalization, 15);
  bn->SetAttribute(IntAttribute("is_test", 0));  // an opset-6 attribute
  bn->SetAttribute(IntAttribute("spatial", 0));  // gone since opset 9
  EXPECT_TRUE(bn->ParseTypedAttributes().ok());
  EXPECT_TRUE(bn->attrs<BatchNormAttrs>().spatial);
  EXPECT_FALSE(GetBatchNormMode(*bn).training);
  Node* dropout = Make(OpKind::kDropout, 13);
  dropout->SetAttribute(FloatAttribute("ratio", 0.1f));  // an input since opset 12
  EXPECT_FLOAT_EQ(dropout->attrs<DropoutAttrs>().ratio, 0.5f);
}

// Opsets 1 and 6: is_test, whose default 0 means training.
TEST_F(AttrsTest, BatchNormModeBeforeOpset7IsIsTest) {
  for (int64_t opset : {1, 6}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    Node* bn = Make(OpKind::kBatchNormalization, opset);
    BatchNormMode mode = GetBatchNormMode(*bn);
    EXPECT_TRUE(mode.training);
    EXPECT_NE(mode.reason.find("is_test = 0 (the default)"), std::string::npos) << mode.reason;
    bn->SetAttribute(IntAttribute("is_test", 0));
    EXPECT_TRUE(GetBatchNormMode(*bn).training);
    bn->SetAttribute(IntAttribute("is_test", 1));
    EXPECT_FALSE(GetBatchNormMode(*bn).training);
    EXPECT_EQ(GetBatchNormMode(*bn).reason, "");
  }
}

// Opsets 7 and 9: no attribute; requesting a statistics output selects
// training mode, whatever else the node says.
TEST_F(AttrsTest, BatchNormModeInOpsets7To13IsTheStatisticsOutputs) {
  for (int64_t opset : {7, 9, 13}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    EXPECT_FALSE(GetBatchNormMode(*Make(OpKind::kBatchNormalization, opset)).training);
    Node* with_stats = Make(OpKind::kBatchNormalization, opset, {"y", "", "var"});
    with_stats->SetAttribute(IntAttribute("is_test", 1));  // not an attribute here
    BatchNormMode mode = GetBatchNormMode(*with_stats);
    EXPECT_TRUE(mode.training);
    EXPECT_NE(mode.reason.find("optional output 'var"), std::string::npos) << mode.reason;
    // Omitted optional outputs do not count.
    EXPECT_FALSE(
        GetBatchNormMode(*Make(OpKind::kBatchNormalization, opset, {"y", "", ""})).training);
  }
}

TEST_F(AttrsTest, BatchNormModeFromOpset14IsTrainingMode) {
  Node* bn = Make(OpKind::kBatchNormalization, 14, {"y", "rm", "rv"});
  EXPECT_FALSE(GetBatchNormMode(*bn).training) << "outputs alone do not select it any more";
  bn->SetAttribute(IntAttribute("training_mode", 1));
  EXPECT_TRUE(GetBatchNormMode(*bn).training);
  EXPECT_NE(GetBatchNormMode(*bn).reason.find("training_mode = 1"), std::string::npos);
}

TEST_F(AttrsTest, CloneKeepsTypedAttributes) {
  Node* bn = Make(OpKind::kBatchNormalization, 15);
  bn->SetAttribute(FloatAttribute("epsilon", 1e-3f));
  std::unique_ptr<Graph> copy = graph_.Clone();
  EXPECT_FLOAT_EQ(copy->nodes()[0]->attrs<BatchNormAttrs>().epsilon, 1e-3f);
}

}  // namespace
}  // namespace bnfold::ir
