// The folded-vs-unfolded check behind `bnfold verify` and the Python module's
// bnfold.verify(): the model runs with the passes (optimized) and without
// (reference) on the same inputs, and every output is compared relative to
// its scale, |optimized - reference| <= atol + rtol * max|reference| (see
// tools/compare.h for why not element-wise). Both callers get the same
// numbers, and the same JSON (VerifyJson).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold::cli {

struct VerifySettings {
  int64_t batch = 1;  // for dims the model leaves open, in random inputs
  int64_t seeds = 3;  // random input sets 0..seeds-1
  double rtol = 1e-4;
  double atol = 1e-5;
  // float16 outputs: |optimized - reference| <= float16_ulps *
  // ulp16(max|reference|), in float16 ulps of the output scale (rtol/atol
  // judge the other outputs). The two runs round differently: the folded
  // weights once, the unfolded graph a Conv's output and again the BN's;
  // 50-layer torchvision exports differ by up to ~30 ulps (models/README.md).
  double float16_ulps = 64;
};

// Checks the ranges `bnfold verify` accepts (names the flags in errors).
Status CheckVerifySettings(const VerifySettings& settings);

// The agreement of one output over every input set.
struct OutputAgreement {
  std::string name;
  bool ok = true;
  std::string mismatch;  // dtype/shape difference
  double max_abs_err = 0.0;
  double max_rel_err = 0.0;              // max |a-b| / max|b|
  double max_elementwise_rel_err = 0.0;  // max |a-b| / |b|
  bool float16 = false;        // judged in float16 ulps of the output scale
  double max_ulps_err = 0.0;   // float16: max |a-b| / ulp16(max|b|) over the runs
  double worst_excess = -INFINITY;       // largest |a-b| - (atol + rtol*max|b|)
  int64_t worst_index = -1;
  double worst_optimized = 0.0;
  double worst_reference = 0.0;
  int worst_run = -1;
  int64_t elements_out_of_tolerance = 0;
};

struct VerifyResult {
  bool pass = true;
  int batchnorm_before = 0;
  int batchnorm_after = 0;
  std::vector<OutputAgreement> outputs;
  // The seed of each input set run, -1 for the inputs as given.
  std::vector<int> seeds;
  // What was wrong with the file but did not stop it (Session::warnings).
  std::vector<std::string> warnings;
};

// Opens the model with the given options (the caller decides: a file, bytes).
using SessionOpener =
    std::function<StatusOr<std::unique_ptr<Session>>(const SessionOptions& options)>;

// Runs the check. `options` are the optimized session's (threads, passes);
// the reference session is the same with optimize off. Inputs not in
// `given` are random, one set per seed; with every input given and
// `random_inputs` false, the given inputs are the only set.
StatusOr<VerifyResult> VerifyModel(const SessionOpener& open, const SessionOptions& options,
                                   const std::vector<NamedTensor>& given, bool random_inputs,
                                   const VerifySettings& settings, const std::string& source);

// `bnfold verify --json` (docs/DESIGN.md, CLI contract).
std::string VerifyJson(const VerifyResult& result, const VerifySettings& settings);

}  // namespace bnfold::cli
