// Load + compile + first run against graph size (issue 15): Session
// OpenFromBytes (parse, check, infer types, run the passes) and the first Run
// (plan, create the primitives, run once) of a chain of N Relu, a chain of N
// Add-a-constant, and a wide DAG (N/2 Relu branches summed by a tree of Add),
// on a float[1,8] tensor, one thread. us_per_node is the time per node: flat
// when the cost is linear in N. The graphs are scripts/gen_chain.py's, built
// in process (tests/test_util/scale_graphs.h).
//
// bench/scale_table.py prints the same sizes side by side with ONNX Runtime.
//
//   ./build/bench/bnfold_scale_benchmark [--benchmark_filter=relu]
#include <chrono>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "tests/test_util/scale_graphs.h"

namespace bnfold::bench {
namespace {

using testing::ScaleGraph;

void BM_OpenAndFirstRun(benchmark::State& state, ScaleGraph kind) {
  using Clock = std::chrono::steady_clock;
  const int64_t n = state.range(0);
  const std::string bytes = testing::ScaleGraphBytes(kind, n);
  SessionOptions options;
  options.threads = 1;
  double timed_us = 0.0;
  for (auto _ : state) {
    const Clock::time_point open = Clock::now();
    StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(bytes, options);
    if (!session.ok()) return Fail(state, session.status());
    const Clock::time_point opened = Clock::now();
    state.PauseTiming();
    StatusOr<std::vector<NamedTensor>> inputs = SeededInputs(**session, 1);
    if (!inputs.ok()) return Fail(state, inputs.status());
    state.ResumeTiming();
    const Clock::time_point run = Clock::now();
    std::vector<NamedTensor> outputs;
    Status status = (*session)->Run(*inputs, &outputs);
    if (!status.ok()) return Fail(state, status);
    const Clock::time_point ran = Clock::now();
    timed_us += std::chrono::duration<double, std::micro>((opened - open) + (ran - run)).count();
    state.PauseTiming();
    session->reset();  // freeing is not what a user waits for
    state.ResumeTiming();
  }
  state.counters["nodes"] = static_cast<double>(n);
  state.counters["us_per_node"] =
      benchmark::Counter(timed_us / static_cast<double>(n), benchmark::Counter::kAvgIterations);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1000, 10000, 100000, 200000}) b->Arg(n);
  b->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3)->ReportAggregatesOnly(true);
}

BENCHMARK_CAPTURE(BM_OpenAndFirstRun, relu, ScaleGraph::kRelu)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_OpenAndFirstRun, add, ScaleGraph::kAdd)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_OpenAndFirstRun, wide, ScaleGraph::kWide)->Apply(Sizes);

}  // namespace
}  // namespace bnfold::bench

int main(int argc, char** argv) { return bnfold::bench::RunBenchmarks(argc, argv); }
