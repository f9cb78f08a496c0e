#include "bench/bench_util.h"

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>

namespace bnfold::bench {

namespace {
std::atomic<int> failures{0};
}  // namespace

std::string SeedModelPath(const std::string& name) {
  const char* dir = std::getenv("BNFOLD_MODELS_DIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : BNFOLD_SOURCE_MODELS_DIR) + "/" +
         name + ".onnx";
}

void Fail(benchmark::State& state, const Status& status) {
  ++failures;
  const std::string message = status.message() + " (models come from scripts/models.sh)";
  state.SkipWithError(message.c_str());
}

StatusOr<std::vector<NamedTensor>> SeededInputs(const Session& session, int64_t batch) {
  std::mt19937_64 rng(1234);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<NamedTensor> inputs;
  for (const TensorInfo& info : session.inputs()) {
    std::vector<int64_t> shape;
    for (int64_t d : info.shape) shape.push_back(d < 0 ? batch : d);
    StatusOr<Tensor> tensor = Tensor::Allocate(info.dtype, shape);
    if (!tensor.ok()) return tensor.status().WithContext("input '" + info.name + "'");
    if (!IsFloatingPoint(info.dtype)) {
      return Unsupported("input '" + info.name + "': the benchmarks feed floating-point inputs only, not " +
                         DataTypeName(info.dtype));
    }
    for (int64_t i = 0; i < tensor->num_elements(); ++i) tensor->SetFromDouble(i, uniform(rng));
    inputs.push_back({info.name, std::move(*tensor)});
  }
  return inputs;
}

int RunBenchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (failures > 0) {
    std::cerr << failures << " benchmark(s) could not run\n";
    return 1;
  }
  return 0;
}

}  // namespace bnfold::bench
