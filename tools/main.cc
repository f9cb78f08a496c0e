// The bnfold command line: the table of subcommands below dispatches to
// their entry functions (one cmd_*.cc each, over the public library API
// only) and writes the usage text.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bnfold/version.h"
#include "tools/cli.h"

namespace {

int VersionCommand(const std::vector<std::string>&) {
  std::cout << "bnfold " << bnfold::Version() << "\n";
  return 0;
}

struct Subcommand {
  const char* name;
  const char* arguments;  // after the name in the usage line
  const char* summary;
  int (*entry)(const std::vector<std::string>& args);
};

// Every subcommand, in the order the usage text lists them. A new one is a
// line here plus its cmd_*.cc.
constexpr Subcommand kSubcommands[] = {
    {"run", "MODEL", "run a model on inputs (.pb/.npy) or random inputs",
     bnfold::cli::RunCommand},
    {"optimize", "IN OUT", "fold BatchNormalization (and friends) and write the model",
     bnfold::cli::OptimizeCommand},
    {"verify", "MODEL", "run with and without the passes and compare the outputs",
     bnfold::cli::VerifyCommand},
    {"inspect", "MODEL", "op counts; each BatchNormalization, whether it folds and why",
     bnfold::cli::InspectCommand},
    {"bench", "MODEL", "latency, load/compile time and peak memory", bnfold::cli::BenchCommand},
    {"serve", "MODEL...", "serve models over HTTP (Open Inference Protocol, KServe V2)",
     bnfold::cli::ServeCommand},
    {"check-case", "DIR...", "run ONNX backend test cases (model.onnx + test_data_set_*)",
     bnfold::cli::CheckCaseCommand},
    {"version", "", "print the version", VersionCommand},
};

std::string Usage() {
  std::string usage = "usage: bnfold <command> [options]\n\ncommands:\n";
  for (const Subcommand& command : kSubcommands) {
    const std::string synopsis =
        std::string(command.name) + (*command.arguments ? " " : "") + command.arguments;
    char line[160];
    std::snprintf(line, sizeof line, "  %-17s %s\n", synopsis.c_str(), command.summary);
    usage += line;
  }
  return usage +
         "\n"
         "every command takes --json for machine-readable output.\n"
         "exit codes: 0 ok, 1 numeric mismatch (verify, check-case), 2 bad usage or input.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << Usage();
    return bnfold::cli::kExitBadInput;
  }
  // A write past the file-size limit then fails with EFBIG, which the
  // writers report and clean up after, instead of killing the process with
  // a half-written temporary file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--version") command = "version";
  for (const Subcommand& subcommand : kSubcommands) {
    if (command == subcommand.name) return subcommand.entry(args);
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << Usage();
    return 0;
  }
  std::cerr << "bnfold: unknown command '" << command << "'\n" << Usage();
  return bnfold::cli::kExitBadInput;
}
