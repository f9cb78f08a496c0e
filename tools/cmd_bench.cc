// bnfold bench MODEL [--batch N] [--threads T] [--iters K] [--warmup W]
//                    [--no-optimize] [--passes a,b,...] [--input NAME=FILE]...
//                    [--profile] [--json]
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "bnfold/session.h"
#include "tools/cli.h"

namespace bnfold::cli {

namespace {

constexpr const char* kUsage =
    "usage: bnfold bench MODEL [--batch N] [--threads T] [--iters K] [--warmup W]\n"
    "                   [--no-optimize] [--passes a,b,...] [--input NAME=FILE]...\n"
    "                   [--profile] [--strict] [--json] [--max-memory SIZE]\n"
    "  times Session::Open (load + passes), the first run (compiles the plan)\n"
    "  and K timed runs after W warm-up runs (defaults 50 and 5) on random\n"
    "  inputs (batch N for unknown dims, default 1); reports median/p90/min\n"
    "  latency and the process's peak resident memory.\n"
    "  --threads  threads per run (default 0 = every core available)\n"
    "  --max-memory SIZE  bytes one compiled plan may hold, e.g. 8G; 'none' for no\n"
    "             cap (default 64G)\n"
    "  --profile  also time every step of the plan over the K runs (its\n"
    "             median, share, what ran it, its output's shape and layout);\n"
    "             the run times then include two clock reads per step\n"
    "  --strict   refuse MODEL for what ONNX Runtime runs anyway instead of warning\n";

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Peak resident set size of this process in MiB: VmHWM, or getrusage where
// /proc is not mounted.
double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // kB on Linux
}

// What a Session with threads = 0 uses: the cores this process may run on.
int AvailableCores() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
}

// Nearest-rank percentile of sorted `values`.
double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Progress on stderr once a phase has run for a while; silent for quick runs.
class Progress {
 public:
  explicit Progress(std::string phase) : phase_(std::move(phase)), tty_(::isatty(2)) {}
  ~Progress() {
    if (shown_) std::cerr << (tty_ ? "\n" : "");
  }
  void Update(int64_t done, int64_t total) {
    const double elapsed = MillisecondsSince(start_);
    if (elapsed < 2000.0 || elapsed - last_ms_ < 1000.0) return;
    last_ms_ = elapsed;
    shown_ = true;
    std::cerr << (tty_ ? "\r" : "") << "bench: " << phase_ << " " << done << "/" << total
              << (tty_ ? "" : "\n") << std::flush;
  }

 private:
  std::string phase_;
  bool tty_;
  bool shown_ = false;
  Clock::time_point start_ = Clock::now();
  double last_ms_ = 0.0;
};

// Sum of the steps' medians.
double StepsMedianSum(const PlanProfile& plan) {
  double sum = 0.0;
  for (const StepProfile& step : plan.steps) sum += step.median_ms;
  return sum;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text;
  for (int64_t d : shape) text += (text.empty() ? "" : "x") + std::to_string(d);
  return text.empty() ? "scalar" : text;
}

// "profile": {"runs": K, "steps": [{"label", "implementation", "output_shape",
// "output_layout", "median_ms", "mean_ms", "share"}, ...]}, share being the
// step's part of the sum of the steps' medians. bench runs one plan.
void WriteProfileJson(const std::vector<PlanProfile>& profiles, Json* json) {
  json->Key("profile").BeginObject();
  if (!profiles.empty()) {
    const PlanProfile& plan = profiles.front();
    const double sum = StepsMedianSum(plan);
    json->Key("runs").Int(plan.runs).Key("steps_median_sum_ms").Number(sum);
    json->Key("steps").BeginArray();
    for (const StepProfile& step : plan.steps) {
      json->BeginObject().Key("label").String(step.label);
      json->Key("implementation").String(step.implementation);
      json->Key("output_shape").BeginArray();
      for (int64_t d : step.output_shape) json->Int(d);
      json->EndArray().Key("output_layout").String(step.output_layout);
      json->Key("median_ms").Number(step.median_ms).Key("mean_ms").Number(step.mean_ms);
      json->Key("share").Number(sum > 0.0 ? step.median_ms / sum : 0.0).EndObject();
    }
    json->EndArray();
  }
  json->EndObject();
}

// The steps in execution order, then the time per operator kind (the op a
// step is anchored on), largest first.
void PrintProfile(const std::vector<PlanProfile>& profiles, double run_median_ms) {
  if (profiles.empty()) return;
  const PlanProfile& plan = profiles.front();
  const double sum = StepsMedianSum(plan);
  char numbers[128];
  std::snprintf(numbers, sizeof numbers, "%.4g ms (run median %.4g ms)", sum, run_median_ms);
  std::cout << "profile over " << plan.runs << " runs: " << plan.steps.size()
            << " steps, their medians sum to " << numbers << "\n"
            << "    step  median ms  share  implementation | output | nodes\n";
  std::vector<std::pair<std::string, double>> by_op;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const StepProfile& step = plan.steps[i];
    std::snprintf(numbers, sizeof numbers, "  %6zu  %9.4f  %4.1f%%  ", i, step.median_ms,
                  sum > 0.0 ? 100.0 * step.median_ms / sum : 0.0);
    std::cout << numbers << step.implementation << " | " << ShapeText(step.output_shape) << " "
              << step.output_layout << " | " << step.label << "\n";
    const std::string op = step.label.substr(0, step.label.find_first_of(" ("));
    auto it = std::find_if(by_op.begin(), by_op.end(), [&](const auto& e) { return e.first == op; });
    if (it == by_op.end()) {
      by_op.emplace_back(op, step.median_ms);
    } else {
      it->second += step.median_ms;
    }
  }
  std::stable_sort(by_op.begin(), by_op.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::cout << "  by operator (steps anchored on it, fused followers included):\n";
  for (const auto& [op, ms] : by_op) {
    std::snprintf(numbers, sizeof numbers, "    %-22s %9.4f ms  %4.1f%%\n", op.c_str(), ms,
                  sum > 0.0 ? 100.0 * ms / sum : 0.0);
    std::cout << numbers;
  }
}

struct BenchResult {
  double load_ms = 0.0;
  double compile_ms = 0.0;
  std::vector<double> run_ms;  // sorted
  double peak_rss_mb = 0.0;
};

}  // namespace

int BenchCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(
      argv, {"--batch", "--threads", "--iters", "--warmup", "--passes", "--input", "--max-memory"},
      {"--no-optimize", "--profile", "--strict", "--json", "--help"});
  if (!args.ok()) return ReportError("bench", args.status());
  if (std::optional<int> code = StopForUsage(*args, 1, kUsage)) return *code;
  StatusOr<int64_t> batch = args->GetInt("--batch", 1);
  StatusOr<int64_t> threads = args->GetInt("--threads", 0);
  StatusOr<int64_t> iters = args->GetInt("--iters", 50);
  StatusOr<int64_t> warmup = args->GetInt("--warmup", 5);
  for (const Status& s : {batch.status(), threads.status(), iters.status(), warmup.status()}) {
    if (!s.ok()) return ReportError("bench", s);
  }
  if (*batch < 1) return ReportError("bench", InvalidArgument("--batch must be at least 1"));
  if (*threads < 0 || *threads > 4096) {
    return ReportError("bench", InvalidArgument("--threads must be between 0 and 4096"));
  }
  if (*iters < 1 || *iters > 10'000'000) {
    return ReportError("bench", InvalidArgument("--iters must be between 1 and 10000000"));
  }
  if (*warmup < 0 || *warmup > 10'000'000) {
    return ReportError("bench", InvalidArgument("--warmup must be between 0 and 10000000"));
  }
  SessionOptions options;
  options.threads = static_cast<int>(*threads);
  options.optimize = !args->Has("--no-optimize");
  options.profile = args->Has("--profile");
  options.strict = args->Has("--strict");
  if (Status s = ApplyMaxMemory(*args, &options); !s.ok()) return ReportError("bench", s);
  if (args->Has("--passes")) {
    StatusOr<std::vector<std::string>> passes = ParsePassList(args->Get("--passes"));
    if (!passes.ok()) return ReportError("bench", passes.status());
    options.passes = *passes;
  }

  BenchResult result;
  const Clock::time_point open_start = Clock::now();
  StatusOr<std::unique_ptr<Session>> session = Session::Open(args->positional()[0], options);
  if (!session.ok()) return ReportError("bench", session.status());
  result.load_ms = MillisecondsSince(open_start);
  PrintWarnings("bench", (*session)->warnings());

  StatusOr<std::vector<NamedTensor>> inputs = InputsFromFlags(args->GetAll("--input"));
  if (!inputs.ok()) return ReportError("bench", inputs.status());
  StatusOr<std::vector<NamedTensor>> random = RandomInputs(**session, *batch, 0);
  if (!random.ok()) return ReportError("bench", random.status().WithContext(args->positional()[0]));
  for (NamedTensor& r : *random) {
    bool given = false;
    for (const NamedTensor& in : *inputs) given = given || in.name == r.name;
    if (!given) inputs->push_back(std::move(r));
  }

  // Outputs go to the same buffers every run, as a serving loop would.
  std::vector<NamedTensor> outputs;
  const Clock::time_point first_start = Clock::now();
  if (Status s = (*session)->Run(*inputs, &outputs); !s.ok()) return ReportError("bench", s);
  result.compile_ms = MillisecondsSince(first_start);

  {
    Progress progress("warm-up");
    for (int64_t i = 0; i < *warmup; ++i) {
      if (Status s = (*session)->Run(*inputs, &outputs); !s.ok()) return ReportError("bench", s);
      progress.Update(i + 1, *warmup);
    }
  }
  (*session)->TakeProfile();  // the profile covers the timed runs only
  {
    Progress progress("run");
    result.run_ms.reserve(static_cast<size_t>(*iters));
    for (int64_t i = 0; i < *iters; ++i) {
      const Clock::time_point start = Clock::now();
      if (Status s = (*session)->Run(*inputs, &outputs); !s.ok()) return ReportError("bench", s);
      result.run_ms.push_back(MillisecondsSince(start));
      progress.Update(i + 1, *iters);
    }
  }
  std::sort(result.run_ms.begin(), result.run_ms.end());
  result.peak_rss_mb = PeakRssMb();

  const double median = Percentile(result.run_ms, 0.5);
  const double p90 = Percentile(result.run_ms, 0.9);
  double mean = 0.0;
  for (double ms : result.run_ms) mean += ms / static_cast<double>(result.run_ms.size());
  const int used_threads = *threads > 0 ? static_cast<int>(*threads) : AvailableCores();
  const std::vector<PlanProfile> profiles = (*session)->TakeProfile();
  if (args->Has("--json")) {
    Json json;
    json.BeginObject().Key("median_ms").Number(median).Key("p90_ms").Number(p90);
    json.Key("min_ms").Number(result.run_ms.front()).Key("max_ms").Number(result.run_ms.back());
    json.Key("mean_ms").Number(mean);
    json.Key("load_ms").Number(result.load_ms).Key("compile_ms").Number(result.compile_ms);
    json.Key("peak_rss_mb").Number(result.peak_rss_mb);
    json.Key("optimized").Bool(options.optimize);
    json.Key("batchnorm_before").Int((*session)->batchnorm_count_before());
    json.Key("batchnorm_after").Int((*session)->batchnorm_count_after());
    json.Key("batch").Int(*batch).Key("threads").Int(used_threads);
    json.Key("iters").Int(*iters).Key("warmup").Int(*warmup);
    if (options.profile) WriteProfileJson(profiles, &json);
    json.EndObject();
    std::cout << json.str() << "\n";
    return kExitOk;
  }
  char line[256];
  std::cout << args->positional()[0] << (options.optimize ? " (optimized" : " (not optimized")
            << ", BatchNormalization " << (*session)->batchnorm_count_before() << " -> "
            << (*session)->batchnorm_count_after() << "), batch " << *batch << ", "
            << used_threads << " thread" << (used_threads == 1 ? "" : "s") << "\n";
  std::snprintf(line, sizeof line,
                "  load %.4g ms, first run (compiles the plan) %.4g ms\n"
                "  %lld runs: median %.4g ms, p90 %.4g ms, min %.4g ms, mean %.4g ms\n"
                "  peak RSS %.1f MiB\n",
                result.load_ms, result.compile_ms, static_cast<long long>(*iters), median, p90,
                result.run_ms.front(), mean, result.peak_rss_mb);
  std::cout << line;
  if (options.profile) PrintProfile(profiles, median);
  return kExitOk;
}

}  // namespace bnfold::cli
