#include "tools/check_case.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/tensor_io.h"
#include "tools/compare.h"

namespace bnfold::cli {

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

std::vector<std::string> ListDir(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind(prefix, 0) == 0) names.push_back(name);
    }
    closedir(d);
  }
  // input_10 after input_9: sort by the number after the prefix.
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    const auto num = [&](const std::string& s) { return std::atoll(s.c_str() + prefix.size()); };
    return num(a) != num(b) ? num(a) < num(b) : a < b;
  });
  return names;
}

CaseResult FromStatus(const std::string& dir, const Status& status) {
  return {dir, status.code() == StatusCode::kUnsupported ? "unsupported" : "error",
          status.message(), 0.0};
}

// numpy has no bfloat16, so the ONNX test data stores bfloat16 tensors as
// uint16 bit patterns: read them back as what the model declares.
void ReinterpretBfloat16(DataType wanted, Tensor* t) {
  if (wanted == DataType::kBfloat16 && t->dtype() == DataType::kUint16) {
    *t = Tensor::Wrap(DataType::kBfloat16, t->shape(), t->data());
  }
}

}  // namespace

CaseResult RunBackendTestCase(const std::string& dir, bool optimize) {
  SessionOptions options;
  options.optimize = optimize;
  options.threads = 1;
  StatusOr<std::unique_ptr<Session>> session = Session::Open(dir + "/model.onnx", options);
  if (!session.ok()) return FromStatus(dir, session.status());
  const std::vector<std::string> sets = ListDir(dir, "test_data_set_");
  if (sets.empty()) return {dir, "error", "no test_data_set_* folder", 0.0};
  CaseResult result{dir, "pass", "", 0.0};
  for (const std::string& set : sets) {
    const std::string set_dir = dir + "/" + set;
    // Tensors read from files; kept alive while wrapped views point at them.
    std::vector<NamedTensor> files;
    std::vector<NamedTensor> inputs;
    const std::vector<std::string> input_files = ListDir(set_dir, "input_");
    const auto& model_inputs = (*session)->inputs();
    if (input_files.size() > model_inputs.size()) {
      return {dir, "error", set + ": more input files than model inputs", 0.0};
    }
    for (size_t i = 0; i < input_files.size(); ++i) {
      StatusOr<NamedTensor> t = ReadTensorFile(set_dir + "/" + input_files[i]);
      if (!t.ok()) return FromStatus(dir, t.status());
      Tensor view = t->tensor;
      ReinterpretBfloat16(model_inputs[i].dtype, &view);
      files.push_back(std::move(*t));
      inputs.push_back({model_inputs[i].name, view});
    }
    std::vector<NamedTensor> outputs;
    Status run = (*session)->Run(inputs, &outputs);
    if (!run.ok()) return FromStatus(dir, run);
    const std::vector<std::string> output_files = ListDir(set_dir, "output_");
    if (output_files.size() != outputs.size()) {
      return {dir, "fail",
              set + ": model has " + std::to_string(outputs.size()) + " outputs, " +
                  std::to_string(output_files.size()) + " expected",
              0.0};
    }
    for (size_t i = 0; i < output_files.size(); ++i) {
      StatusOr<NamedTensor> expected = ReadTensorFile(set_dir + "/" + output_files[i]);
      if (!expected.ok()) return FromStatus(dir, expected.status());
      Tensor expected_view = expected->tensor;
      ReinterpretBfloat16(outputs[i].tensor.dtype(), &expected_view);
      const Comparison c = CompareTensors(outputs[i].tensor, expected_view, kRtol, kAtol);
      result.max_abs_err = std::max(result.max_abs_err, c.max_abs_err);
      if (!c.ok) {
        result.status = "fail";
        result.reason = set + " output '" + outputs[i].name + "': " + DescribeComparison(c);
        return result;
      }
    }
  }
  return result;
}

}  // namespace bnfold::cli
