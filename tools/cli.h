// Shared pieces of the `bnfold` subcommands: argument parsing, exit codes,
// JSON output, feeding inputs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold::cli {

// Exit codes (the CLI contract in docs/DESIGN.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitMismatch = 1;
inline constexpr int kExitBadInput = 2;

// Parsed command line: positional arguments and --flags. A flag listed in
// `value_flags` takes the next argument as its value; repeated flags keep
// every value.
class Args {
 public:
  static StatusOr<Args> Parse(const std::vector<std::string>& argv,
                              const std::vector<std::string>& value_flags,
                              const std::vector<std::string>& bool_flags);
  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }
  std::string Get(const std::string& flag, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& flag) const;
  StatusOr<int64_t> GetInt(const std::string& flag, int64_t fallback) const;
  StatusOr<double> GetDouble(const std::string& flag, double fallback) const;
  // A byte count: digits with an optional K, M, G or T (powers of 1024), or
  // "none" (0).
  StatusOr<uint64_t> GetBytes(const std::string& flag, uint64_t fallback) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> values_;
};

// The checks a subcommand starts with: --help prints `usage` to stdout
// (exit 0); any number of positional arguments but `positional` prints it to
// stderr (exit 2). Returns the exit code when the command must stop there.
std::optional<int> StopForUsage(const Args& args, size_t positional, const char* usage);

// --max-memory (SessionOptions::max_memory_bytes) into `options`.
Status ApplyMaxMemory(const Args& args, SessionOptions* options);

// Prints "bnfold <command>: <message>" to stderr and returns the exit code
// for `status` (2 for bad input/usage/unsupported, 1 never).
int ReportError(const std::string& command, const Status& status);

// Prints each of `warnings` (what was wrong with a model file that still
// loaded) to stderr as "bnfold <command>: warning: <warning>".
void PrintWarnings(const std::string& command, const std::vector<std::string>& warnings);

// Minimal JSON writer for the --json outputs.
class Json {
 public:
  Json& BeginObject();
  Json& EndObject();
  Json& BeginArray();
  Json& EndArray();
  Json& Key(const std::string& key);
  Json& String(const std::string& value);
  Json& Number(double value);
  Json& Int(int64_t value);
  Json& Bool(bool value);
  Json& Null();
  const std::string& str() const { return out_; }

 private:
  void Separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

// Deterministic pseudo-random inputs for every graph input of `session`,
// resolving unknown dims to `batch`. Floats uniform in [-1, 1), integers in
// [0, 10), bools random.
StatusOr<std::vector<NamedTensor>> RandomInputs(const Session& session, int64_t batch,
                                                uint64_t seed);

// Inputs from `--input NAME=FILE` flags (FILE .pb or .npy).
StatusOr<std::vector<NamedTensor>> InputsFromFlags(const std::vector<std::string>& specs);

// "a,b,c" -> {"a", "b", "c"} for --passes; names are checked when the
// pipeline is built (the error lists the known ones). Defined in
// cmd_optimize.cc.
StatusOr<std::vector<std::string>> ParsePassList(const std::string& list);

// Subcommands.
int RunCommand(const std::vector<std::string>& argv);
int CheckCaseCommand(const std::vector<std::string>& argv);
int OptimizeCommand(const std::vector<std::string>& argv);
int VerifyCommand(const std::vector<std::string>& argv);
int InspectCommand(const std::vector<std::string>& argv);
int BenchCommand(const std::vector<std::string>& argv);
int ServeCommand(const std::vector<std::string>& argv);  // tools/serve/cmd_serve.cc

}  // namespace bnfold::cli
