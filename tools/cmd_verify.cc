// bnfold verify MODEL [--input NAME=FILE]... [--random-inputs] [--batch N]
//                     [--seeds K] [--rtol R] [--atol A] [--float16-ulps U]
//                     [--passes a,b,...] [--threads T] [--json]
//
// Runs the model twice on the same inputs, with the passes (optimized) and
// without (reference), and compares every output relative to its scale:
// |optimized - reference| <= atol + rtol * max|reference| (see
// tools/compare.h for why not element-wise); a float16 output within U
// float16 ulps of its scale. The element-wise relative error is reported too.
#include <cmath>
#include <iostream>

#include "bnfold/session.h"
#include "tools/cli.h"
#include "tools/verify.h"

namespace bnfold::cli {

namespace {

constexpr const char* kUsage =
    "usage: bnfold verify MODEL [--input NAME=FILE]... [--random-inputs] [--batch N]\n"
    "                    [--seeds K] [--rtol R] [--atol A] [--float16-ulps U]\n"
    "                    [--passes a,b,...] [--threads T] [--strict] [--json]\n"
    "                    [--max-memory SIZE]\n"
    "  runs MODEL with and without the passes on the same inputs and compares\n"
    "  every output: fails (exit 1) where |optimized - reference| > atol + rtol*max|reference|\n"
    "  (relative to the output's largest magnitude: both graphs compute in float32,\n"
    "  and near-zero elements carry rounding noise of that scale).\n"
    "  inputs not given by --input are random (uniform [-1, 1)), one set per seed\n"
    "  0..K-1 (--seeds, default 3); unknown dims take --batch (default 1).\n"
    "  --rtol default 1e-4, --atol default 1e-5. float16 outputs are judged in\n"
    "  float16 ulps of the output scale instead: |optimized - reference| <=\n"
    "  U * ulp16(max|reference|), --float16-ulps default 64 (the folded graph\n"
    "  rounds each folded weight once, the unfolded one every Conv and BN output).\n"
    "  --strict   refuse a file for what ONNX Runtime runs anyway (checker\n"
    "             complaints, a contradicted declaration ...) instead of warning\n";

Status ReadSettings(const Args& args, VerifySettings* s) {
  StatusOr<int64_t> batch = args.GetInt("--batch", s->batch);
  StatusOr<int64_t> seeds = args.GetInt("--seeds", s->seeds);
  StatusOr<double> rtol = args.GetDouble("--rtol", s->rtol);
  StatusOr<double> atol = args.GetDouble("--atol", s->atol);
  StatusOr<double> ulps = args.GetDouble("--float16-ulps", s->float16_ulps);
  for (const Status& st :
       {batch.status(), seeds.status(), rtol.status(), atol.status(), ulps.status()}) {
    if (!st.ok()) return st;
  }
  const VerifySettings read{*batch, *seeds, *rtol, *atol, *ulps};
  if (Status st = CheckVerifySettings(read); !st.ok()) return st;
  *s = read;
  return Status::Ok();
}

void PrintText(const VerifyResult& r, const VerifySettings& s) {
  const bool pass = r.pass;
  const std::vector<OutputAgreement>& outputs = r.outputs;
  const std::vector<int>& seeds = r.seeds;
  const int before = r.batchnorm_before;
  const int after = r.batchnorm_after;
  std::cout << "BatchNormalization: " << before << " -> " << after << " (" << before - after
            << " folded)\n";
  if (seeds.size() == 1 && seeds[0] < 0) {
    std::cout << "inputs: as given\n";
  } else {
    std::cout << "inputs: " << seeds.size() << " random set" << (seeds.size() == 1 ? "" : "s")
              << " (seeds 0.." << seeds.size() - 1 << ", batch " << s.batch << ")\n";
  }
  for (const OutputAgreement& o : outputs) {
    std::cout << "  " << o.name << ": " << (o.ok ? "ok" : "MISMATCH");
    if (!o.mismatch.empty()) {
      std::cout << ": " << o.mismatch << "\n";
      continue;
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, ", max abs %.3g, max rel %.3g of the output scale (element-wise %.3g)",
                  o.max_abs_err, o.max_rel_err, o.max_elementwise_rel_err);
    std::cout << buf;
    if (o.float16) {
      std::snprintf(buf, sizeof buf, ", %.3g float16 ulps of the output scale", o.max_ulps_err);
      std::cout << buf;
    }
    if (o.worst_index >= 0 && o.max_abs_err > 0) {
      std::snprintf(buf, sizeof buf, ", worst element %lld: %.9g (optimized) vs %.9g",
                    static_cast<long long>(o.worst_index), o.worst_optimized, o.worst_reference);
      std::cout << buf;
      if (seeds[o.worst_run] >= 0) std::cout << " (seed " << seeds[o.worst_run] << ")";
    }
    if (o.elements_out_of_tolerance > 0) {
      std::cout << ", " << o.elements_out_of_tolerance << " elements out of tolerance";
    }
    std::cout << "\n";
  }
  bool any_float16 = false;
  for (const OutputAgreement& o : outputs) any_float16 = any_float16 || o.float16;
  std::cout << (pass ? "PASS" : "FAIL") << " (rtol " << s.rtol << ", atol " << s.atol;
  if (any_float16) {
    std::cout << "; float16 outputs: within " << s.float16_ulps
              << " float16 ulps of the output scale";
  }
  std::cout << ")\n";
}

}  // namespace

int VerifyCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(
      argv, {"--input", "--batch", "--seeds", "--rtol", "--atol", "--float16-ulps", "--passes",
             "--threads", "--max-memory"},
      {"--random-inputs", "--strict", "--json", "--help"});
  if (!args.ok()) return ReportError("verify", args.status());
  if (std::optional<int> code = StopForUsage(*args, 1, kUsage)) return *code;
  VerifySettings settings;
  if (Status s = ReadSettings(*args, &settings); !s.ok()) return ReportError("verify", s);
  StatusOr<int64_t> threads = args->GetInt("--threads", 0);
  if (!threads.ok()) return ReportError("verify", threads.status());

  SessionOptions optimized_options;
  optimized_options.threads = static_cast<int>(*threads);
  optimized_options.strict = args->Has("--strict");
  if (Status s = ApplyMaxMemory(*args, &optimized_options); !s.ok()) {
    return ReportError("verify", s);
  }
  if (args->Has("--passes")) {
    StatusOr<std::vector<std::string>> passes = ParsePassList(args->Get("--passes"));
    if (!passes.ok()) return ReportError("verify", passes.status());
    optimized_options.passes = *passes;
  }
  const std::string& path = args->positional()[0];
  StatusOr<std::vector<NamedTensor>> given = InputsFromFlags(args->GetAll("--input"));
  if (!given.ok()) return ReportError("verify", given.status());
  const SessionOpener open = [&path](const SessionOptions& options) {
    return Session::Open(path, options);
  };
  StatusOr<VerifyResult> result = VerifyModel(open, optimized_options, *given,
                                              args->Has("--random-inputs"), settings, path);
  if (!result.ok()) return ReportError("verify", result.status());
  PrintWarnings("verify", result->warnings);
  if (args->Has("--json")) {
    std::cout << VerifyJson(*result, settings) << "\n";
  } else {
    PrintText(*result, settings);
  }
  return result->pass ? kExitOk : kExitMismatch;
}

}  // namespace bnfold::cli
