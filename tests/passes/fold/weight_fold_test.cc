// The fold's element loops against a per-element reference: each element's
// channels from its multi-index by the ONNX layout formulas, its value read
// and rounded through Tensor::GetAsDouble / SetFromDouble. Results must be
// bit-identical (same arithmetic in double, same rounding).
#include "passes/fold/weight_fold.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

namespace bnfold::passes {
namespace {

struct WeightCase {
  std::string name;
  ir::OpKind op;
  std::vector<int64_t> shape;
  int64_t group = 1;
  bool trans_b = false;
  DataType dtype = DataType::kFloat;
};

std::ostream& operator<<(std::ostream& os, const WeightCase& c) { return os << c.name; }

// A weight whose element i is a distinct value in about [-2, 2].
ir::ConstTensorPtr MakeWeight(DataType dtype, const std::vector<int64_t>& shape) {
  Tensor t = *Tensor::Allocate(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.SetFromDouble(i, 2.0 * std::sin(0.7 * static_cast<double>(i) + 0.3));
  }
  return std::make_shared<const Tensor>(std::move(t));
}

std::vector<double> Values(int64_t n, double offset) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = offset + 0.37 * std::cos(1.3 * static_cast<double>(i));
  return v;
}

// A graph holding one linear op of `c` on a run-time X.
class OneOpGraph {
 public:
  explicit OneOpGraph(const WeightCase& c, ir::ConstTensorPtr weight) {
    ir::Value* x = *graph_.AddValue("X");
    graph_.AddGraphInput(x);
    ir::Value* w = *graph_.AddInitializer("W", std::move(weight));
    ir::Value* y = *graph_.AddValue("Y");
    node_ = *graph_.AddNode(c.op, ir::OpKindName(c.op), "", "op", 13, {x, w}, {y});
    if (c.op == ir::OpKind::kConv || c.op == ir::OpKind::kConvTranspose) SetInt("group", c.group);
    if (c.op == ir::OpKind::kGemm) SetInt("transB", c.trans_b ? 1 : 0);
  }
  LinearOpInfo Info() {
    MatchOr<LinearOpInfo> info = MatchLinearOp(*node_);
    EXPECT_TRUE(info.ok()) << info.reason();
    return *info;
  }

  ir::ConstTensorPtr Weight() const { return node_->input(1)->constant_data(); }

  // Replaces W by `folded` as the fold's rewrite does; returns the new W.
  ir::ConstTensorPtr Apply(const FoldedWeight& folded) {
    LinearRewrite rewrite;
    rewrite.constants.push_back({node_, 1, folded.data, "W_folded", folded.rescale});
    StatusOr<PreparedRewrite> prepared = PrepareLinearRewrite(graph_, rewrite);
    EXPECT_TRUE(prepared.ok()) << prepared.status().message();
    if (!prepared.ok()) return nullptr;
    CommitLinearRewrite(graph_, rewrite, *prepared);
    return Weight();
  }

 private:
  void SetInt(const std::string& name, int64_t value) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kInt;
    a.i = value;
    node_->SetAttribute(std::move(a));
  }

  ir::Graph graph_;
  ir::Node* node_ = nullptr;
};

// The input and output channel of element `i`, from its multi-index.
struct Channels {
  int64_t in;
  int64_t out;
};
Channels ChannelsOf(const WeightCase& c, int64_t i) {
  std::vector<int64_t> index(c.shape.size());
  for (size_t d = c.shape.size(); d-- > 0;) {
    index[d] = i % c.shape[d];
    i /= c.shape[d];
  }
  switch (c.op) {
    case ir::OpKind::kConv: {  // [M, C/g, k...]
      const int64_t per_group_out = c.shape[0] / c.group;
      return {(index[0] / per_group_out) * c.shape[1] + index[1], index[0]};
    }
    case ir::OpKind::kConvTranspose: {  // [C, M/g, k...]
      const int64_t per_group_in = c.shape[0] / c.group;
      return {index[0], (index[0] / per_group_in) * c.shape[1] + index[1]};
    }
    case ir::OpKind::kGemm:
      if (c.trans_b) return {index[1], index[0]};  // [N, K]
      return {index[0], index[1]};
    case ir::OpKind::kMatMul:
      return {index[0], index[1]};  // [K, N]
    default:
      break;
  }
  return {-1, -1};
}

void ExpectSameBits(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const size_t size = DataTypeSize(want.dtype());
    ASSERT_EQ(std::memcmp(static_cast<const char*>(got.data()) + i * size,
                          static_cast<const char*>(want.data()) + i * size, size),
              0)
        << "element " << i << ": " << got.GetAsDouble(i) << " vs " << want.GetAsDouble(i);
  }
}

class WeightFoldTest : public ::testing::TestWithParam<WeightCase> {};

// The fold writes W' into W's own buffer when nothing else reads W, and
// into a new tensor (leaving W as it was) when another holder shares it.
const bool kInPlaceModes[] = {false, true};

// One fold of case `c`'s weight: alone in its graph, or shared with a
// second holder that must see it unchanged.
class FoldOfOneWeight {
 public:
  FoldOfOneWeight(const WeightCase& c, bool in_place)
      : in_place_(in_place), graph_(c, MakeWeight(c.dtype, c.shape)),
        other_holder_(in_place ? nullptr : graph_.Weight()), buffer_(graph_.Weight()->data()),
        info_(graph_.Info()) {}

  const LinearOpInfo& info() const { return info_; }

  // Applies `folded` and expects W' bit-identical to `want`, in W's buffer
  // exactly when in place, and the shared W equal to `original`.
  void ExpectApplied(const FoldedWeight& folded, const Tensor& want, const Tensor& original) {
    EXPECT_EQ(folded.data == nullptr, in_place_);
    const ir::ConstTensorPtr result = graph_.Apply(folded);
    ASSERT_NE(result, nullptr);
    EXPECT_EQ(result->data() == buffer_, in_place_);
    ExpectSameBits(*result, want);
    if (other_holder_) ExpectSameBits(*other_holder_, original);
  }

 private:
  bool in_place_;
  OneOpGraph graph_;
  ir::ConstTensorPtr other_holder_;
  const void* buffer_;
  LinearOpInfo info_;
};

TEST_P(WeightFoldTest, OutputChannelsMatchThePerElementFormula) {
  const WeightCase& c = GetParam();
  const ir::ConstTensorPtr original = MakeWeight(c.dtype, c.shape);
  for (bool in_place : kInPlaceModes) {
    SCOPED_TRACE(in_place ? "in place" : "copy");
    FoldOfOneWeight fold(c, in_place);
    const std::vector<double> scale = Values(fold.info().out_channels, 0.9);
    MatchOr<FoldedWeight> got = ScaleOutputChannels(fold.info(), scale, "weight");
    ASSERT_TRUE(got.ok()) << got.reason();

    Tensor want = *Tensor::Allocate(c.dtype, c.shape);
    for (int64_t i = 0; i < want.num_elements(); ++i) {
      want.SetFromDouble(i, original->GetAsDouble(i) * scale[ChannelsOf(c, i).out]);
    }
    fold.ExpectApplied(*got, want, *original);
  }
}

TEST_P(WeightFoldTest, InputChannelsAndTheShiftMatchThePerElementFormula) {
  const WeightCase& c = GetParam();
  const ir::ConstTensorPtr original = MakeWeight(c.dtype, c.shape);
  for (bool in_place : kInPlaceModes) {
    SCOPED_TRACE(in_place ? "in place" : "copy");
    FoldOfOneWeight fold(c, in_place);
    const LinearOpInfo& info = fold.info();
    const std::vector<double> scale = Values(info.in_channels, 1.1);
    const std::vector<double> shift = Values(info.in_channels, -0.2);
    // ConvTranspose takes no shift (the fold refuses it before scaling).
    const bool with_shift = c.op != ir::OpKind::kConvTranspose;

    MatchOr<InputScaledWeight> got =
        ScaleInputChannels(info, scale, with_shift ? &shift : nullptr, "weight");
    ASSERT_TRUE(got.ok()) << got.reason();

    Tensor want = *Tensor::Allocate(c.dtype, c.shape);
    std::vector<double> want_shift(static_cast<size_t>(info.out_channels), 0.0);
    for (int64_t i = 0; i < want.num_elements(); ++i) {
      const Channels ch = ChannelsOf(c, i);
      want.SetFromDouble(i, original->GetAsDouble(i) * scale[ch.in]);
      if (with_shift) want_shift[ch.out] += original->GetAsDouble(i) * shift[ch.in];
    }
    fold.ExpectApplied(got->weight, want, *original);
    if (!with_shift) {
      EXPECT_TRUE(got->shift_out.empty());
      continue;
    }
    ASSERT_EQ(got->shift_out.size(), want_shift.size());
    for (size_t o = 0; o < want_shift.size(); ++o) {
      EXPECT_EQ(got->shift_out[o], want_shift[o]) << "output channel " << o;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, WeightFoldTest,
    ::testing::Values(
        WeightCase{"Conv", ir::OpKind::kConv, {4, 3, 3, 3}},
        WeightCase{"ConvPointwise", ir::OpKind::kConv, {5, 6, 1, 1}},
        WeightCase{"ConvGroup2", ir::OpKind::kConv, {6, 2, 3, 2}, 2},
        WeightCase{"ConvDepthwise", ir::OpKind::kConv, {4, 1, 3, 3}, 4},
        WeightCase{"Conv1D", ir::OpKind::kConv, {3, 2, 5}},
        WeightCase{"ConvTranspose", ir::OpKind::kConvTranspose, {4, 3, 3, 3}},
        WeightCase{"ConvTransposeGroup2", ir::OpKind::kConvTranspose, {4, 3, 2, 2}, 2},
        WeightCase{"ConvTransposeDepthwise", ir::OpKind::kConvTranspose, {3, 1, 2, 2}, 3},
        WeightCase{"Gemm", ir::OpKind::kGemm, {5, 7}},
        WeightCase{"GemmTransB", ir::OpKind::kGemm, {7, 5}, 1, true},
        WeightCase{"MatMul", ir::OpKind::kMatMul, {6, 4}},
        WeightCase{"ConvDouble", ir::OpKind::kConv, {4, 2, 3, 3}, 1, false, DataType::kDouble},
        WeightCase{"ConvFloat16", ir::OpKind::kConv, {4, 2, 3, 3}, 2, false, DataType::kFloat16},
        WeightCase{"GemmBfloat16", ir::OpKind::kGemm, {5, 3}, 1, true, DataType::kBfloat16},
        WeightCase{"MatMulFloat16", ir::OpKind::kMatMul, {3, 8}, 1, false, DataType::kFloat16}),
    [](const auto& info) { return info.param.name; });

TEST(WeightFold, NamesTheFirstElementThatOverflows) {
  // Output channel 1 is elements 4..7; 1000 * 100 is beyond float16's 65504.
  const WeightCase c{"", ir::OpKind::kConv, {2, 1, 2, 2}, 1, false, DataType::kFloat16};
  Tensor w = *Tensor::Allocate(DataType::kFloat16, c.shape);
  for (int64_t i = 0; i < 8; ++i) w.SetFromDouble(i, i == 6 || i == 7 ? 1000.0 : 1.0);
  OneOpGraph graph(c, std::make_shared<const Tensor>(std::move(w)));
  MatchOr<FoldedWeight> folded =
      ScaleOutputChannels(graph.Info(), {1.0, 100.0}, "weight of Conv 'op'");
  ASSERT_FALSE(folded.ok());
  EXPECT_EQ(folded.reason(),
            "the folded weight of Conv 'op' would hold a non-finite value (100000 at element 6 "
            "in float16)");
  // The graph is W's only holder, so the match only checked: W is as it was.
  EXPECT_EQ(graph.Weight()->GetAsDouble(6), 1000.0);
  EXPECT_EQ(graph.Weight()->GetAsDouble(3), 1.0);
}

TEST(WeightFold, ChecksEachElementWhenTheBoundWouldOverflow) {
  // In place the match first bounds max|W| * max|scale|: here 1e30 * 1e10 is
  // beyond float, yet no element is (1e30 * 1, 1 * 1e10): the exact check
  // must run and let the fold through.
  const WeightCase c{"", ir::OpKind::kConv, {2, 1, 1, 1}};
  Tensor w = *Tensor::Allocate(DataType::kFloat, c.shape);
  w.data_as<float>()[0] = 1e30f;
  w.data_as<float>()[1] = 1.0f;
  OneOpGraph graph(c, std::make_shared<const Tensor>(std::move(w)));
  MatchOr<FoldedWeight> folded = ScaleOutputChannels(graph.Info(), {1.0, 1e10}, "weight");
  ASSERT_TRUE(folded.ok()) << folded.reason();
  EXPECT_EQ(folded->data, nullptr);  // in place
  const ir::ConstTensorPtr result = graph.Apply(*folded);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(result->data_as<float>()[0], 1e30f);
  EXPECT_EQ(result->data_as<float>()[1], static_cast<float>(1e10));
}

TEST(WeightFold, EmptyWeightsStayEmpty) {
  const WeightCase c{"", ir::OpKind::kConvTranspose, {4, 0, 3, 3}, 2};
  OneOpGraph graph(c, MakeWeight(DataType::kFloat, c.shape));
  MatchOr<FoldedWeight> out = ScaleOutputChannels(graph.Info(), {}, "weight");
  ASSERT_TRUE(out.ok()) << out.reason();
  MatchOr<InputScaledWeight> in =
      ScaleInputChannels(graph.Info(), Values(4, 1.0), nullptr, "weight");
  ASSERT_TRUE(in.ok()) << in.reason();
  const ir::ConstTensorPtr folded = graph.Apply(*out);
  ASSERT_NE(folded, nullptr);
  EXPECT_EQ(folded->shape(), c.shape);
  EXPECT_EQ(folded->num_elements(), 0);
}

}  // namespace
}  // namespace bnfold::passes
