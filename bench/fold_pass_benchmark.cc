// Cost of the graph passes on real networks: the default pipeline and
// fold-batchnorm alone, on ResNet-50 and MobileNetV2 loaded once. Each
// iteration rewrites a fresh clone of the graph (the clone and its
// destruction are not timed); the weights the folds create are part of the
// cost, since that is what Session::Open pays.
//
//   ./build/bench/bnfold_fold_pass_benchmark [--benchmark_filter=resnet50]
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "passes/pass.h"
#include "runtime/constant_evaluator.h"
#include "runtime/onnx/loader.h"

namespace bnfold::bench {
namespace {

// Loading (checker and shape inference included) takes longer than the
// passes, so each model is loaded once for every benchmark.
const StatusOr<onnx_io::LoadedModel>& LoadedSeedModel(const std::string& name) {
  static std::map<std::string, std::unique_ptr<StatusOr<onnx_io::LoadedModel>>> cache;
  std::unique_ptr<StatusOr<onnx_io::LoadedModel>>& entry = cache[name];
  if (entry == nullptr) {
    entry = std::make_unique<StatusOr<onnx_io::LoadedModel>>(
        onnx_io::LoadModelFile(SeedModelPath(name)));
  }
  return *entry;
}

void BM_Passes(benchmark::State& state, const std::string& model,
               const std::vector<std::string>& passes) {
  const StatusOr<onnx_io::LoadedModel>& loaded = LoadedSeedModel(model);
  if (!loaded.ok()) return Fail(state, loaded.status());
  StatusOr<passes::PassManager> manager =
      passes::PassManager::Create(passes, RuntimePassOptions());
  if (!manager.ok()) return Fail(state, manager.status());

  passes::PipelineReport report;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<ir::Graph> graph = loaded->model.graph->Clone();
    report = {};
    state.ResumeTiming();
    if (Status s = manager->Run(*graph, &report); !s.ok()) return Fail(state, s);
    state.PauseTiming();
    graph.reset();
    state.ResumeTiming();
  }
  state.counters["batchnorm_before"] = report.batchnorm_before;
  state.counters["batchnorm_after"] = report.batchnorm_after;
  state.counters["nodes_before"] = report.nodes_before;
  state.counters["nodes_after"] = report.nodes_after;
}

// The untimed part of every iteration above, on its own: what the clone costs.
void BM_CloneGraph(benchmark::State& state, const std::string& model) {
  const StatusOr<onnx_io::LoadedModel>& loaded = LoadedSeedModel(model);
  if (!loaded.ok()) return Fail(state, loaded.status());
  for (auto _ : state) {
    std::unique_ptr<ir::Graph> graph = loaded->model.graph->Clone();
    benchmark::DoNotOptimize(graph.get());
  }
}

const std::vector<std::string> kDefaultPipeline = {};  // empty = default
const std::vector<std::string> kFoldBatchNormOnly = {"fold-batchnorm"};

BENCHMARK_CAPTURE(BM_Passes, resnet50_default, std::string("resnet50"), kDefaultPipeline)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Passes, resnet50_fold_batchnorm, std::string("resnet50"), kFoldBatchNormOnly)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Passes, mobilenetv2_default, std::string("mobilenetv2"), kDefaultPipeline)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Passes, mobilenetv2_fold_batchnorm, std::string("mobilenetv2"),
                  kFoldBatchNormOnly)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CloneGraph, resnet50, std::string("resnet50"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CloneGraph, mobilenetv2, std::string("mobilenetv2"))
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bnfold::bench

int main(int argc, char** argv) { return bnfold::bench::RunBenchmarks(argc, argv); }
