// The bnfold command line. Each subcommand lives in its own cmd_*.cc and uses
// only the public library API.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "bnfold/version.h"
#include "tools/cli.h"

namespace {

constexpr const char* kUsage =
    "usage: bnfold <command> [options]\n"
    "\n"
    "commands:\n"
    "  run MODEL         run a model on inputs (.pb/.npy) or random inputs\n"
    "  optimize IN OUT   fold BatchNormalization (and friends) and write the model\n"
    "  verify MODEL      run with and without the passes and compare the outputs\n"
    "  inspect MODEL     op counts; each BatchNormalization, whether it folds and why\n"
    "  bench MODEL       latency, load/compile time and peak memory\n"
    "  serve MODEL...    serve models over HTTP (Open Inference Protocol, KServe V2)\n"
    "  check-case DIR... run ONNX backend test cases (model.onnx + test_data_set_*)\n"
    "  version           print the version\n"
    "\n"
    "every command takes --json for machine-readable output.\n"
    "exit codes: 0 ok, 1 numeric mismatch (verify, check-case), 2 bad usage or input.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return bnfold::cli::kExitBadInput;
  }
  // A write past the file-size limit then fails with EFBIG, which the
  // writers report and clean up after, instead of killing the process with
  // a half-written temporary file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "run") return bnfold::cli::RunCommand(args);
  if (command == "check-case") return bnfold::cli::CheckCaseCommand(args);
  if (command == "optimize") return bnfold::cli::OptimizeCommand(args);
  if (command == "verify") return bnfold::cli::VerifyCommand(args);
  if (command == "inspect") return bnfold::cli::InspectCommand(args);
  if (command == "bench") return bnfold::cli::BenchCommand(args);
  if (command == "serve") return bnfold::cli::ServeCommand(args);
  if (command == "version" || command == "--version") {
    std::cout << "bnfold " << bnfold::Version() << "\n";
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "bnfold: unknown command '" << command << "'\n" << kUsage;
  return bnfold::cli::kExitBadInput;
}
