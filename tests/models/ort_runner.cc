#include "tests/models/ort_runner.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bnfold/tensor_io.h"
#include "runtime/common/file_util.h"
#include "runtime/common/npy.h"

namespace bnfold::testing {

namespace {

// Single-quoted for /bin/sh: names such as "input:0" or paths with spaces
// reach the script untouched.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Runs `command` through the shell; returns its exit code, or -1.
int System(const std::string& command) {
  const int raw = std::system(command.c_str());
  return raw != -1 && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

std::string OutputPath(const std::string& dir, int index) {
  return dir + "/output_" + std::to_string(index) + ".pb";
}

}  // namespace

OrtRunner OrtRunner::FromEnvironment() {
  OrtRunner runner;
  const char* source = std::getenv("BNFOLD_SOURCE_DIR");
  const std::string root = source ? source : BNFOLD_SOURCE_DIR;
  runner.run_script = root + "/scripts/ort/run.js";
  const char* ort = std::getenv("BNFOLD_ORT_DIR");
  runner.ort_dir = ort ? ort : root + "/.cache/ort";
  return runner;
}

bool OrtRunner::Available(std::string* why) const {
  if (System(node + " --version > /dev/null 2>&1") != 0) {
    *why = "node is not on PATH";
    return false;
  }
  if (!FileExists(ort_dir + "/node_modules/onnxruntime-node/package.json")) {
    *why = "onnxruntime-node is not installed in " + ort_dir + " (run scripts/ort/install.sh)";
    return false;
  }
  return true;
}

StatusOr<std::vector<NamedTensor>> OrtRunner::Run(const std::string& model,
                                                  const std::vector<NamedTensor>& inputs,
                                                  const std::string& work_dir) const {
  ::mkdir(work_dir.c_str(), 0755);
  std::string command = "BNFOLD_ORT_DIR=" + ShellQuote(ort_dir) + " " + node + " " +
                        ShellQuote(run_script) + " " + ShellQuote(model);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string path = work_dir + "/input_" + std::to_string(i) + ".npy";
    StatusOr<std::string> npy = SerializeNpy(inputs[i].tensor);
    if (!npy.ok()) return npy.status();
    Status written = WriteFileAtomically(path, *npy);
    if (!written.ok()) return written;
    command += " --input " + ShellQuote(inputs[i].name + "=" + path);
  }
  const std::string out_dir = work_dir + "/ort";
  const std::string log = work_dir + "/ort.log";
  // Outputs of an earlier run must not pass for this run's.
  for (int i = 0; std::remove(OutputPath(out_dir, i).c_str()) == 0; ++i) {
  }
  // TensorProto outputs carry the graph output names.
  command += " --output-dir " + ShellQuote(out_dir) + " --format pb --threads " +
             std::to_string(threads) + " > " + ShellQuote(log) + " 2>&1";
  const int code = System(command);
  if (code != 0) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return Internal("ONNX Runtime failed (exit " + std::to_string(code) + ") on " + model + ": " +
                    text.str());
  }
  std::vector<NamedTensor> outputs;
  for (int i = 0;; ++i) {
    const std::string path = OutputPath(out_dir, i);
    if (!FileExists(path)) break;
    StatusOr<NamedTensor> t = ReadTensorFile(path);
    if (!t.ok()) return t.status();
    outputs.push_back(std::move(*t));
  }
  return outputs;
}

}  // namespace bnfold::testing
