// Loading without copying weights: large raw_data initializers move from the
// parsed proto into the IR (BorrowedInitializers), and files are parsed
// from the descriptor. The weights must come out exactly as written, stay
// valid after the proto is gone, and still be seen by ONNX's checker.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "onnx/onnx_pb.h"
#include "runtime/onnx/importer.h"
#include "runtime/onnx/loader.h"
#include "tests/runtime/onnx/test_models.h"

namespace bnfold::onnx_io {
namespace {

using testing::ParseModel;
using testing::Serialize;
using testing::TempDir;

constexpr int64_t kK = 300;  // W is [300, 8] floats: 9600 bytes, borrowed
constexpr int64_t kN = 8;

std::vector<float> WeightValues() {
  std::vector<float> w(kK * kN);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(std::sin(0.1 * i) * 3.0);
  return w;
}

// y = Reshape(x @ W + b, [2, 2, 4]) with a large W, a small b and a small
// int64 shape, at `opset` (19 is newer than the ONNX library: no checker).
onnx::ModelProto MatMulModel(int opset) {
  onnx::ModelProto model = ParseModel("<ir_version: 8, opset_import: [\"\" : " +
                                      std::to_string(opset) + "]>\n" + R"(
    g (float[2,300] x) => (float[2,2,4] y) {
      m = MatMul(x, W)
      a = Add(m, b)
      r = Reshape(a, shape)
      y = Identity(r)
    })");
  testing::AddFloatInitializer(&model, "W", {kK, kN}, WeightValues());
  testing::AddFloatInitializer(&model, "b", {kN}, {1, -1, 2, -2, 3, -3, 4, -4});
  onnx::TensorProto* shape = model.mutable_graph()->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(3);
  for (int64_t d : {2, 2, 4}) shape->add_int64_data(d);
  return model;
}

void ExpectWeightAsWritten(const LoadedModel& loaded) {
  const ir::Value* w = loaded.model.graph->FindValue("W");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(w->constant_data(), nullptr);
  const Tensor& t = *w->constant_data();
  EXPECT_TRUE(t.owns_data());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % alignof(float), 0u);
  ASSERT_EQ(t.shape(), (std::vector<int64_t>{kK, kN}));
  const std::vector<float> want = WeightValues();
  EXPECT_EQ(std::memcmp(t.data(), want.data(), want.size() * sizeof(float)), 0);
}

TEST(BorrowedWeightsTest, LargeWeightsLoadExactlyFromFilesAndBytes) {
  TempDir dir;
  for (int opset : {13, 19}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    const onnx::ModelProto model = MatMulModel(opset);
    const std::string path = testing::SaveModel(dir, "m.onnx", model);
    // The proto is gone when the loader returns: the weights must have
    // moved into the IR.
    StatusOr<LoadedModel> from_file = LoadModelFile(path);
    ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
    ExpectWeightAsWritten(*from_file);
    StatusOr<LoadedModel> from_bytes = LoadModelBytes(Serialize(model), "", "m.onnx");
    ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().ToString();
    ExpectWeightAsWritten(*from_bytes);
  }
  // Shape inference still ran (it needs the small shape initializer's data).
  StatusOr<LoadedModel> loaded = LoadModelFile(testing::SaveModel(dir, "m.onnx", MatMulModel(13)));
  ASSERT_TRUE(loaded.ok());
  const ir::Value* r = loaded->model.graph->FindValue("r");
  ASSERT_TRUE(r->shape().has_value());
  ASSERT_EQ(r->shape()->size(), 3u);
  EXPECT_EQ((*r->shape())[2].value, 4);
}

TEST(BorrowedWeightsTest, SessionComputesWithTheBorrowedWeights) {
  TempDir dir;
  const std::string path = testing::SaveModel(dir, "m.onnx", MatMulModel(13));
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  Tensor x = *Tensor::Allocate(DataType::kFloat, {2, kK});
  for (int64_t i = 0; i < 2 * kK; ++i) x.data_as<float>()[i] = static_cast<float>((i % 7) - 3);
  std::vector<NamedTensor> outputs;
  const Status run = (*session)->Run({{"x", x}}, &outputs);
  ASSERT_TRUE(run.ok()) << run.ToString();
  const std::vector<float> w = WeightValues();
  const double b[kN] = {1, -1, 2, -2, 3, -3, 4, -4};
  const Tensor& y = outputs.at(0).tensor;
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 2, 4}));
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t n = 0; n < kN; ++n) {
      double want = b[n];
      for (int64_t k = 0; k < kK; ++k) want += x.data_as<float>()[r * kK + k] * double{w[k * kN + n]};
      EXPECT_NEAR(y.data_as<float>()[r * kN + n], want, 1e-4 * (1.0 + std::abs(want)));
    }
  }
}

TEST(BorrowedWeightsTest, ExternalWeightsAreBorrowedToo) {
  TempDir dir;
  onnx::ModelProto model = MatMulModel(13);
  onnx::TensorProto* w = model.mutable_graph()->mutable_initializer(0);
  testing::WriteBytes(dir.File("w.bin"), w->raw_data());
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* location = w->add_external_data();
  location->set_key("location");
  location->set_value("w.bin");
  StatusOr<LoadedModel> loaded = LoadModelFile(testing::SaveModel(dir, "m.onnx", model));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectWeightAsWritten(*loaded);
  EXPECT_EQ(loaded->external_initializers.count("W"), 1u);
}

TEST(BorrowedWeightsTest, LargeWeightsOfTheWrongSizeAreRefused) {
  onnx::ModelProto model = MatMulModel(13);
  model.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->append(4, '\0');
  EXPECT_EQ(LoadModelBytes(Serialize(model), "", "m.onnx").status().message(),
            "m.onnx: initializer 'W': raw_data has 9604 bytes but shape [300,8] of float needs "
            "9600");
}

TEST(BorrowedWeightsTest, FilesAreRefusedAsBytesAre) {
  TempDir dir;
  testing::WriteBytes(dir.File("empty.onnx"), "");
  EXPECT_EQ(LoadModelFile(dir.File("empty.onnx")).status().message(),
            dir.File("empty.onnx") + ": is empty (0 bytes), not an ONNX model");
  testing::WriteBytes(dir.File("a.onnx"), std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  EXPECT_EQ(LoadModelFile(dir.File("a.onnx")).status().message(),
            dir.File("a.onnx") + ": not an ONNX model (the protobuf does not parse: a PNG image)");
}

TEST(BorrowedWeightsTest, TruncatedFilesNeverCrash) {
  TempDir dir;
  const std::string good = Serialize(MatMulModel(13));
  const std::string path = dir.File("t.onnx");
  int refused = 0;
  for (size_t cut = 0; cut < good.size(); cut += 37) {
    testing::WriteBytes(path, good.substr(0, cut));
    StatusOr<LoadedModel> loaded = LoadModelFile(path);
    if (loaded.ok()) continue;
    ++refused;
    const std::string& message = loaded.status().message();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace bnfold::onnx_io
