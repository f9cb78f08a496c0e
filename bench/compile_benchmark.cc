// What a user waits for before the first result: Session::Open (read,
// check, infer shapes, run the passes) and the first Run (plan the graph,
// create the oneDNN primitives, reorder the weights, then run once), on
// ResNet-50 and MobileNetV2, one thread.
//
// BM_FirstRun also reports steady_run_ms, the second run, so the compile
// part of the first run is first_run - steady_run.
//
//   ./build/bench/bnfold_compile_benchmark [--benchmark_filter=mobilenetv2]
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace bnfold::bench {
namespace {

using Clock = std::chrono::steady_clock;

SessionOptions OneThread(bool optimize) {
  SessionOptions options;
  options.threads = 1;
  options.optimize = optimize;
  return options;
}

void BM_SessionOpen(benchmark::State& state, const std::string& model, bool optimize) {
  const std::string path = SeedModelPath(model);
  for (auto _ : state) {
    StatusOr<std::unique_ptr<Session>> session = Session::Open(path, OneThread(optimize));
    if (!session.ok()) return Fail(state, session.status());
    state.PauseTiming();
    session->reset();
    state.ResumeTiming();
  }
}

void BM_FirstRun(benchmark::State& state, const std::string& model, bool optimize) {
  const std::string path = SeedModelPath(model);
  double steady_ms = 0.0;
  for (auto _ : state) {
    state.PauseTiming();
    StatusOr<std::unique_ptr<Session>> session = Session::Open(path, OneThread(optimize));
    if (!session.ok()) return Fail(state, session.status());
    StatusOr<std::vector<NamedTensor>> inputs = SeededInputs(**session, 1);
    if (!inputs.ok()) return Fail(state, inputs.status());
    std::vector<NamedTensor> outputs;
    state.ResumeTiming();

    if (Status s = (*session)->Run(*inputs, &outputs); !s.ok()) return Fail(state, s);

    state.PauseTiming();
    const Clock::time_point start = Clock::now();
    if (Status s = (*session)->Run(*inputs, &outputs); !s.ok()) return Fail(state, s);
    steady_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    session->reset();
    state.ResumeTiming();
  }
  state.counters["steady_run_ms"] =
      benchmark::Counter(steady_ms, benchmark::Counter::kAvgIterations);
}

BENCHMARK_CAPTURE(BM_SessionOpen, resnet50, std::string("resnet50"), true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SessionOpen, resnet50_no_optimize, std::string("resnet50"), false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SessionOpen, mobilenetv2, std::string("mobilenetv2"), true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SessionOpen, mobilenetv2_no_optimize, std::string("mobilenetv2"), false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FirstRun, resnet50, std::string("resnet50"), true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FirstRun, mobilenetv2, std::string("mobilenetv2"), true)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bnfold::bench

int main(int argc, char** argv) { return bnfold::bench::RunBenchmarks(argc, argv); }
