// What a user waits for before the first result: Session::Open (read,
// check, infer shapes, run the passes) and the first Run (plan the graph,
// create the oneDNN primitives, reorder the weights, then run once), on
// ResNet-50 and MobileNetV2, one thread.
//
// BM_FirstRun also reports steady_run_ms, the second run, so the compile
// part of the first run is first_run - steady_run.
//
// BM_SecondBatch times the first run at batch 8 of a session that has run
// batch 1 already (a second plan: reordered weights it shares with the
// first are not made again).
//
// BM_WinogradWeights times the planner's transform of one 3x3 weights
// tensor into oneDNN's Winograd layout against oneDNN's own reorder, into a
// buffer already touched (the transform alone, no page faults).
//
//   ./build/bench/bnfold_compile_benchmark [--benchmark_filter=mobilenetv2]
#include <omp.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "runtime/backend/onednn/winograd_weights.h"

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

void BM_SecondBatch(benchmark::State& state, const std::string& model) {
  const std::string path = SeedModelPath(model);
  for (auto _ : state) {
    state.PauseTiming();
    StatusOr<std::unique_ptr<Session>> session = Session::Open(path, OneThread(true));
    if (!session.ok()) return Fail(state, session.status());
    StatusOr<std::vector<NamedTensor>> one = SeededInputs(**session, 1);
    StatusOr<std::vector<NamedTensor>> eight = SeededInputs(**session, 8);
    if (!one.ok()) return Fail(state, one.status());
    if (!eight.ok()) return Fail(state, eight.status());
    std::vector<NamedTensor> outputs;
    if (Status s = (*session)->Run(*one, &outputs); !s.ok()) return Fail(state, s);
    outputs.clear();
    state.ResumeTiming();

    if (Status s = (*session)->Run(*eight, &outputs); !s.ok()) return Fail(state, s);

    state.PauseTiming();
    session->reset();
    state.ResumeTiming();
  }
}

// ResNet-50's last 3x3 weights [512, 512, 3, 3] in the layout oneDNN's
// Winograd convolution wants at this batch (F(2,3) at 1, F(4,3) at 8).
void BM_WinogradWeights(benchmark::State& state, bool ours) {
  using tag = dnnl::memory::format_tag;
  const auto f32 = dnnl::memory::data_type::f32;
  const int batch = static_cast<int>(state.range(0));
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  omp_set_num_threads(1);
  const dnnl::memory::desc plain({512, 512, 3, 3}, f32, tag::oihw);
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
      dnnl::memory::desc({batch, 512, 7, 7}, f32, tag::nChw16c),
      dnnl::memory::desc({512, 512, 3, 3}, f32, tag::any), dnnl::memory::desc(),
      dnnl::memory::desc({batch, 512, 7, 7}, f32, tag::nChw16c), {1, 1}, {1, 1}, {1, 1});
  const dnnl::memory::desc wino =
      dnnl::convolution_forward::primitive_desc(desc, engine).weights_desc();
  std::vector<float> weights(512 * 512 * 9);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& w : weights) w = dist(rng);
  std::vector<float> out(wino.get_size() / sizeof(float), 0.0f);
  dnnl::memory from(plain, engine, weights.data());
  dnnl::memory to(wino, engine, out.data());
  dnnl::stream stream(engine);
  const dnnl::reorder reorder(from, to);
  for (auto _ : state) {
    if (ours) {
      bnfold::onednn::TransformWinogradWeights(weights.data(), plain, wino, out.data());
    } else {
      reorder.execute(stream, from, to);
      stream.wait();
    }
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK_CAPTURE(BM_SecondBatch, resnet50, std::string("resnet50"))
    ->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_WinogradWeights, ours, true)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_WinogradWeights, onednn, false)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond);
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
