// NonMaxSuppression (kernels/vision_nms.cc) through the public Session API
// on what the backend suite misses -- no score_threshold, max_output 0 or
// omitted, iou_threshold 0 and 1, boxes touching at an edge, empty boxes,
// a bad iou_threshold -- against hand-computed selections; many classes
// and batches against ONNX Runtime (opsets 10 and 11, both box formats);
// and the shapes known only at run time (NonMaxSuppression feeding Gather,
// a Range sized by a fed value) through the CLI, and `bnfold optimize`'s
// output of them on ONNX Runtime.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "bnfold/tensor_io.h"
#include "tests/models/ort_runner.h"
#include "tests/runtime/detection_model.h"
#include "tests/runtime/backend/kernels/single_node_model.h"
#include "tests/test_util/dependency.h"
#include "tests/test_util/onnx_text.h"

namespace bnfold::testing {
namespace {

struct NmsArgs {
  std::vector<double> boxes;   // [1, N, 4]
  std::vector<double> scores;  // [1, 1, N]
  std::optional<int64_t> max_out;
  std::optional<float> iou;
  std::optional<float> score_threshold;
  int64_t center_point_box = 0;
};

// Runs one NonMaxSuppression node with initializers for the scalar inputs
// (omitted when unset); the selected indices, or the error.
StatusOr<Tensor> RunNms(const NmsArgs& a) {
  const int64_t n = static_cast<int64_t>(a.boxes.size() / 4);
  SingleNodeModel m("NonMaxSuppression", 11);
  m.Input("boxes", DataType::kFloat, {1, n, 4}).Input("scores", DataType::kFloat, {1, 1, n});
  if (a.max_out) {
    m.Initializer("max_out", MakeTensor(DataType::kInt64, {1}, {static_cast<double>(*a.max_out)}));
  } else {
    m.NoInput();
  }
  if (a.iou) {
    m.Initializer("iou", MakeTensor(DataType::kFloat, {1}, {*a.iou}));
  } else if (a.score_threshold) {
    m.NoInput();
  }
  if (a.score_threshold) {
    m.Initializer("score_threshold", MakeTensor(DataType::kFloat, {1}, {*a.score_threshold}));
  }
  m.Output("selected", DataType::kInt64, {-1, 3}).IntAttr("center_point_box", a.center_point_box);
  StatusOr<std::vector<Tensor>> out =
      m.Run({MakeTensor(DataType::kFloat, {1, n, 4}, a.boxes),
             MakeTensor(DataType::kFloat, {1, 1, n}, a.scores)});
  if (!out.ok()) return out.status();
  return std::move((*out)[0]);
}

// The selected box indices (class and batch are 0 here).
std::vector<int64_t> SelectedBoxes(const Tensor& t) {
  std::vector<int64_t> boxes;
  EXPECT_EQ(t.shape().size(), 2u);
  for (int64_t i = 0; i < t.num_elements(); i += 3) {
    EXPECT_EQ(t.data_as<int64_t>()[i], 0);
    EXPECT_EQ(t.data_as<int64_t>()[i + 1], 0);
    boxes.push_back(t.data_as<int64_t>()[i + 2]);
  }
  return boxes;
}

// Box 0 [0,0,1,1]; box 1 shifted by 0.1 (IoU 0.818 with box 0); boxes 2
// and 3 disjoint. Without score_threshold every score counts, negative
// ones too.
TEST(NonMaxSuppressionTest, WithoutScoreThresholdEveryScoreCounts) {
  NmsArgs a;
  a.boxes = {0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 2, 1, 3, 5, 5, 6, 6};
  a.scores = {0.9, 0.8, 0.01, -0.5};
  a.max_out = 10;
  a.iou = 0.5f;
  StatusOr<Tensor> out = RunNms(a);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(SelectedBoxes(*out), (std::vector<int64_t>{0, 2, 3}));
  a.score_threshold = 0.0f;  // strictly greater: -0.5 goes
  out = RunNms(a);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(SelectedBoxes(*out), (std::vector<int64_t>{0, 2}));
  a.score_threshold = 0.01f;  // equal to box 2's score: it goes too
  out = RunNms(a);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(SelectedBoxes(*out), (std::vector<int64_t>{0}));
}

TEST(NonMaxSuppressionTest, MaxOutputZeroOrOmittedSelectsNothing) {
  NmsArgs a;
  a.boxes = {0, 0, 1, 1, 2, 2, 3, 3};
  a.scores = {0.9, 0.8};
  for (std::optional<int64_t> max_out : {std::optional<int64_t>(0), std::optional<int64_t>(-3),
                                         std::optional<int64_t>()}) {
    a.max_out = max_out;
    StatusOr<Tensor> out = RunNms(a);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->shape(), (std::vector<int64_t>{0, 3}));
  }
  a.max_out = 1;  // the best one only
  StatusOr<Tensor> out = RunNms(a);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(SelectedBoxes(*out), (std::vector<int64_t>{0}));
}

// Box 0 [0,0,2,2]; box 1 [1,1,3,3] (IoU 1/7 with box 0); box 2 = box 0
// (IoU 1); box 3 [2,0,4,2] touches box 0 along an edge (no intersection
// area) and overlaps box 1 by IoU 1/7.
TEST(NonMaxSuppressionTest, IouThresholdZeroOneAndBetween) {
  NmsArgs a;
  a.boxes = {0, 0, 2, 2, 1, 1, 3, 3, 0, 0, 2, 2, 2, 0, 4, 2};
  a.scores = {0.9, 0.8, 0.7, 0.6};
  a.max_out = 10;
  const std::pair<float, std::vector<int64_t>> cases[] = {
      {0.0f, {0, 3}},         // any overlap suppresses; touching is none
      {1.0f, {0, 1, 2, 3}},   // nothing exceeds IoU 1, identical boxes stay
      {0.2f, {0, 1, 3}},      // only the identical box goes
      {0.1f, {0, 3}}};        // 1/7 > 0.1: box 1 goes, box 3 then survives
  for (const auto& [iou, want] : cases) {
    a.iou = iou;
    StatusOr<Tensor> out = RunNms(a);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(SelectedBoxes(*out), want) << "iou " << iou;
  }
  // iou_threshold omitted means 0.
  a.iou.reset();
  StatusOr<Tensor> out = RunNms(a);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(SelectedBoxes(*out), (std::vector<int64_t>{0, 3}));
}

// Equal scores keep the lower index first; center_point_box 1 gives
// [x_center, y_center, width, height].
TEST(NonMaxSuppressionTest, TiesAndCenterPointBoxes) {
  NmsArgs a;
  a.boxes = {5, 5, 2, 2, 1, 1, 2, 2, 1, 1.1, 2, 2};  // box 2 overlaps box 1 by IoU 0.905
  a.scores = {0.5, 0.5, 0.5};
  a.max_out = 3;
  a.iou = 0.5f;
  a.center_point_box = 1;
  StatusOr<Tensor> out = RunNms(a);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(SelectedBoxes(*out), (std::vector<int64_t>{0, 1}));
}

TEST(NonMaxSuppressionTest, EmptyBoxesSelectNothing) {
  SingleNodeModel m("NonMaxSuppression", 11);
  m.Input("boxes", DataType::kFloat, {2, 0, 4})
      .Input("scores", DataType::kFloat, {2, 3, 0})
      .Initializer("max_out", MakeTensor(DataType::kInt64, {1}, {5}))
      .Output("selected", DataType::kInt64, {-1, 3});
  StatusOr<std::vector<Tensor>> out =
      m.Run({MakeTensor(DataType::kFloat, {2, 0, 4}, {}), MakeTensor(DataType::kFloat, {2, 3, 0}, {})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{0, 3}));
}

TEST(NonMaxSuppressionTest, BadInputsAreErrors) {
  NmsArgs a;
  a.boxes = {0, 0, 1, 1};
  a.scores = {0.5};
  a.max_out = 1;
  a.iou = 1.5f;
  StatusOr<Tensor> out = RunNms(a);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("iou_threshold must be in [0, 1]"), std::string::npos)
      << out.status().message();
  // Scores whose box count differs from the boxes'.
  SingleNodeModel m("NonMaxSuppression", 11);
  m.Input("boxes", DataType::kFloat, {1, 2, 4})
      .Input("scores", DataType::kFloat, {1, 1, 3})
      .Output("selected", DataType::kInt64, {-1, 3});
  StatusOr<std::vector<Tensor>> bad = m.Run({MakeTensor(DataType::kFloat, {1, 2, 4}, {}),
                                             MakeTensor(DataType::kFloat, {1, 1, 3}, {})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("scores must be [1, classes, 2]"), std::string::npos)
      << bad.status().message();
}

std::string WorkDir() { return BNFOLD_TEST_WORK_DIR; }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file << bytes;
}

// 2 batches, 7 classes, 40 random boxes (many overlapping), per opset and
// box format, on bnfold and ONNX Runtime: the same selections exactly.
TEST(NonMaxSuppressionTest, ManyClassesAndBatchesMatchOnnxRuntime) {
  const OrtRunner ort = OrtRunner::FromEnvironment();
  std::string why;
  const bool available = ort.Available(&why);
  BNFOLD_REQUIRE_DEPENDENCY(available, why);
  const int64_t batches = 2, classes = 7, n = 40;
  std::vector<double> boxes = RandomValues(batches * n * 4, 31, 0.0, 4.0);
  const std::vector<double> scores = RandomValues(batches * classes * n, 32, 0.0, 1.0);
  for (int64_t opset : {10, 11}) {
    for (int64_t center : {0, 1}) {
      SingleNodeModel m("NonMaxSuppression", opset);
      m.Input("boxes", DataType::kFloat, {batches, n, 4})
          .Input("scores", DataType::kFloat, {batches, classes, n})
          .Initializer("max_out", MakeTensor(DataType::kInt64, {1}, {6}))
          .Initializer("iou", MakeTensor(DataType::kFloat, {1}, {0.3}))
          .Initializer("score_threshold", MakeTensor(DataType::kFloat, {1}, {0.2}))
          .Output("selected", DataType::kInt64, {-1, 3})
          .IntAttr("center_point_box", center);
      const std::string name = "nms_" + std::to_string(opset) + "_" + std::to_string(center);
      const std::string path = WorkDir() + "/" + name + ".onnx";
      WriteBytes(path, m.Bytes());
      const Tensor b = MakeTensor(DataType::kFloat, {batches, n, 4}, boxes);
      const Tensor s = MakeTensor(DataType::kFloat, {batches, classes, n}, scores);
      StatusOr<std::vector<NamedTensor>> want =
          ort.Run(path, {{"boxes", b}, {"scores", s}}, WorkDir() + "/" + name);
      ASSERT_TRUE(want.ok()) << want.status().message();
      StatusOr<std::vector<Tensor>> got = m.Run({b, s});
      ASSERT_TRUE(got.ok()) << got.status().message();
      const Tensor& w = (*want)[0].tensor;
      ASSERT_EQ((*got)[0].shape(), w.shape()) << name;
      EXPECT_GT(w.shape()[0], batches * classes) << "the case must select several per class";
      EXPECT_EQ(ToDoubles((*got)[0]), ToDoubles(w)) << name;
    }
  }
}

// Detection post-processing (detection_model.h) and a Range sized by a
// value computed from the data: shapes known only at run time.
constexpr char kRangeOfData[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[B, N] x) => (float[M] w, float[B, N] y) {
    shape = Shape(x)
    one = Constant <value = int64 {1}> ()
    n = Gather <axis = 0> (shape, one)
    nf = Cast <to = 1> (n)
    zf = Constant <value = float {0}> ()
    onef = Constant <value = float {1}> ()
    cols = Range(zf, nf, onef)
    y = Mul(x, cols)
    mx = ReduceMax <keepdims = 0> (x)
    w = Range(zf, mx, onef)
  })";

int RunCommand(const std::string& command) { return std::system(command.c_str()); }

// Runs `model` with `inputs` through `bnfold run` and reads the outputs.
std::vector<NamedTensor> RunCli(const std::string& model, const std::vector<NamedTensor>& inputs,
                                const std::string& dir) {
  std::string command = std::string(BNFOLD_BINARY) + " run " + model;
  RunCommand("rm -rf " + dir + " && mkdir -p " + dir);
  for (const NamedTensor& in : inputs) {
    const std::string path = dir + "/in_" + in.name + ".pb";
    EXPECT_TRUE(WriteTensorFile(path, in.name, in.tensor).ok());
    command += " --input " + in.name + "=" + path;
  }
  command += " --output-dir " + dir + "/out > " + dir + "/stdout 2>&1";
  EXPECT_EQ(RunCommand(command), 0) << command;
  std::vector<NamedTensor> outputs;
  for (int i = 0;; ++i) {
    StatusOr<NamedTensor> t = ReadTensorFile(dir + "/out/output_" + std::to_string(i) + ".pb");
    if (!t.ok()) break;
    outputs.push_back(std::move(*t));
  }
  return outputs;
}

void ExpectSame(const std::vector<NamedTensor>& got, const std::vector<NamedTensor>& want,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tensor.shape(), want[i].tensor.shape()) << what << " output " << i;
    const std::vector<double> g = ToDoubles(got[i].tensor), w = ToDoubles(want[i].tensor);
    ASSERT_EQ(g.size(), w.size()) << what;
    for (size_t k = 0; k < g.size(); ++k) {
      EXPECT_NEAR(g[k], w[k], 1e-6 * (1 + std::fabs(w[k]))) << what << " output " << i << " at " << k;
    }
  }
}

TEST(RunTimeShapesCli, RunAndOptimizedModelAgreeWithOnnxRuntime) {
  const OrtRunner ort = OrtRunner::FromEnvironment();
  std::string why;
  const bool available = ort.Available(&why);
  BNFOLD_REQUIRE_DEPENDENCY(available, why);
  // Hand-computed detections (see staged_run_test.cc's kFourBoxes): boxes
  // 0 and 3 for class 0, 1 and 2 for class 1.
  const std::vector<NamedTensor> four = {
      {"raw", MakeTensor(DataType::kFloat, {1, 4, 4},
                         {0, 0, 1, 1, 0, 0.05, 1, 1.05, 2, 2, 3, 3, 0, 0, 0.5, 0.5})},
      {"logits", MakeTensor(DataType::kFloat, {1, 4, 2}, {0.9, 0.2, 0.8, 0.7, 0.05, 0.6, 0.3, 0.05})}};
  const std::vector<NamedTensor> three = {
      {"raw", MakeTensor(DataType::kFloat, {1, 3, 4}, {0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6})},
      {"logits", MakeTensor(DataType::kFloat, {1, 3, 2}, {0.5, 0.01, 0.6, 0.02, 0.05, 0.03})}};
  const std::string detect = WorkDir() + "/runtime_shapes_detect.onnx";
  WriteBytes(detect, ModelBytesFromText(kDetectModel));
  std::vector<NamedTensor> out = RunCli(detect, four, WorkDir() + "/detect_four");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(ToDoubles(out[0].tensor), (std::vector<double>{0, 0, 0, 0, 0, 3, 0, 1, 1, 0, 1, 2}));
  EXPECT_EQ(out[1].tensor.shape(), (std::vector<int64_t>{4, 4}));
  out = RunCli(detect, three, WorkDir() + "/detect_three");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(ToDoubles(out[0].tensor), (std::vector<double>{0, 0, 1}));
  EXPECT_EQ(ToDoubles(out[1].tensor), (std::vector<double>{0, 0, 2, 2}));

  const std::string range = WorkDir() + "/runtime_shapes_range.onnx";
  WriteBytes(range, ModelBytesFromText(kRangeOfData));
  const std::vector<NamedTensor> x34 = {
      {"x", MakeTensor(DataType::kFloat, {3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 5})}};
  const std::vector<NamedTensor> x25 = {
      {"x", MakeTensor(DataType::kFloat, {2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 2.5})}};
  out = RunCli(range, x34, WorkDir() + "/range_34");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(ToDoubles(out[0].tensor), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(ToDoubles(out[1].tensor),
            (std::vector<double>{0, 2, 6, 12, 0, 6, 14, 24, 0, 10, 22, 15}));
  out = RunCli(range, x25, WorkDir() + "/range_25");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(ToDoubles(out[0].tensor), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(ToDoubles(out[1].tensor), (std::vector<double>{0, 2, 6, 12, 20, 0, 7, 16, 27, 10}));

  // `bnfold optimize`'s output loads in ONNX Runtime and agrees with
  // bnfold's run of it.
  for (const auto& [model, inputs] :
       {std::pair{detect, four}, std::pair{detect, three}, std::pair{range, x34},
        std::pair{range, x25}}) {
    const std::string optimized = model + ".opt.onnx";
    RunCommand("rm -f " + optimized);
    ASSERT_EQ(RunCommand(std::string(BNFOLD_BINARY) + " optimize " + model + " " + optimized +
                         " > /dev/null"),
              0);
    const std::string dir = optimized + "_" + std::to_string(inputs[0].tensor.shape()[1]);
    StatusOr<std::vector<NamedTensor>> want = ort.Run(optimized, inputs, dir + "_ort");
    ASSERT_TRUE(want.ok()) << want.status().message();
    ExpectSame(RunCli(optimized, inputs, dir + "_cli"), *want, optimized);
  }
}

}  // namespace
}  // namespace bnfold::testing
