// The public optimizer API (bnfold/optimizer.h): what `bnfold optimize`
// writes, and what it refuses to do.
#include "bnfold/optimizer.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "bnfold/session.h"
#include "onnx/checker.h"
#include "tests/tools/test_models.h"
#include "tests/tools/tool_test_util.h"

namespace bnfold {
namespace {

using testing::TempDir;

std::vector<NamedTensor> RunModel(const std::string& path, const std::vector<NamedTensor>& inputs,
                                  bool optimize, Status* status) {
  SessionOptions options;
  options.threads = 1;
  options.optimize = optimize;
  StatusOr<std::unique_ptr<Session>> session = Session::Open(path, options);
  std::vector<NamedTensor> outputs;
  if (!session.ok()) {
    *status = session.status();
    return outputs;
  }
  *status = (*session)->Run(inputs, &outputs);
  return outputs;
}

Tensor SeededTensor(const std::vector<int64_t>& shape, uint32_t seed) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, shape);
  const std::vector<float> values = testing::SeededValues(t.num_elements(), seed, -1.0f, 1.0f);
  std::memcpy(t.data(), values.data(), t.byte_size());
  return t;
}

TEST(OptimizeModel, RefusesToWriteOverItsInput) {
  TempDir dir;
  const std::string in = dir.File("model.onnx");
  testing::WriteModel(testing::ReluIdentityModel(), in);
  const std::string before = testing::ReadBytes(in);

  StatusOr<OptimizeReport> same = OptimizeModel(in, in);
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(same.status().message().find("refusing to overwrite"), std::string::npos)
      << same.status().message();

  // The same file under other names: a hard link, a symlink, a "./" path.
  ASSERT_EQ(::link(in.c_str(), dir.File("hard.onnx").c_str()), 0);
  ASSERT_EQ(::symlink(in.c_str(), dir.File("soft.onnx").c_str()), 0);
  for (const std::string& alias :
       {dir.File("hard.onnx"), dir.File("soft.onnx"), dir.path() + "/./model.onnx"}) {
    StatusOr<OptimizeReport> r = OptimizeModel(in, alias);
    EXPECT_FALSE(r.ok()) << alias;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << alias;
  }
  EXPECT_EQ(testing::ReadBytes(in), before);
}

TEST(OptimizeModel, RefusesADirectoryAsOutput) {
  TempDir dir;
  const std::string in = dir.File("model.onnx");
  testing::WriteModel(testing::ReluIdentityModel(), in);
  ASSERT_EQ(::mkdir(dir.File("out.onnx").c_str(), 0755), 0);
  StatusOr<OptimizeReport> r = OptimizeModel(in, dir.File("out.onnx"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is a directory"), std::string::npos);
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"model.onnx", "out.onnx"}));
}

TEST(OptimizeModel, FailingWriteLeavesNoFile) {
  TempDir dir;
  const std::string in = dir.File("model.onnx");
  testing::WriteModel(testing::ReluIdentityModel(4000), in);  // ~16 KB
  const std::string out = dir.File("out.onnx");

  // Into a folder that does not exist.
  StatusOr<OptimizeReport> missing_dir = OptimizeModel(in, dir.File("nope/out.onnx"));
  EXPECT_EQ(missing_dir.status().code(), StatusCode::kIoError);

  // A write that fails half-way: the file-size limit (which binds root too)
  // stops it after 4 KB, with EFBIG instead of SIGXFSZ.
  void (*previous_handler)(int) = std::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  StatusOr<OptimizeReport> r = OptimizeModel(in, out);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, previous_handler);

  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError) << r.status().message();
  EXPECT_EQ(dir.List(), std::vector<std::string>{"model.onnx"});

  // An existing output stays as it was.
  testing::WriteModel(testing::ReluIdentityModel(3), out);
  const std::string old_out = testing::ReadBytes(out);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::signal(SIGXFSZ, SIG_IGN);
  r = OptimizeModel(in, out);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, previous_handler);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(testing::ReadBytes(out), old_out);
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"model.onnx", "out.onnx"}));
}

TEST(OptimizeModel, KeepsWhatTheModelSaysAboutItself) {
  TempDir dir;
  const std::string in = dir.File("model.onnx");
  const std::string out = dir.File("out.onnx");
  const onnx::ModelProto original = testing::ReluIdentityModel();
  testing::WriteModel(original, in);
  StatusOr<OptimizeReport> report = OptimizeModel(in, out);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->checker_ran);
  EXPECT_TRUE(report->external_data_path.empty());
  EXPECT_EQ(report->batchnorm_before, 0);
  EXPECT_EQ(report->batchnorm_after, 0);
  EXPECT_EQ(report->nodes_before, 3);

  EXPECT_NO_THROW(onnx::checker::check_model(out));
  const onnx::ModelProto written = testing::ReadModel(out);
  EXPECT_EQ(written.ir_version(), 8);
  ASSERT_EQ(written.opset_import_size(), 1);
  EXPECT_EQ(written.opset_import(0).version(), 13);
  EXPECT_EQ(written.producer_name(), "bnfold-test");
  EXPECT_EQ(written.producer_version(), "1.0");
  EXPECT_EQ(written.doc_string(), "a model");
  ASSERT_EQ(written.metadata_props_size(), 1);
  EXPECT_EQ(written.metadata_props(0).key(), "author");
  EXPECT_EQ(written.metadata_props(0).value(), "tests");
  const onnx::GraphProto& g = written.graph();
  EXPECT_EQ(g.name(), "relu_graph");
  EXPECT_EQ(g.doc_string(), "the graph");
  ASSERT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.input(0).name(), "X");
  EXPECT_EQ(g.input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  ASSERT_EQ(g.output_size(), 2);
  EXPECT_EQ(g.output(0).name(), "Y");
  EXPECT_EQ(g.output(1).name(), "Z");
  // value_info is kept for values that survive the passes, and only those.
  bool r_survives = false;
  for (const auto& n : g.node()) {
    for (const auto& out : n.output()) r_survives = r_survives || out == "R";
  }
  ASSERT_EQ(g.value_info_size(), r_survives ? 1 : 0);
  if (r_survives) {
    EXPECT_EQ(g.value_info(0).name(), "R");
  }
  bool relu_doc = false;
  for (const auto& n : g.node()) relu_doc = relu_doc || n.doc_string() == "the relu";
  EXPECT_TRUE(relu_doc);
}

TEST(OptimizeModel, UnknownPassIsBadUsage) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  StatusOr<OptimizeReport> r =
      OptimizeModel(dir.File("m.onnx"), dir.File("o.onnx"), {.passes = {"no-such-pass"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no-such-pass"), std::string::npos);
  EXPECT_FALSE(testing::FileExists(dir.File("o.onnx")));
}

TEST(OptimizeModel, RoundTripRunsLikeTheInput) {
  TempDir dir;
  const std::string in = dir.File("model.onnx");
  const std::string out = dir.File("out.onnx");
  testing::WriteModel(testing::ReluIdentityModel(), in);
  ASSERT_TRUE(OptimizeModel(in, out).ok());
  const std::vector<NamedTensor> inputs = {{"X", SeededTensor({2, 3, 4, 4}, 99)}};
  Status s1, s2;
  const std::vector<NamedTensor> expected = RunModel(in, inputs, false, &s1);
  const std::vector<NamedTensor> actual = RunModel(out, inputs, false, &s2);
  ASSERT_TRUE(s1.ok()) << s1.message();
  ASSERT_TRUE(s2.ok()) << s2.message();
  ASSERT_EQ(actual.size(), 2u);
  // Relu (twice) and the constant are exact: the outputs must be bit-identical, and
  // equal to max(x, 0) and the stored weights.
  const Tensor& x = inputs[0].tensor;
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    EXPECT_EQ(actual[0].tensor.data_as<float>()[i], std::max(x.data_as<float>()[i], 0.0f));
  }
  const std::vector<float> weights = testing::SeededValues(2000, 7, -1.0f, 1.0f);
  ASSERT_EQ(actual[1].tensor.num_elements(), 2000);
  EXPECT_EQ(std::memcmp(actual[1].tensor.data(), weights.data(), 2000 * sizeof(float)), 0);
  for (size_t k = 0; k < actual.size(); ++k) {
    ASSERT_EQ(actual[k].tensor.byte_size(), expected[k].tensor.byte_size());
    EXPECT_EQ(std::memcmp(actual[k].tensor.data(), expected[k].tensor.data(),
                          actual[k].tensor.byte_size()),
              0);
  }
}

// Writes `model` with every initializer in `data_name` (offset 0, packed).
void WriteWithExternalData(onnx::ModelProto model, const std::string& dir,
                           const std::string& model_name, const std::string& data_name) {
  std::string data;
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    const size_t offset = data.size();
    data += init.raw_data();
    const size_t length = init.raw_data().size();
    init.clear_raw_data();
    init.set_data_location(onnx::TensorProto::EXTERNAL);
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{
             {"location", data_name}, {"offset", std::to_string(offset)},
             {"length", std::to_string(length)}}) {
      auto* entry = init.add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    }
  }
  std::ofstream(dir + "/" + data_name, std::ios::binary) << data;
  testing::WriteModel(model, dir + "/" + model_name);
}

TEST(OptimizeModel, KeepsExternalDataExternalAndAligned) {
  TempDir dir;
  onnx::ModelProto model = testing::ReluIdentityModel(2000);
  // A small second initializer: external in the input, so external again.
  testing::AddFloatInitializer(model.mutable_graph(), "unused_small", {3}, {1.0f, 2.0f, 3.0f});
  WriteWithExternalData(model, dir.path(), "in.onnx", "in.weights");
  const std::string out = dir.File("out.onnx");
  StatusOr<OptimizeReport> report = OptimizeModel(dir.File("in.onnx"), out);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->external_data_path, out + ".data");
  EXPECT_TRUE(report->checker_ran);

  const onnx::ModelProto written = testing::ReadModel(out);
  const std::string data = testing::ReadBytes(out + ".data");
  std::set<std::string> external;
  for (const auto& init : written.graph().initializer()) {
    ASSERT_EQ(init.data_location(), onnx::TensorProto::EXTERNAL) << init.name();
    EXPECT_FALSE(init.has_raw_data());
    std::map<std::string, std::string> entries;
    for (const auto& e : init.external_data()) entries[e.key()] = e.value();
    EXPECT_EQ(entries["location"], "out.onnx.data");
    const size_t offset = std::stoull(entries["offset"]);
    const size_t length = std::stoull(entries["length"]);
    EXPECT_EQ(offset % 64, 0u) << init.name();
    ASSERT_LE(offset + length, data.size());
    const onnx::TensorProto* source = nullptr;
    for (const auto& t : model.graph().initializer()) source = t.name() == init.name() ? &t : source;
    ASSERT_NE(source, nullptr);
    EXPECT_EQ(data.substr(offset, length), source->raw_data()) << init.name();
    external.insert(init.name());
  }
  // The cleanup pass may drop the unused initializer; W must stay.
  EXPECT_TRUE(external.count("W"));
  EXPECT_NO_THROW(onnx::checker::check_model(out));

  // And it runs: Z is the stored W.
  Status status;
  const std::vector<NamedTensor> outputs =
      RunModel(out, {{"X", SeededTensor({1, 3, 4, 4}, 3)}}, false, &status);
  ASSERT_TRUE(status.ok()) << status.message();
  const std::vector<float> weights = testing::SeededValues(2000, 7, -1.0f, 1.0f);
  EXPECT_EQ(std::memcmp(outputs[1].tensor.data(), weights.data(), 2000 * sizeof(float)), 0);
}

TEST(OptimizeModel, RefusesToWriteOverTheInputsExternalData) {
  TempDir dir;
  // in.onnx keeps its weights in out.onnx.data: writing out.onnx would
  // replace them.
  WriteWithExternalData(testing::ReluIdentityModel(2000), dir.path(), "in.onnx",
                        "out.onnx.data");
  const std::string weights = testing::ReadBytes(dir.File("out.onnx.data"));
  StatusOr<OptimizeReport> r = OptimizeModel(dir.File("in.onnx"), dir.File("out.onnx"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(testing::ReadBytes(dir.File("out.onnx.data")), weights);
  EXPECT_FALSE(testing::FileExists(dir.File("out.onnx")));
}

// ---- BatchNormalization models: need the fold passes and the Conv /
// BatchNormalization kernels (skipped, saying so, until they exist).

TEST(OptimizeModel, ConvBatchNormFoldsAndRunsLikeTheReference) {
  TempDir dir;
  const testing::ConvBatchNormWeights w = testing::DefaultConvBatchNormWeights();
  const std::string in = dir.File("conv_bn.onnx");
  const std::string out = dir.File("folded.onnx");
  testing::WriteModel(testing::ConvBatchNormModel(w), in);
  StatusOr<OptimizeReport> report = OptimizeModel(in, out);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->batchnorm_before, 1);
  EXPECT_EQ(report->batchnorm_after, 0);
  ASSERT_EQ(report->batchnorm.size(), 1u);
  EXPECT_EQ(report->batchnorm[0].node, "bn");
  EXPECT_TRUE(report->batchnorm[0].folded);
  EXPECT_NE(report->batchnorm[0].folded_into.find("conv"), std::string::npos);
  EXPECT_NO_THROW(onnx::checker::check_model(out));
  const onnx::ModelProto written = testing::ReadModel(out);
  for (const auto& n : written.graph().node()) EXPECT_NE(n.op_type(), "BatchNormalization");

  const Tensor x = SeededTensor({1, 3, 8, 8}, 42);
  Status s_in, s_out;
  const std::vector<NamedTensor> unfolded = RunModel(in, {{"X", x}}, false, &s_in);
  const std::vector<NamedTensor> folded = RunModel(out, {{"X", x}}, false, &s_out);
  ASSERT_TRUE(s_in.ok()) << s_in.message();
  ASSERT_TRUE(s_out.ok()) << s_out.message();
  const std::vector<float> xs(x.data_as<float>(), x.data_as<float>() + x.num_elements());
  const std::vector<double> reference = testing::ConvBatchNormReference(w, xs);
  ASSERT_EQ(folded[0].tensor.num_elements(), static_cast<int64_t>(reference.size()));
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_NEAR(folded[0].tensor.data_as<float>()[i], reference[i], 1e-5 + 1e-4 * std::fabs(reference[i]))
        << i;
    EXPECT_NEAR(unfolded[0].tensor.data_as<float>()[i], reference[i],
                1e-5 + 1e-4 * std::fabs(reference[i]))
        << i;
  }
}

}  // namespace
}  // namespace bnfold

namespace bnfold {
namespace {

TEST(OptimizeModelInMemory, PathToBytesBytesToFileAndBytesToBytesAgree) {
  TempDir dir;
  const std::string in = dir.File("model.onnx");
  testing::WriteModel(testing::ReluIdentityModel(), in);
  ASSERT_TRUE(OptimizeModel(in, dir.File("file.onnx")).ok());
  const std::string from_file = testing::ReadBytes(dir.File("file.onnx"));

  std::string to_bytes;
  StatusOr<OptimizeReport> report = OptimizeModelToBytes(in, &to_bytes);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(to_bytes, from_file);
  EXPECT_EQ(report->nodes_before, 3);

  std::string bytes_to_bytes;
  ASSERT_TRUE(OptimizeModelBytes(testing::ReadBytes(in), "", &bytes_to_bytes).ok());
  EXPECT_EQ(bytes_to_bytes, from_file);
  const std::string out = dir.File("from_bytes.onnx");
  ASSERT_TRUE(OptimizeModelBytes(testing::ReadBytes(in), out, nullptr).ok());
  EXPECT_EQ(testing::ReadBytes(out), from_file);

  EXPECT_EQ(OptimizeModelBytes(testing::ReadBytes(in), "", nullptr).status().code(),
            StatusCode::kInvalidArgument);
  StatusOr<OptimizeReport> bad = OptimizeModelBytes("not a model", "", &to_bytes);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(bad.status().message().find("<memory>"), std::string::npos);
}

TEST(OptimizeModelInMemory, ExternalDataCannotGoToMemory) {
  TempDir dir;
  WriteWithExternalData(testing::ReluIdentityModel(2000), dir.path(), "in.onnx", "in.weights");
  std::string bytes;
  StatusOr<OptimizeReport> report = OptimizeModelToBytes(dir.File("in.onnx"), &bytes);
  EXPECT_EQ(report.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(report.status().message().find("external-data"), std::string::npos);
}

TEST(InspectModelBytes, SameAsFromTheFile) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  StatusOr<ModelInfo> from_file = InspectModel(dir.File("m.onnx"));
  StatusOr<ModelInfo> from_bytes = InspectModelBytes(testing::ReadBytes(dir.File("m.onnx")));
  ASSERT_TRUE(from_file.ok() && from_bytes.ok());
  EXPECT_EQ(from_bytes->ops, from_file->ops);
  EXPECT_EQ(from_bytes->producer_name, "bnfold-test");
  EXPECT_EQ(from_bytes->nodes, from_file->nodes);
}

TEST(SessionMetadata, ReportsWhatTheModelSaysAboutItself) {
  onnx::ModelProto model = testing::ReluIdentityModel();
  model.set_domain("org.example");
  model.set_model_version(4);
  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(bytes, {.threads = 1});
  ASSERT_TRUE(session.ok()) << session.status().message();
  const ModelMetadata& meta = (*session)->metadata();
  EXPECT_EQ(meta.producer_name, "bnfold-test");
  EXPECT_EQ(meta.producer_version, "1.0");
  EXPECT_EQ(meta.domain, "org.example");
  EXPECT_EQ(meta.model_version, 4);
  EXPECT_EQ(meta.description, "a model");
  EXPECT_EQ(meta.graph_name, "relu_graph");
  EXPECT_EQ(meta.graph_description, "the graph");
  ASSERT_EQ(meta.custom.size(), 1u);
  EXPECT_EQ(meta.custom[0], std::make_pair(std::string("author"), std::string("tests")));
}

}  // namespace
}  // namespace bnfold
