// The bnfold command line. Each subcommand lives in its own cmd_*.cc and uses
// only the public library API.
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
    "  check-case DIR... run ONNX backend test cases (model.onnx + test_data_set_*)\n"
    "  version           print the version\n"
    "\n"
    "every command takes --json for machine-readable output.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return bnfold::cli::kExitBadInput;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "run") return bnfold::cli::RunCommand(args);
  if (command == "check-case") return bnfold::cli::CheckCaseCommand(args);
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
