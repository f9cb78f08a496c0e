// The `bnfold` binary: optimize / verify / inspect / bench, their exit codes
// (0 ok, 1 numeric mismatch, 2 bad usage or input) and --json shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "bnfold/optimizer.h"
#include "bnfold/tensor_io.h"
#include "runtime/common/half.h"
#include "tests/tools/test_models.h"
#include "tests/tools/tool_test_util.h"
#include "tools/compare.h"

namespace bnfold {
namespace {

using testing::JsonValue;
using testing::RunBnfold;
using testing::TempDir;

JsonValue ParseOrFail(const testing::CommandResult& r) {
  std::string error;
  std::optional<JsonValue> json = testing::ParseJson(r.out, &error);
  EXPECT_TRUE(json.has_value()) << error << "\nstdout: " << r.out << "\nstderr: " << r.err;
  return json.value_or(JsonValue{});
}

// ---------------------------------------------------------------- optimize

TEST(OptimizeCli, WritesTheModelAndReportsJson) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("in.onnx"));
  testing::CommandResult r =
      RunBnfold({"optimize", dir.File("in.onnx"), dir.File("out.onnx"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const JsonValue json = ParseOrFail(r);
  EXPECT_EQ(json["passes"].kind, JsonValue::kArray);
  EXPECT_EQ(json["batchnorm_before"].number, 0);
  EXPECT_EQ(json["batchnorm_after"].number, 0);
  EXPECT_EQ(json["nodes_before"].number, 3);
  EXPECT_EQ(json["nodes_after"].kind, JsonValue::kNumber);
  EXPECT_EQ(json["external_data"].kind, JsonValue::kNull);
  EXPECT_TRUE(json["checker"].boolean);
  EXPECT_TRUE(testing::FileExists(dir.File("out.onnx")));
}

// A 2-element shape expands to 8 MB of zeros read by a Mul of the graph
// input: no fold needs them, so the written file stays small unless asked.
TEST(OptimizeCli, ConstantsNoFoldNeedsStayUnderTheBudget) {
  TempDir dir;
  testing::WriteModel(testing::ParseModel(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1024,2048] X) => (float[1024,2048] Y) <int64[2] shape = {1024, 2048}> {
      Z = ConstantOfShape <value = float[1] {0.5}> (shape)
      Y = Mul (X, Z)
    })"),
                      dir.File("in.onnx"));
  testing::CommandResult r =
      RunBnfold({"optimize", dir.File("in.onnx"), dir.File("small.onnx"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  JsonValue json = ParseOrFail(r);
  EXPECT_EQ(json["constant_folding"]["evaluated"].number, 0);
  EXPECT_EQ(json["constant_folding"]["kept_over_budget"].number, 1);
  EXPECT_EQ(json["constant_folding"]["budget_bytes"].number, 1 << 20);
  EXPECT_LT(testing::ReadBytes(dir.File("small.onnx")).size(), 1000u);

  r = RunBnfold({"optimize", dir.File("in.onnx"), dir.File("large.onnx"), "--fold-large-constants",
                 "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json = ParseOrFail(r);
  EXPECT_EQ(json["constant_folding"]["evaluated"].number, 1);
  EXPECT_EQ(json["constant_folding"]["bytes_added"].number, 1024 * 2048 * 4 - 16);
  EXPECT_GT(testing::ReadBytes(dir.File("large.onnx")).size(), 8u << 20);

  r = RunBnfold({"optimize", dir.File("in.onnx"), dir.File("again.onnx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 kept: over the budget of 1048576 bytes"), std::string::npos) << r.out;
}

TEST(OptimizeCli, RefusesToOverwriteItsInput) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("in.onnx"));
  const std::string before = testing::ReadBytes(dir.File("in.onnx"));
  testing::CommandResult r = RunBnfold({"optimize", dir.File("in.onnx"), dir.File("in.onnx")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refusing to overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(testing::ReadBytes(dir.File("in.onnx")), before);
}

TEST(OptimizeCli, FailingWriteLeavesNoPartialFile) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(4000), dir.File("in.onnx"));  // ~16 KB
  // `ulimit -f 4`: writes stop at 2-4 KB (512- or 1024-byte blocks).
  testing::CommandResult r =
      RunBnfold({"optimize", dir.File("in.onnx"), dir.File("out.onnx")}, "ulimit -f 4 &&");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(dir.List(), std::vector<std::string>{"in.onnx"});
}

TEST(OptimizeCli, BadUsage) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("in.onnx"));
  EXPECT_EQ(RunBnfold({"optimize", dir.File("in.onnx")}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"optimize", dir.File("in.onnx"), dir.File("o.onnx"), "--bogus"}).exit_code,
            2);
  EXPECT_EQ(RunBnfold({"optimize", dir.File("in.onnx"), dir.File("o.onnx"), "--passes", "a,,b"})
                .exit_code,
            2);
  EXPECT_EQ(RunBnfold({"optimize", dir.File("missing.onnx"), dir.File("o.onnx")}).exit_code, 2);
  testing::CommandResult unknown =
      RunBnfold({"optimize", dir.File("in.onnx"), dir.File("o.onnx"), "--passes", "no-such-pass"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no-such-pass"), std::string::npos);
  EXPECT_FALSE(testing::FileExists(dir.File("o.onnx")));
}

// ---------------------------------------------------------------- inspect

TEST(InspectCli, JsonForThreeBatchNorms) {
  TempDir dir;
  testing::WriteModel(testing::ThreeBatchNormModel(), dir.File("m.onnx"));
  testing::CommandResult r = RunBnfold({"inspect", dir.File("m.onnx"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const JsonValue json = ParseOrFail(r);
  EXPECT_EQ(json["ops"]["Conv"].number, 3);
  EXPECT_EQ(json["ops"]["BatchNormalization"].number, 3);
  const JsonValue& bns = json["batchnorm"];
  ASSERT_EQ(bns.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    for (const char* key : {"name", "opset", "mode", "epsilon", "producer", "consumers",
                            "folds_into", "reason", "summary", "diagnostics"}) {
      EXPECT_TRUE(bns[i].Has(key)) << key;
    }
    EXPECT_EQ(bns[i]["opset"].number, 15);
    EXPECT_NEAR(bns[i]["epsilon"].number, 1e-3, 1e-9);
    EXPECT_EQ(bns[i]["producer"].string, "Conv");
    EXPECT_FALSE(bns[i]["reason"].string.empty());
  }
  EXPECT_EQ(bns[0]["name"].string, "bn_initial");
  EXPECT_EQ(bns[0]["mode"].string, "inference");
  ASSERT_EQ(bns[0]["diagnostics"].size(), 1u);
  EXPECT_EQ(bns[0]["diagnostics"][0].string,
            "moving statistics at initial values: the model was likely trained without its "
            "moving-average updates running");
  EXPECT_EQ(bns[0]["folds_into"].string, "Conv 'conv1'");
  EXPECT_EQ(bns[0]["summary"].string, "");
  EXPECT_EQ(bns[1]["name"].string, "bn_override");
  EXPECT_EQ(bns[1]["folds_into"].kind, JsonValue::kNull);
  EXPECT_EQ(bns[1]["summary"].string, "kept: parameters not constant");
  EXPECT_EQ(bns[1]["diagnostics"].size(), 0u);
  EXPECT_EQ(bns[2]["name"].string, "bn_train");
  EXPECT_EQ(bns[2]["mode"].string, "training");
  EXPECT_EQ(bns[2]["folds_into"].kind, JsonValue::kNull);
  EXPECT_EQ(bns[2]["summary"].string, "kept: training mode");
  ASSERT_EQ(bns[2]["consumers"].size(), 1u);
  EXPECT_EQ(bns[2]["consumers"][0].string, "(graph output)");
}

TEST(InspectCli, HumanTableNamesEveryBatchNorm) {
  TempDir dir;
  testing::WriteModel(testing::ThreeBatchNormModel(), dir.File("m.onnx"));
  testing::CommandResult r = RunBnfold({"inspect", dir.File("m.onnx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text : {"bn_initial", "bn_override", "bn_train", "training",
                           "moving statistics at initial values"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
}

// The first line of `out` that contains `text` ("" when none does).
std::string LineWith(const std::string& out, const std::string& text) {
  const size_t at = out.find(text);
  if (at == std::string::npos) return "";
  const size_t begin = out.rfind('\n', at) + 1;  // npos + 1 == 0
  return out.substr(begin, out.find('\n', at) - begin);
}

// A BN that stays says why in a few words in its row's "folds into" column;
// the detailed reasons of each pass follow below the table.
TEST(InspectCli, KeptBatchNormSaysWhyInTheTable) {
  TempDir dir;
  testing::WriteModel(testing::ConcatBatchNormModel(), dir.File("dense.onnx"));
  testing::CommandResult r = RunBnfold({"inspect", dir.File("dense.onnx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string row = LineWith(r.out, "  bn_concat ");
  EXPECT_NE(row.find("Concat -> Relu"), std::string::npos) << r.out;
  EXPECT_TRUE(row.ends_with("kept: after Concat, before Relu")) << r.out;
  const std::string why = r.out.substr(r.out.find("why not folded"));
  EXPECT_NE(why.find("kept: fold-batchnorm: 'C' comes from Concat"), std::string::npos) << r.out;
  EXPECT_NE(why.find("fold-batchnorm-forward: its output feeds Relu"), std::string::npos) << r.out;

  testing::WriteModel(testing::ThreeBatchNormModel(), dir.File("three.onnx"));
  testing::CommandResult three = RunBnfold({"inspect", dir.File("three.onnx")});
  ASSERT_EQ(three.exit_code, 0) << three.err;
  EXPECT_TRUE(LineWith(three.out, "  bn_initial ").ends_with("Conv 'conv1'")) << three.out;
  EXPECT_TRUE(LineWith(three.out, "  bn_override ").ends_with("kept: parameters not constant"))
      << three.out;
  EXPECT_TRUE(LineWith(three.out, "  bn_train ").ends_with("kept: training mode")) << three.out;

  testing::CommandResult json = RunBnfold({"inspect", dir.File("dense.onnx"), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(ParseOrFail(json)["batchnorm"][0]["summary"].string, "kept: after Concat, before Relu");
}

TEST(InspectCli, BadInput) {
  TempDir dir;
  EXPECT_EQ(RunBnfold({"inspect"}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"inspect", dir.File("missing.onnx")}).exit_code, 2);
  std::ofstream(dir.File("garbage.onnx")) << "not a model";
  EXPECT_EQ(RunBnfold({"inspect", dir.File("garbage.onnx")}).exit_code, 2);
}

// ---------------------------------------------------------------- verify

TEST(VerifyCli, IdenticalResultsPass) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  testing::CommandResult r =
      RunBnfold({"verify", dir.File("m.onnx"), "--rtol", "0", "--atol", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const JsonValue json = ParseOrFail(r);
  EXPECT_TRUE(json["pass"].boolean);
  EXPECT_EQ(json["batchnorm_folded"].number, 0);
  EXPECT_EQ(json["batchnorm_left"].number, 0);
  EXPECT_EQ(json["runs"].number, 3);  // the default --seeds
  ASSERT_EQ(json["outputs"].size(), 2u);
  EXPECT_EQ(json["outputs"][0]["name"].string, "Y");
  EXPECT_EQ(json["outputs"][1]["name"].string, "Z");
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(json["outputs"][i]["max_abs_err"].number, 0.0);
    EXPECT_EQ(json["outputs"][i]["max_rel_err"].number, 0.0);
  }
}

TEST(VerifyCli, OneRandomSetPerSeed) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  testing::CommandResult r = RunBnfold({"verify", dir.File("m.onnx"), "--seeds", "5", "--batch",
                                        "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseOrFail(r)["runs"].number, 5);
}

TEST(VerifyCli, GivenInputsRunOnce) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  Tensor x = *Tensor::Allocate(DataType::kFloat, {2, 3, 4, 4});
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data_as<float>()[i] = 0.25f * (i % 7) - 0.75f;
  ASSERT_TRUE(WriteTensorFile(dir.File("x.pb"), "X", x).ok());
  testing::CommandResult r =
      RunBnfold({"verify", dir.File("m.onnx"), "--input", "X=" + dir.File("x.pb"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const JsonValue json = ParseOrFail(r);
  EXPECT_EQ(json["runs"].number, 1);
  EXPECT_TRUE(json["pass"].boolean);
  // With --random-inputs as well, the given X is kept and one run per seed made.
  testing::CommandResult both = RunBnfold({"verify", dir.File("m.onnx"), "--input",
                                           "X=" + dir.File("x.pb"), "--random-inputs", "--seeds",
                                           "2", "--json"});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_EQ(ParseOrFail(both)["runs"].number, 2);
  // A name the model does not have is bad input.
  EXPECT_EQ(RunBnfold({"verify", dir.File("m.onnx"), "--input", "X=" + dir.File("x.pb"),
                       "--input", "nope=" + dir.File("x.pb")})
                .exit_code,
            2);
}

TEST(VerifyCli, BadUsageIsExit2) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  const std::string m = dir.File("m.onnx");
  EXPECT_EQ(RunBnfold({"verify"}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"verify", dir.File("missing.onnx")}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"verify", m, "--rtol", "-1"}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"verify", m, "--atol", "x"}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"verify", m, "--seeds", "0"}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"verify", m, "--input", "X=" + dir.File("missing.pb")}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"verify", m, "--passes", "no-such-pass"}).exit_code, 2);
}

// Exit 1 needs optimized and reference results that differ: the folded
// Conv computes with W*s instead of applying s afterwards, which moves the
// last bits of (nearly) every element. Zero tolerance must catch that; the
// default tolerance must accept it.
TEST(VerifyCli, FoldedConvDiffersInTheLastBits) {
  TempDir dir;
  testing::WriteModel(testing::ConvBatchNormModel(testing::DefaultConvBatchNormWeights()),
                      dir.File("m.onnx"));
  testing::CommandResult exact =
      RunBnfold({"verify", dir.File("m.onnx"), "--rtol", "0", "--atol", "0", "--json"});
  ASSERT_EQ(exact.exit_code, 1) << exact.err << exact.out;
  const JsonValue json = ParseOrFail(exact);
  EXPECT_FALSE(json["pass"].boolean);
  EXPECT_EQ(json["batchnorm_folded"].number, 1);
  EXPECT_EQ(json["batchnorm_left"].number, 0);
  EXPECT_GT(json["outputs"][0]["max_abs_err"].number, 0.0);
  EXPECT_LT(json["outputs"][0]["max_abs_err"].number, 1e-4);

  testing::CommandResult tolerant = RunBnfold({"verify", dir.File("m.onnx"), "--json"});
  ASSERT_EQ(tolerant.exit_code, 0) << tolerant.err << tolerant.out;
  EXPECT_TRUE(ParseOrFail(tolerant)["pass"].boolean);
}

// The Conv + BN model with every float tensor, input and output in float16.
onnx::ModelProto Float16ConvBatchNormModel() {
  onnx::ModelProto m = testing::ConvBatchNormModel(testing::DefaultConvBatchNormWeights());
  for (onnx::TensorProto& init : *m.mutable_graph()->mutable_initializer()) {
    if (init.data_type() != onnx::TensorProto::FLOAT) continue;
    std::vector<float> values(init.float_data().begin(), init.float_data().end());
    if (init.has_raw_data()) {
      values.resize(init.raw_data().size() / sizeof(float));
      std::memcpy(values.data(), init.raw_data().data(), init.raw_data().size());
    }
    std::string raw(values.size() * 2, '\0');
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t h = FloatToHalf(values[i]);
      std::memcpy(&raw[2 * i], &h, 2);
    }
    init.clear_float_data();
    init.set_raw_data(raw);
    init.set_data_type(onnx::TensorProto::FLOAT16);
  }
  for (auto* list : {m.mutable_graph()->mutable_input(), m.mutable_graph()->mutable_output(),
                     m.mutable_graph()->mutable_value_info()}) {
    for (onnx::ValueInfoProto& v : *list) {
      auto* tensor = v.mutable_type()->mutable_tensor_type();
      if (tensor->elem_type() == onnx::TensorProto::FLOAT) {
        tensor->set_elem_type(onnx::TensorProto::FLOAT16);
      }
    }
  }
  return m;
}

// float16 outputs are judged in float16 ulps of the output scale, and verify
// says so: folded (W*s rounded once) and unfolded (Conv output rounded, then
// BN's) differ by a few ulps, which --float16-ulps 0 catches.
TEST(VerifyCli, Float16OutputsAreJudgedInUlpsOfTheOutputScale) {
  TempDir dir;
  testing::WriteModel(Float16ConvBatchNormModel(), dir.File("m.onnx"));
  testing::CommandResult r = RunBnfold({"verify", dir.File("m.onnx"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const JsonValue json = ParseOrFail(r);
  EXPECT_TRUE(json["pass"].boolean);
  EXPECT_EQ(json["batchnorm_left"].number, 0);
  EXPECT_EQ(json["float16_ulps"].number, 64);
  const JsonValue& out = json["outputs"][0];
  EXPECT_EQ(out["tolerance"].string, "float16_ulps");
  EXPECT_GT(out["max_ulps_err"].number, 0.0);
  EXPECT_LE(out["max_ulps_err"].number, 64.0);
  EXPECT_GT(out["max_abs_err"].number, 0.0);

  testing::CommandResult text = RunBnfold({"verify", dir.File("m.onnx")});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("float16 ulps of the output scale"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("float16 outputs: within 64 float16 ulps"), std::string::npos)
      << text.out;

  testing::CommandResult exact =
      RunBnfold({"verify", dir.File("m.onnx"), "--float16-ulps", "0", "--json"});
  EXPECT_EQ(exact.exit_code, 1) << exact.out;
  EXPECT_FALSE(ParseOrFail(exact)["pass"].boolean);
  EXPECT_EQ(RunBnfold({"verify", dir.File("m.onnx"), "--float16-ulps", "-1"}).exit_code, 2);
}

TEST(VerifyCompare, Float16UlpIsTheSpacingOfFloat16Numbers) {
  EXPECT_EQ(cli::Float16Ulp(1.0), std::ldexp(1.0, -10));
  EXPECT_EQ(cli::Float16Ulp(1.99), std::ldexp(1.0, -10));
  EXPECT_EQ(cli::Float16Ulp(-3.0), std::ldexp(1.0, -9));
  EXPECT_EQ(cli::Float16Ulp(1e-6), std::ldexp(1.0, -24));
  for (uint16_t h : {0x3c00, 0x4500, 0x0400, 0x7000}) {  // next number up, minus this one
    EXPECT_EQ(cli::Float16Ulp(HalfToFloat(h)), HalfToFloat(h + 1) - HalfToFloat(h)) << h;
  }
}


// The rule verify applies, at the element level: one float ulp apart fails
// a zero tolerance and passes any tolerance that covers it.
TEST(VerifyCompare, LastBitDifference) {
  Tensor reference = *Tensor::Allocate(DataType::kFloat, {3});
  Tensor optimized = *Tensor::Allocate(DataType::kFloat, {3});
  const float values[3] = {0.5f, -2.0f, 3.0f};
  for (int i = 0; i < 3; ++i) {
    reference.data_as<float>()[i] = values[i];
    optimized.data_as<float>()[i] = values[i];
  }
  optimized.data_as<float>()[1] = std::nextafter(-2.0f, 0.0f);
  cli::Comparison exact = cli::CompareTensors(optimized, reference, 0.0, 0.0);
  EXPECT_FALSE(exact.ok);
  EXPECT_EQ(exact.num_bad, 1);
  EXPECT_EQ(exact.worst_index, 1);
  EXPECT_DOUBLE_EQ(exact.max_abs_err, 2.0 - double{std::nextafter(2.0f, 0.0f)});
  EXPECT_TRUE(cli::CompareTensors(optimized, reference, 1e-6, 0.0).ok);
  EXPECT_TRUE(cli::CompareTensors(optimized, reference, 0.0, 1e-6).ok);
  EXPECT_TRUE(cli::CompareTensors(reference, reference, 0.0, 0.0).ok);
}

TEST(VerifyCompare, OutputScaleToleranceIgnoresNearZeroNoiseButNotRealErrors) {
  // Logits of scale 7 where the near-zero one differs by 7e-5: 70% element-
  // wise, 1e-5 of the output's scale. verify's kOutputScale accepts it at
  // rtol 1e-4; an error of 1e-3 of the scale (e.g. a wrong epsilon) fails.
  Tensor reference = *Tensor::Allocate(DataType::kFloat, {3});
  Tensor optimized = *Tensor::Allocate(DataType::kFloat, {3});
  const float values[3] = {7.0f, 1e-4f, -3.0f};
  for (int i = 0; i < 3; ++i) {
    reference.data_as<float>()[i] = values[i];
    optimized.data_as<float>()[i] = values[i];
  }
  optimized.data_as<float>()[1] = 1.7e-4f;
  cli::Comparison elementwise = cli::CompareTensors(optimized, reference, 1e-4, 1e-5);
  EXPECT_FALSE(elementwise.ok);
  cli::Comparison scaled =
      cli::CompareTensors(optimized, reference, 1e-4, 1e-5, cli::Tolerance::kOutputScale);
  EXPECT_TRUE(scaled.ok);
  EXPECT_DOUBLE_EQ(scaled.scale, 7.0);
  EXPECT_NEAR(scaled.max_rel_err, 7e-5 / 7.0, 1e-9);
  EXPECT_NEAR(scaled.max_elementwise_rel_err, 0.7, 1e-3);

  optimized.data_as<float>()[2] = -3.007f;  // 1e-3 of the scale
  EXPECT_FALSE(
      cli::CompareTensors(optimized, reference, 1e-4, 1e-5, cli::Tolerance::kOutputScale).ok);
}

// ---------------------------------------------------------------- run

// --random-inputs fills every integer type with digits in [0, 10) and
// bfloat16 with values in [-1, 1] (each read back through a Cast).
TEST(RunCli, RandomInputsForEveryNumericType) {
  TempDir dir;
  const char* types[] = {"uint32", "int8", "uint16", "uint64", "int16", "int32", "bfloat16"};
  std::string signature, body, outputs;
  for (int i = 0; i < 7; ++i) {
    const std::string n = std::to_string(i);
    signature += std::string(i ? ", " : "") + types[i] + "[2,3] x" + n;
    outputs += std::string(i ? ", " : "") + "float[2,3] y" + n;
    body += "y" + n + " = Cast <to = 1> (x" + n + ")\n";
  }
  testing::WriteModel(testing::ParseModel("<ir_version: 8, opset_import: [\"\" : 13]>\ng (" +
                                          signature + ") => (" + outputs + ") {\n" + body + "}"),
                      dir.File("m.onnx"));
  testing::CommandResult r = RunBnfold({"run", dir.File("m.onnx"), "--random-inputs", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const JsonValue json = ParseOrFail(r);
  const JsonValue& outs = json["outputs"];
  ASSERT_EQ(outs.size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    const JsonValue& values = outs[i]["values"];
    ASSERT_EQ(values.size(), 6u) << types[i];
    bool varied = false;
    for (size_t k = 0; k < 6; ++k) {
      const double v = values[k].number;
      varied = varied || v != values[0].number;
      if (i == 6) {
        EXPECT_TRUE(v >= -1.0 && v <= 1.0) << v;
      } else {
        EXPECT_TRUE(v >= 0 && v < 10 && v == std::floor(v)) << types[i] << ": " << v;
      }
    }
    EXPECT_TRUE(varied) << types[i];
  }
}

// ---------------------------------------------------------------- bench

TEST(BenchCli, JsonKeys) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  testing::CommandResult r = RunBnfold({"bench", dir.File("m.onnx"), "--iters", "5", "--warmup",
                                        "1", "--threads", "1", "--batch", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const JsonValue json = ParseOrFail(r);
  for (const char* key : {"median_ms", "p90_ms", "min_ms", "load_ms", "compile_ms",
                          "peak_rss_mb"}) {
    EXPECT_EQ(json[key].kind, JsonValue::kNumber) << key;
    EXPECT_GE(json[key].number, 0.0) << key;
  }
  EXPECT_LE(json["min_ms"].number, json["median_ms"].number);
  EXPECT_LE(json["median_ms"].number, json["p90_ms"].number);
  EXPECT_GT(json["peak_rss_mb"].number, 1.0);  // a process with oneDNN loaded
  EXPECT_TRUE(json["optimized"].boolean);
  EXPECT_EQ(json["batch"].number, 2);
  EXPECT_EQ(json["threads"].number, 1);

  testing::CommandResult plain =
      RunBnfold({"bench", dir.File("m.onnx"), "--iters", "2", "--no-optimize", "--json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_FALSE(ParseOrFail(plain)["optimized"].boolean);
}

// --profile: every step of the plan, in run order, with its median over the
// timed runs and its share; the shares add up to one.
TEST(BenchCli, Profile) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  testing::CommandResult r = RunBnfold({"bench", dir.File("m.onnx"), "--iters", "7", "--warmup",
                                        "2", "--threads", "1", "--profile", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const JsonValue json = ParseOrFail(r);
  const JsonValue& profile = json["profile"];
  EXPECT_EQ(profile["runs"].number, 7);  // the timed runs only
  const JsonValue& steps = profile["steps"];
  ASSERT_EQ(steps.kind, JsonValue::kArray);
  ASSERT_GE(steps.size(), 1u);
  double shares = 0.0, medians = 0.0;
  bool relu_seen = false;
  for (size_t i = 0; i < steps.size(); ++i) {
    const JsonValue& step = steps[i];
    EXPECT_EQ(step["label"].kind, JsonValue::kString);
    relu_seen = relu_seen || step["label"].string.rfind("Relu ", 0) == 0;
    EXPECT_FALSE(step["implementation"].string.empty());
    EXPECT_EQ(step["output_shape"].kind, JsonValue::kArray);
    EXPECT_FALSE(step["output_layout"].string.empty());
    EXPECT_GT(step["median_ms"].number, 0.0);
    EXPECT_GT(step["mean_ms"].number, 0.0);
    shares += step["share"].number;
    medians += step["median_ms"].number;
  }
  EXPECT_TRUE(relu_seen);
  EXPECT_NEAR(shares, 1.0, 1e-6);
  EXPECT_NEAR(profile["steps_median_sum_ms"].number, medians, 1e-6 * medians + 1e-9);

  testing::CommandResult text = RunBnfold(
      {"bench", dir.File("m.onnx"), "--iters", "3", "--threads", "1", "--profile"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("profile over 3 runs"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("by operator"), std::string::npos) << text.out;

  // Without --profile the JSON has no profile.
  testing::CommandResult unprofiled =
      RunBnfold({"bench", dir.File("m.onnx"), "--iters", "2", "--json"});
  ASSERT_EQ(unprofiled.exit_code, 0) << unprofiled.err;
  EXPECT_FALSE(ParseOrFail(unprofiled).Has("profile"));
}

TEST(BenchCli, BadUsage) {
  TempDir dir;
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  EXPECT_EQ(RunBnfold({"bench", dir.File("m.onnx"), "--iters", "0"}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"bench", dir.File("m.onnx"), "--batch", "0"}).exit_code, 2);
  EXPECT_EQ(RunBnfold({"bench", dir.File("missing.onnx")}).exit_code, 2);
}

}  // namespace
}  // namespace bnfold
