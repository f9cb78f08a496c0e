// The CLI under pressure: --max-memory (a plan over the cap refused before it
// is allocated), `optimize` killed while writing (the output is the old file
// or nothing, never a partial one), and input files never modified.
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "tests/test_util/onnx_text.h"
#include "tests/tools/test_models.h"
#include "tests/tools/tool_test_util.h"

extern char** environ;

namespace bnfold {
namespace {

using testing::RunBnfold;
using testing::TempDir;

TEST(MaxMemoryCli, DefaultRefusesAPlanOfTerabytesWithoutAllocatingIt) {
  TempDir dir;
  testing::WriteModel(testing::ParseModel(testing::ManyLargeTensorsText(200)),
                      dir.File("big.onnx"));
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("big.onnx").c_str(), &st), 0);
  EXPECT_LT(st.st_size, 20000);
  // 8 GB of address space: allocating even one of the tensors would fail
  // differently.
  const testing::CommandResult r = RunBnfold(
      {"run", dir.File("big.onnx"), "--random-inputs", "--threads", "1"}, "ulimit -v 8000000;");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("big.onnx"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TiB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("over the memory cap of 64.0 GiB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Expand #1 output 'e0': 8.0 GiB (arena)"), std::string::npos) << r.err;
}

TEST(MaxMemoryCli, FlagOnRunBenchVerify) {
  TempDir dir;
  // W: 2000 floats, 7.8 KiB; activations of 192 bytes at batch 1.
  testing::WriteModel(testing::ReluIdentityModel(), dir.File("m.onnx"));
  const std::string m = dir.File("m.onnx");
  for (const char* command : {"run", "bench", "verify"}) {
    std::vector<std::string> args = {command, m, "--max-memory", "4K", "--threads", "1"};
    if (std::string(command) != "bench") args.push_back("--random-inputs");
    if (std::string(command) == "bench") args.insert(args.end(), {"--iters", "1"});
    testing::CommandResult r = RunBnfold(args);
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("over the memory cap of 4.0 KiB"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("'W': 7.8 KiB (constant)"), std::string::npos) << r.err;
    args[3] = "1M";
    r = RunBnfold(args);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
    args[3] = "none";
    r = RunBnfold(args);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
  }
  const testing::CommandResult bad = RunBnfold({"run", m, "--random-inputs", "--max-memory", "12X"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--max-memory expects a size such as 512M"), std::string::npos)
      << bad.err;
}

// ---------------------------------------------------------------- atomicity

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Size of a file `pid` has open for writing in `dir` (an O_TMPFILE shows as
// "DIR/#inode (deleted)", a named temporary file by its name), or -1.
int64_t OpenOutputSize(pid_t pid, const std::string& dir) {
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const std::string& fd : Entries(fds)) {
    char target[4096];
    const ssize_t n = ::readlink((fds + "/" + fd).c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    const std::string path(target, n);
    if (path.rfind(dir + "/", 0) != 0 || path.find("in.onnx") != std::string::npos) continue;
    struct stat st {};
    if (::stat((fds + "/" + fd).c_str(), &st) == 0) return st.st_size;
  }
  return -1;
}

// `bnfold optimize` of a 64 MB model killed (SIGKILL) as soon as it has
// written part of its output, again and again: the output path holds the
// previous complete file (or nothing, the first time), and nothing else
// appears in the folder.
TEST(OptimizeAtomicity, KilledMidWriteLeavesTheOldFileOrNothing) {
  TempDir dir;
  const std::string in = dir.File("in.onnx"), out = dir.File("out.onnx");
  testing::WriteModel(testing::ReluIdentityModel(16'000'000), in);
  std::string previous;  // the last complete output
  int killed_mid_write = 0;
  for (int round = 0; round < 6; ++round) {
    pid_t pid = 0;
    std::vector<std::string> args = {BNFOLD_BINARY, "optimize", in, out};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&pid, BNFOLD_BINARY, nullptr, nullptr, argv.data(), environ), 0);
    // Rounds 0, 2, 4 are killed once the output has some bytes; 1, 3, 5
    // run to completion, so that a later kill has an old file to keep.
    const bool kill = round % 2 == 0;
    bool saw_write = false;
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = 0;
        break;
      }
      if (kill && OpenOutputSize(pid, dir.path()) > 0) {
        saw_write = true;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        pid = 0;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_EQ(pid, 0) << "optimize did not finish";
    if (saw_write) ++killed_mid_write;
    if (kill && saw_write) {
      EXPECT_TRUE(WIFSIGNALED(status));
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round;
    }
    const std::vector<std::string> entries = Entries(dir.path());
    if (saw_write) {
      // The old file, byte for byte, or none before the first complete run.
      if (previous.empty()) {
        EXPECT_EQ(entries, std::vector<std::string>{"in.onnx"}) << "round " << round;
      } else {
        EXPECT_EQ(entries, (std::vector<std::string>{"in.onnx", "out.onnx"}));
        EXPECT_TRUE(testing::ReadBytes(out) == previous) << "round " << round;
      }
    } else {
      EXPECT_EQ(entries, (std::vector<std::string>{"in.onnx", "out.onnx"}));
      const std::string written = testing::ReadBytes(out);
      // Complete: it parses, and holds the 64 MB weight.
      onnx::ModelProto model;
      ASSERT_TRUE(model.ParseFromString(written)) << "round " << round;
      EXPECT_GT(written.size(), 64'000'000u);
      previous = written;
    }
  }
  // Each killed round was caught with a partly written output open.
  EXPECT_EQ(killed_mid_write, 3);
}

// optimize, verify and inspect on a read-only input: it is unchanged, byte
// for byte, and its mode and mtime are kept.
TEST(InputFiles, ReadOnlyInputIsNeverModified) {
  TempDir dir;
  const std::string in = dir.File("in.onnx");
  testing::WriteModel(testing::ThreeBatchNormModel(), in);
  ASSERT_EQ(::chmod(in.c_str(), 0444), 0);
  const std::string before = testing::ReadBytes(in);
  struct stat st_before {};
  ASSERT_EQ(::stat(in.c_str(), &st_before), 0);
  const std::vector<std::vector<std::string>> commands = {
      {"optimize", in, dir.File("out.onnx")},
      {"verify", in, "--random-inputs", "--threads", "1"},
      {"inspect", in},
      {"run", in, "--random-inputs", "--threads", "1"},
      // Refused (the output is the input), and still not touched.
      {"optimize", in, in},
  };
  for (const auto& args : commands) {
    const testing::CommandResult r = RunBnfold(args);
    EXPECT_EQ(r.exit_code, args[0] == "optimize" && args[2] == in ? 2 : 0)
        << args[0] << ": " << r.err;
    struct stat st {};
    ASSERT_EQ(::stat(in.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0444u) << args[0];
    EXPECT_EQ(st.st_mtim.tv_sec, st_before.st_mtim.tv_sec) << args[0];
    EXPECT_EQ(st.st_mtim.tv_nsec, st_before.st_mtim.tv_nsec) << args[0];
    EXPECT_TRUE(testing::ReadBytes(in) == before) << args[0] << " changed the input";
  }
  // optimize did fold: the output differs from the input.
  EXPECT_FALSE(testing::ReadBytes(dir.File("out.onnx")) == before);
}

}  // namespace
}  // namespace bnfold
