// Kernels of the vision family (LayerNormalization and
// MeanVarianceNormalization in kernels/normalization.cc) through the public
// Session API (single_node_model.h), against double-precision references:
// the edge cases the ONNX backend suite misses (broadcast Scale/B, other
// element types, a single statistic requested, empty tensors, bad shapes);
// GridSample against ONNX Runtime on every mode, padding and alignment and
// a hand-computed 3-D (opset 20) case; RoiAlign, MaxUnpool,
// GroupNormalization, LpNormalization, LpPool, GlobalLpPool, MaxRoiPool,
// Col2Im and CenterCropPad against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "tests/models/ort_runner.h"
#include "tests/models/output_errors.h"
#include "tests/runtime/backend/kernels/single_node_model.h"
#include "tests/test_util/dependency.h"

namespace bnfold::testing {
namespace {

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << "at " << i;
  }
}

struct LayerNormRef {
  std::vector<double> y, mean, inv;
};

// X as (outer, inner) rows; scale/bias indexed by `scale_at(i)`.
LayerNormRef ReferenceLayerNorm(const std::vector<double>& x, int64_t outer, int64_t inner,
                                const std::vector<double>& scale, const std::vector<double>& bias,
                                double eps) {
  LayerNormRef r;
  for (int64_t o = 0; o < outer; ++o) {
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < inner; ++i) mean += x[o * inner + i];
    mean /= inner;
    for (int64_t i = 0; i < inner; ++i) var += (x[o * inner + i] - mean) * (x[o * inner + i] - mean);
    var /= inner;
    const double inv = 1.0 / std::sqrt(var + eps);
    r.mean.push_back(mean);
    r.inv.push_back(inv);
    for (int64_t i = 0; i < inner; ++i) {
      const double s = scale.size() == 1 ? scale[0] : scale[i % scale.size()];
      const double b = bias.empty() ? 0.0 : bias.size() == 1 ? bias[0] : bias[i % bias.size()];
      r.y.push_back((x[o * inner + i] - mean) * inv * s + b);
    }
  }
  return r;
}

TEST(LayerNormTest, AxisAndStatisticsMatchReference) {
  // axis 1 and -1 of [2, 3, 4], with both statistics (oneDNN training
  // path) and with Y only (inference path).
  const std::vector<int64_t> dims = {2, 3, 4};
  const std::vector<double> x = RandomValues(24, 3);
  for (int64_t axis : {1, -1}) {
    for (bool stats : {true, false}) {
      SCOPED_TRACE("axis " + std::to_string(axis) + (stats ? " with stats" : " Y only"));
      const int64_t inner = axis == 1 ? 12 : 4, outer = 24 / inner;
      const std::vector<int64_t> norm =
          axis == 1 ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{4};
      const std::vector<double> scale = RandomValues(inner, 4), bias = RandomValues(inner, 5);
      SingleNodeModel m("LayerNormalization", 17);
      m.Input("x", DataType::kFloat, dims).Input("s", DataType::kFloat, norm);
      m.Input("b", DataType::kFloat, norm).Output("y", DataType::kFloat, dims);
      std::vector<int64_t> stat_dims = axis == 1 ? std::vector<int64_t>{2, 1, 1}
                                                 : std::vector<int64_t>{2, 3, 1};
      if (stats) m.Output("mean", DataType::kFloat, stat_dims).Output("inv", DataType::kFloat, stat_dims);
      m.IntAttr("axis", axis).FloatAttr("epsilon", 1e-3f);
      StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kFloat, dims, x),
                                                 MakeTensor(DataType::kFloat, norm, scale),
                                                 MakeTensor(DataType::kFloat, norm, bias)});
      ASSERT_TRUE(out.ok()) << out.status().message();
      const LayerNormRef ref = ReferenceLayerNorm(x, outer, inner, scale, bias, 1e-3);
      ExpectNear(ToDoubles((*out)[0]), ref.y, 1e-5);
      if (stats) {
        EXPECT_EQ((*out)[1].shape(), stat_dims);
        ExpectNear(ToDoubles((*out)[1]), ref.mean, 1e-6);
        ExpectNear(ToDoubles((*out)[2]), ref.inv, 1e-5);
      }
    }
  }
}

TEST(LayerNormTest, BroadcastScaleNoBiasAndOneStatistic) {
  // Scale [1, 4] broadcast over the normalized [3, 4], no B, only Mean.
  const std::vector<int64_t> dims = {2, 3, 4};
  const std::vector<double> x = RandomValues(24, 6), scale = {0.5, -1.0, 2.0, 1.5};
  SingleNodeModel m("LayerNormalization", 17);
  m.Input("x", DataType::kFloat, dims).Input("s", DataType::kFloat, {1, 4});
  m.Output("y", DataType::kFloat, dims).Output("mean", DataType::kFloat, {2, 1, 1});
  m.IntAttr("axis", -2);
  StatusOr<std::vector<Tensor>> out =
      m.Run({MakeTensor(DataType::kFloat, dims, x), MakeTensor(DataType::kFloat, {1, 4}, scale)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const LayerNormRef ref = ReferenceLayerNorm(x, 2, 12, scale, {}, 1e-5);
  ExpectNear(ToDoubles((*out)[0]), ref.y, 1e-5);
  ExpectNear(ToDoubles((*out)[1]), ref.mean, 1e-6);
}

TEST(LayerNormTest, DoubleAndFloat16) {
  const std::vector<int64_t> dims = {3, 8};
  const std::vector<double> x = RandomGridValues(24, 7), scale = RandomGridValues(8, 8),
                            bias = RandomGridValues(8, 9);
  for (DataType dtype : {DataType::kDouble, DataType::kFloat16}) {
    SCOPED_TRACE(DataTypeName(dtype));
    SingleNodeModel m("LayerNormalization", 17);
    m.Input("x", dtype, dims).Input("s", dtype, {8}).Input("b", dtype, {8});
    m.Output("y", dtype, dims).Output("mean", DataType::kFloat, {3, 1});
    m.Output("inv", DataType::kFloat, {3, 1});
    StatusOr<std::vector<Tensor>> out = m.Run(
        {MakeTensor(dtype, dims, x), MakeTensor(dtype, {8}, scale), MakeTensor(dtype, {8}, bias)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ((*out)[1].dtype(), DataType::kFloat);  // stash_type float
    const LayerNormRef ref = ReferenceLayerNorm(x, 3, 8, scale, bias, 1e-5);
    ExpectNear(ToDoubles((*out)[0]), ref.y, dtype == DataType::kDouble ? 1e-12 : 4e-3);
    ExpectNear(ToDoubles((*out)[2]), ref.inv, 1e-6);
  }
}

TEST(LayerNormTest, EmptyBatchAndBadScale) {
  SingleNodeModel empty("LayerNormalization", 17);
  empty.Input("x", DataType::kFloat, {0, 4}).Input("s", DataType::kFloat, {4});
  empty.Output("y", DataType::kFloat, {0, 4});
  StatusOr<std::vector<Tensor>> out =
      empty.Run({MakeTensor(DataType::kFloat, {0, 4}, {}), MakeTensor(DataType::kFloat, {4}, {1, 1, 1, 1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].num_elements(), 0);

  SingleNodeModel bad("LayerNormalization", 17);
  bad.Input("x", DataType::kFloat, {2, 4}).Input("s", DataType::kFloat, {3});
  bad.Output("y", DataType::kFloat, {2, 4});
  out = bad.Run({MakeTensor(DataType::kFloat, {2, 4}, RandomValues(8, 1)),
                 MakeTensor(DataType::kFloat, {3}, {1, 1, 1})});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Scale"), std::string::npos) << out.status().message();
}

TEST(MeanVarianceNormalizationTest, CustomAxesAndDefault) {
  // axes {1} of [2, 3, 2]: each (n, w) column normalised over C; default
  // axes {0, 2, 3} of [2, 2, 1, 3].
  const std::vector<double> x = RandomValues(12, 10);
  struct Case {
    std::vector<int64_t> dims;
    std::vector<int64_t> axes;  // empty: the default
  };
  for (const Case& c : {Case{{2, 3, 2}, {1}}, Case{{2, 2, 1, 3}, {}}}) {
    SingleNodeModel m("MeanVarianceNormalization", 13);
    m.Input("x", DataType::kFloat, c.dims).Output("y", DataType::kFloat, c.dims);
    if (!c.axes.empty()) m.IntsAttr("axes", c.axes);
    StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kFloat, c.dims, x)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    // Group of each element: its kept coordinates.
    std::vector<double> want(12);
    for (int64_t e = 0; e < 12; ++e) {
      auto group = [&](int64_t f) {
        return c.axes.empty() ? (f / 3) % 2 : (f / 6) * 2 + f % 2;  // C for default; (n, w) else
      };
      double sum = 0, sq = 0;
      int count = 0;
      for (int64_t f = 0; f < 12; ++f) {
        if (group(f) != group(e)) continue;
        sum += x[f];
        sq += x[f] * x[f];
        ++count;
      }
      const double mean = sum / count;
      want[e] = (x[e] - mean) / (std::sqrt(sq / count - mean * mean) + 1e-9);
    }
    ExpectNear(ToDoubles((*out)[0]), want, 1e-5);
  }
}


// One model with a GridSample node per (mode, padding_mode, align_corners)
// over shared X [2, 3, 4, 5] and a grid reaching past [-1, 1], on bnfold
// and ONNX Runtime.
TEST(GridSampleTest, EveryModePaddingAndAlignmentMatchesOnnxRuntime) {
  const OrtRunner ort = OrtRunner::FromEnvironment();
  std::string why;
  const bool available = ort.Available(&why);
  BNFOLD_REQUIRE_DEPENDENCY(available, why);
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(16);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("grid_sample");
  auto value = [](onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  const std::vector<int64_t> x_dims = {2, 3, 4, 5}, grid_dims = {2, 3, 4, 2}, y_dims = {2, 3, 3, 4};
  value(g->add_input(), "X", x_dims);
  value(g->add_input(), "grid", grid_dims);
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    for (const char* padding : {"zeros", "border", "reflection"}) {
      for (int align : {0, 1}) {
        const std::string out = std::string(mode) + "_" + padding + "_" + std::to_string(align);
        onnx::NodeProto* n = g->add_node();
        n->set_op_type("GridSample");
        n->set_name(out);
        n->add_input("X");
        n->add_input("grid");
        n->add_output(out);
        auto* a = n->add_attribute();
        a->set_name("mode");
        a->set_type(onnx::AttributeProto::STRING);
        a->set_s(mode);
        a = n->add_attribute();
        a->set_name("padding_mode");
        a->set_type(onnx::AttributeProto::STRING);
        a->set_s(padding);
        a = n->add_attribute();
        a->set_name("align_corners");
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(align);
        value(g->add_output(), out, y_dims);
      }
    }
  }
  const std::string path = std::string(BNFOLD_TEST_WORK_DIR) + "/vision_grid_sample.onnx";
  {
    std::ofstream file(path, std::ios::binary);
    file << model.SerializeAsString();
  }
  const std::vector<NamedTensor> inputs = {
      {"X", MakeTensor(DataType::kFloat, x_dims, RandomValues(120, 21))},
      {"grid", MakeTensor(DataType::kFloat, grid_dims, RandomValues(48, 22, -1.6, 1.6))}};
  StatusOr<std::vector<NamedTensor>> want =
      ort.Run(path, inputs, std::string(BNFOLD_TEST_WORK_DIR) + "/vision_grid_sample");
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(model.SerializeAsString(), {});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<NamedTensor> got;
  ASSERT_TRUE((*session)->Run(inputs, &got).ok());
  ASSERT_EQ(got.size(), want->size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(got[i].name);
    ASSERT_EQ(got[i].tensor.shape(), (*want)[i].tensor.shape());
    const OutputErrors e = CompareOutputs(got[i].tensor, (*want)[i].tensor);
    EXPECT_GT(e.max_ref, 0.0);
    EXPECT_LE(e.max_abs, 1e-5) << "at element " << e.worst;
  }
}

TEST(GridSampleTest, VolumetricLinearAndNearestOpset20) {
  // X [1, 1, 2, 2, 2] holding 0..7 (z, y, x); the grid point (0, 0, 0) with
  // align_corners=1 is the centre: linear gives the mean 3.5; the point
  // (x, y, z) = (1, -1, 1) is the corner (z=1, y=0, x=1) = 5 for both modes.
  std::vector<double> x(8);
  for (int i = 0; i < 8; ++i) x[i] = i;
  for (const char* mode : {"linear", "nearest"}) {
    SingleNodeModel m("GridSample", 20);
    m.Input("x", DataType::kFloat, {1, 1, 2, 2, 2}).Input("g", DataType::kFloat, {1, 1, 1, 2, 3});
    m.Output("y", DataType::kFloat, {1, 1, 1, 1, 2});
    m.StringAttr("mode", mode).IntAttr("align_corners", 1);
    StatusOr<std::vector<Tensor>> out =
        m.Run({MakeTensor(DataType::kFloat, {1, 1, 2, 2, 2}, x),
               MakeTensor(DataType::kFloat, {1, 1, 1, 2, 3}, {0.0, 0.0, 0.0, 1.0, -1.0, 1.0})});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const std::vector<double> y = ToDoubles((*out)[0]);
    if (std::string(mode) == "linear") {
      EXPECT_NEAR(y[0], 3.5, 1e-6);
    }
    EXPECT_NEAR(y[1], 5.0, 1e-6);
  }
}

TEST(RoiAlignTest, AveragesOfALinearImageAreBinCentres) {
  // X = x + 10 y on 4 x 4: bilinear samples of a linear image are exact, so
  // each 2 x 2-sample bin averages to the image at the mean sample point.
  std::vector<double> x(16);
  for (int yy = 0; yy < 4; ++yy)
    for (int xx = 0; xx < 4; ++xx) x[yy * 4 + xx] = xx + 10.0 * yy;
  SingleNodeModel m("RoiAlign", 16);
  m.Input("x", DataType::kFloat, {1, 1, 4, 4}).Input("rois", DataType::kFloat, {2, 4});
  m.Input("idx", DataType::kInt64, {2}).Output("y", DataType::kFloat, {2, 1, 2, 2});
  m.IntAttr("output_height", 2).IntAttr("output_width", 2).IntAttr("sampling_ratio", 2);
  const Tensor rois = MakeTensor(DataType::kFloat, {2, 4}, {0, 0, 4, 4, 1, 1, 3, 3});
  StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kFloat, {1, 1, 4, 4}, x), rois,
                                             MakeTensor(DataType::kInt64, {2}, {0, 0})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Box 1 (half_pixel: [-0.5, 3.5)): samples 0, 1 | 2, 3 per axis. Box 2
  // ([0.5, 2.5)): samples 0.75, 1.25 | 1.75, 2.25.
  ExpectNear(ToDoubles((*out)[0]), {5.5, 7.5, 25.5, 27.5, 11.0, 12.0, 21.0, 22.0}, 1e-6);
  // A batch index outside X is an error naming it.
  out = m.Run({MakeTensor(DataType::kFloat, {1, 1, 4, 4}, x), rois,
               MakeTensor(DataType::kInt64, {2}, {0, 1})});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("batch_indices[1]"), std::string::npos) << out.status().message();
}

TEST(MaxUnpoolTest, ScattersIntoDefaultAndGivenOutputShape) {
  const Tensor x = MakeTensor(DataType::kFloat, {1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor i = MakeTensor(DataType::kInt64, {1, 1, 2, 2}, {0, 3, 9, 15});
  SingleNodeModel m("MaxUnpool", 11);
  m.Input("x", DataType::kFloat, {1, 1, 2, 2}).Input("i", DataType::kInt64, {1, 1, 2, 2});
  m.Output("y", DataType::kFloat, {1, 1, 4, 4}).IntsAttr("kernel_shape", {2, 2}).IntsAttr("strides", {2, 2});
  StatusOr<std::vector<Tensor>> out = m.Run({x, i});
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<double> want(16, 0.0);
  want[0] = 1, want[3] = 2, want[9] = 3, want[15] = 4;
  EXPECT_EQ(ToDoubles((*out)[0]), want);
  SingleNodeModel shaped("MaxUnpool", 11);
  shaped.Input("x", DataType::kFloat, {1, 1, 2, 2}).Input("i", DataType::kInt64, {1, 1, 2, 2});
  shaped.Initializer("shape", MakeTensor(DataType::kInt64, {4}, {1, 1, 5, 5}));
  shaped.Output("y", DataType::kFloat, {1, 1, 5, 5}).IntsAttr("kernel_shape", {2, 2}).IntsAttr("strides", {2, 2});
  // Indices address the default 4 x 4 output; their (row, col) land in the
  // given 5 x 5 one: 0 -> (0, 0), 3 -> (0, 3), 9 -> (2, 1), 15 -> (3, 3).
  out = shaped.Run({x, i});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{1, 1, 5, 5}));
  std::vector<double> want5(25, 0.0);
  want5[0] = 1, want5[3] = 2, want5[11] = 3, want5[18] = 4;
  EXPECT_EQ(ToDoubles((*out)[0]), want5);
  // An index past the output is an error, not a write out of bounds.
  out = m.Run({x, MakeTensor(DataType::kInt64, {1, 1, 2, 2}, {0, 3, 9, 16})});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("index 16"), std::string::npos) << out.status().message();
}

TEST(GroupNormalizationTest, PerChannelOpset21AndPerGroupOpset18) {
  // X [2, 4, 3], 2 groups of 2 channels: statistics over 6 values each.
  const std::vector<double> x = RandomValues(24, 31);
  const std::vector<double> scale = {0.5, -1.0, 2.0, 1.5}, bias = {0.1, 0.2, 0.3, 0.4};
  for (int64_t opset : {21, 18}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    const int64_t params = opset >= 21 ? 4 : 2;
    SingleNodeModel m("GroupNormalization", opset);
    m.Input("x", DataType::kFloat, {2, 4, 3}).Input("s", DataType::kFloat, {params});
    m.Input("b", DataType::kFloat, {params}).Output("y", DataType::kFloat, {2, 4, 3});
    m.IntAttr("num_groups", 2).FloatAttr("epsilon", 1e-3f);
    const std::vector<double> s(scale.begin(), scale.begin() + params), b(bias.begin(), bias.begin() + params);
    StatusOr<std::vector<Tensor>> out =
        m.Run({MakeTensor(DataType::kFloat, {2, 4, 3}, x), MakeTensor(DataType::kFloat, {params}, s),
               MakeTensor(DataType::kFloat, {params}, b)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::vector<double> want(24);
    for (int n = 0; n < 2; ++n) {
      for (int g = 0; g < 2; ++g) {
        const int base = (n * 4 + g * 2) * 3;
        double mean = 0, var = 0;
        for (int i = 0; i < 6; ++i) mean += x[base + i] / 6;
        for (int i = 0; i < 6; ++i) var += (x[base + i] - mean) * (x[base + i] - mean) / 6;
        for (int i = 0; i < 6; ++i) {
          const int k = params == 4 ? g * 2 + i / 3 : g;
          want[base + i] = (x[base + i] - mean) / std::sqrt(var + 1e-3) * s[k] + b[k];
        }
      }
    }
    ExpectNear(ToDoubles((*out)[0]), want, 1e-5);
  }
}

TEST(LpNormalizationTest, L1AndL2AlongAxesWithAZeroVector) {
  // [2, 3]: rows (3, -4, 0) and (0, 0, 0).
  const std::vector<double> x = {3, -4, 0, 0, 0, 0};
  SingleNodeModel l2("LpNormalization", 1);
  l2.Input("x", DataType::kFloat, {2, 3}).Output("y", DataType::kFloat, {2, 3});
  StatusOr<std::vector<Tensor>> out = l2.Run({MakeTensor(DataType::kFloat, {2, 3}, x)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]), {0.6, -0.8, 0, 0, 0, 0}, 1e-6);
  SingleNodeModel l1("LpNormalization", 22);
  l1.Input("x", DataType::kFloat, {2, 3}).Output("y", DataType::kFloat, {2, 3}).IntAttr("axis", 0).IntAttr("p", 1);
  out = l1.Run({MakeTensor(DataType::kFloat, {2, 3}, {3, -4, 0, 1, 4, 0})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]), {0.75, -0.5, 0, 0.25, 0.5, 0}, 1e-6);
}

TEST(LpPoolTest, WindowedPaddedAndGlobal) {
  // [1, 1, 3] = (1, -2, 2), kernel 2, stride 1, pads 1 each side, p 2:
  // windows (pad, 1), (1, -2), (-2, 2), (2, pad).
  SingleNodeModel m("LpPool", 18);
  m.Input("x", DataType::kFloat, {1, 1, 3}).Output("y", DataType::kFloat, {1, 1, 4});
  m.IntsAttr("kernel_shape", {2}).IntsAttr("pads", {1, 1});
  StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kFloat, {1, 1, 3}, {1, -2, 2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]), {1.0, std::sqrt(5.0), std::sqrt(8.0), 2.0}, 1e-6);
  // Global with p = 3 over [1, 2, 2, 2].
  SingleNodeModel g("GlobalLpPool", 2);
  g.Input("x", DataType::kFloat, {1, 2, 2, 2}).Output("y", DataType::kFloat, {1, 2, 1, 1}).IntAttr("p", 3);
  out = g.Run({MakeTensor(DataType::kFloat, {1, 2, 2, 2}, {1, -1, 2, 0, 3, 0, 0, 0})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(ToDoubles((*out)[0]), {std::cbrt(10.0), 3.0}, 1e-6);
}

TEST(MaxRoiPoolTest, BinMaxima) {
  std::vector<double> x(16);
  for (int i = 0; i < 16; ++i) x[i] = i;
  SingleNodeModel m("MaxRoiPool", 1);
  m.Input("x", DataType::kFloat, {1, 1, 4, 4}).Input("rois", DataType::kFloat, {2, 5});
  m.Output("y", DataType::kFloat, {2, 1, 2, 2}).IntsAttr("pooled_shape", {2, 2});
  StatusOr<std::vector<Tensor>> out = m.Run(
      {MakeTensor(DataType::kFloat, {1, 1, 4, 4}, x),
       MakeTensor(DataType::kFloat, {2, 5}, {0, 0, 0, 3, 3, 0, 1, 1, 2, 1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Box 2: x 1..2, y 1..1 -> width 2, height 1: bins rows [1, 1], cols {1}, {2}.
  ExpectNear(ToDoubles((*out)[0]), {5, 7, 13, 15, 5, 6, 5, 6}, 0);
}

TEST(Col2ImTest, OverlappingBlocksSum) {
  // 3 x 3 image, 2 x 2 blocks, stride 1: 4 blocks; all-ones columns count
  // how many blocks cover each pixel.
  SingleNodeModel m("Col2Im", 18);
  m.Input("x", DataType::kFloat, {1, 4, 4});
  m.Initializer("image", MakeTensor(DataType::kInt64, {2}, {3, 3}));
  m.Initializer("block", MakeTensor(DataType::kInt64, {2}, {2, 2}));
  m.Output("y", DataType::kFloat, {1, 1, 3, 3});
  StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kFloat, {1, 4, 4}, std::vector<double>(16, 1.0))});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{1, 2, 1, 2, 4, 2, 1, 2, 1}));
}

TEST(CenterCropPadTest, CropsOneAxisPadsTheOther) {
  std::vector<double> x(12);
  for (int i = 0; i < 12; ++i) x[i] = i + 1;
  SingleNodeModel m("CenterCropPad", 18);
  m.Input("x", DataType::kInt32, {3, 4}).Initializer("shape", MakeTensor(DataType::kInt64, {2}, {2, 6}));
  m.Output("y", DataType::kInt32, {2, 6});
  StatusOr<std::vector<Tensor>> out = m.Run({MakeTensor(DataType::kInt32, {3, 4}, x)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(ToDoubles((*out)[0]), (std::vector<double>{0, 1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0}));
}

}  // namespace
}  // namespace bnfold::testing
