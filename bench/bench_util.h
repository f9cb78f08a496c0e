// Shared by the micro-benchmarks: where the seed models are, inputs for a
// session, and a main() that fails when a benchmark could not run (so the
// ctest smoke run proves something).
#pragma once
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/status.h"

namespace bnfold::bench {

// models/<name>.onnx of the source tree (written by scripts/models.sh), or
// of $BNFOLD_MODELS_DIR when set.
std::string SeedModelPath(const std::string& name);

// Marks the benchmark as failed with `status` and makes RunBenchmarks
// return 1.
void Fail(benchmark::State& state, const Status& status);

// Uniform [0, 1) data for every input the session needs, unknown dims set
// to `batch`; seeded, so every iteration and every run sees the same data.
StatusOr<std::vector<NamedTensor>> SeededInputs(const Session& session, int64_t batch);

// benchmark::Initialize + RunSpecifiedBenchmarks; 1 if any benchmark failed.
int RunBenchmarks(int argc, char** argv);

}  // namespace bnfold::bench
