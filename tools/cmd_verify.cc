// bnfold verify MODEL [--input NAME=FILE]... [--random-inputs] [--batch N]
//                     [--seeds K] [--rtol R] [--atol A] [--passes a,b,...]
//                     [--threads T] [--json]
//
// Runs the model twice on the same inputs, with the passes (optimized) and
// without (reference), and compares every output relative to its scale:
// |optimized - reference| <= atol + rtol * max|reference| (see
// tools/compare.h for why not element-wise). The element-wise relative error
// is reported too.
#include <cmath>
#include <iostream>

#include "bnfold/session.h"
#include "tools/cli.h"
#include "tools/compare.h"

namespace bnfold::cli {

namespace {

constexpr const char* kUsage =
    "usage: bnfold verify MODEL [--input NAME=FILE]... [--random-inputs] [--batch N]\n"
    "                    [--seeds K] [--rtol R] [--atol A] [--passes a,b,...]\n"
    "                    [--threads T] [--strict] [--json]\n"
    "  runs MODEL with and without the passes on the same inputs and compares\n"
    "  every output: fails (exit 1) where |optimized - reference| > atol + rtol*max|reference|\n"
    "  (relative to the output's largest magnitude: both graphs compute in float32,\n"
    "  and near-zero elements carry rounding noise of that scale).\n"
    "  inputs not given by --input are random (uniform [-1, 1)), one set per seed\n"
    "  0..K-1 (--seeds, default 3); unknown dims take --batch (default 1).\n"
    "  --rtol default 1e-4, --atol default 1e-5.\n"
    "  --strict   refuse a file for what ONNX Runtime runs anyway (checker\n"
    "             complaints, a contradicted declaration ...) instead of warning\n";

// The agreement of one output over every input set.
struct OutputAgreement {
  std::string name;
  bool ok = true;
  std::string mismatch;  // dtype/shape difference
  double max_abs_err = 0.0;
  double max_rel_err = 0.0;              // max |a-b| / max|b|
  double max_elementwise_rel_err = 0.0;  // max |a-b| / |b|
  double worst_excess = -INFINITY;       // largest |a-b| - (atol + rtol*max|b|)
  int64_t worst_index = -1;
  double worst_optimized = 0.0;
  double worst_reference = 0.0;
  int worst_run = -1;
  int64_t elements_out_of_tolerance = 0;
};

void Accumulate(const Comparison& c, int run, OutputAgreement* agg) {
  if (!c.mismatch.empty()) {
    agg->ok = false;
    if (agg->mismatch.empty()) agg->mismatch = c.mismatch;
    return;
  }
  agg->ok = agg->ok && c.ok;
  agg->max_abs_err = std::max(agg->max_abs_err, c.max_abs_err);
  agg->max_rel_err = std::max(agg->max_rel_err, c.max_rel_err);
  agg->max_elementwise_rel_err = std::max(agg->max_elementwise_rel_err, c.max_elementwise_rel_err);
  agg->elements_out_of_tolerance += c.num_bad;
  if (c.worst_index < 0) return;
  double excess = c.worst_excess;
  if (std::isnan(excess)) excess = INFINITY;  // NaN on one side only
  if (excess > agg->worst_excess) {
    agg->worst_excess = excess;
    agg->worst_index = c.worst_index;
    agg->worst_optimized = c.worst_actual;
    agg->worst_reference = c.worst_expected;
    agg->worst_run = run;
  }
}

struct VerifySettings {
  int64_t batch = 1;
  int64_t seeds = 3;
  double rtol = 1e-4;
  double atol = 1e-5;
};

Status ReadSettings(const Args& args, VerifySettings* s) {
  StatusOr<int64_t> batch = args.GetInt("--batch", s->batch);
  StatusOr<int64_t> seeds = args.GetInt("--seeds", s->seeds);
  StatusOr<double> rtol = args.GetDouble("--rtol", s->rtol);
  StatusOr<double> atol = args.GetDouble("--atol", s->atol);
  for (const Status& st : {batch.status(), seeds.status(), rtol.status(), atol.status()}) {
    if (!st.ok()) return st;
  }
  if (*batch < 1) return InvalidArgument("--batch must be at least 1");
  if (*seeds < 1 || *seeds > 10000) return InvalidArgument("--seeds must be between 1 and 10000");
  if (!(*rtol >= 0) || !std::isfinite(*rtol)) return InvalidArgument("--rtol must be >= 0");
  if (!(*atol >= 0) || !std::isfinite(*atol)) return InvalidArgument("--atol must be >= 0");
  *s = {*batch, *seeds, *rtol, *atol};
  return Status::Ok();
}

// Input sets to run: the given inputs, completed with random ones for each
// seed when some inputs are missing or --random-inputs asks for it.
StatusOr<std::vector<std::vector<NamedTensor>>> BuildInputSets(const Args& args,
                                                               const Session& session,
                                                               const VerifySettings& s,
                                                               std::vector<int>* seeds_used) {
  StatusOr<std::vector<NamedTensor>> given = InputsFromFlags(args.GetAll("--input"));
  if (!given.ok()) return given.status();
  bool missing = false;
  for (const TensorInfo& in : session.inputs()) {
    bool found = false;
    for (const NamedTensor& g : *given) found = found || g.name == in.name;
    missing = missing || !found;
  }
  std::vector<std::vector<NamedTensor>> sets;
  if (!missing && !args.Has("--random-inputs")) {
    sets.push_back(std::move(*given));
    seeds_used->push_back(-1);
    return sets;
  }
  for (int64_t seed = 0; seed < s.seeds; ++seed) {
    StatusOr<std::vector<NamedTensor>> random =
        RandomInputs(session, s.batch, static_cast<uint64_t>(seed));
    if (!random.ok()) return random.status().WithContext(args.positional()[0]);
    std::vector<NamedTensor> set = *given;  // tensors share their buffers
    for (NamedTensor& r : *random) {
      bool is_given = false;
      for (const NamedTensor& g : *given) is_given = is_given || g.name == r.name;
      if (!is_given) set.push_back(std::move(r));
    }
    sets.push_back(std::move(set));
    seeds_used->push_back(static_cast<int>(seed));
  }
  return sets;
}

void PrintJson(bool pass, const Session& optimized, const VerifySettings& s, size_t runs,
               const std::vector<OutputAgreement>& outputs, const std::vector<int>& seeds) {
  Json json;
  json.BeginObject().Key("pass").Bool(pass);
  json.Key("batchnorm_folded")
      .Int(optimized.batchnorm_count_before() - optimized.batchnorm_count_after());
  json.Key("batchnorm_left").Int(optimized.batchnorm_count_after());
  json.Key("rtol").Number(s.rtol).Key("atol").Number(s.atol);
  json.Key("runs").Int(static_cast<int64_t>(runs));
  json.Key("outputs").BeginArray();
  for (const OutputAgreement& o : outputs) {
    json.BeginObject().Key("name").String(o.name).Key("ok").Bool(o.ok);
    json.Key("max_abs_err").Number(o.max_abs_err).Key("max_rel_err").Number(o.max_rel_err);
    json.Key("max_elementwise_rel_err").Number(o.max_elementwise_rel_err);
    json.Key("elements_out_of_tolerance").Int(o.elements_out_of_tolerance);
    if (!o.mismatch.empty()) json.Key("mismatch").String(o.mismatch);
    if (o.worst_index >= 0) {
      json.Key("worst").BeginObject().Key("index").Int(o.worst_index);
      json.Key("optimized").Number(o.worst_optimized).Key("reference").Number(o.worst_reference);
      json.Key("seed");
      if (seeds[o.worst_run] >= 0) {
        json.Int(seeds[o.worst_run]);
      } else {
        json.Null();
      }
      json.EndObject();
    }
    json.EndObject();
  }
  json.EndArray().EndObject();
  std::cout << json.str() << "\n";
}

void PrintText(bool pass, const Session& optimized, const VerifySettings& s,
               const std::vector<OutputAgreement>& outputs, const std::vector<int>& seeds) {
  const int before = optimized.batchnorm_count_before();
  const int after = optimized.batchnorm_count_after();
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
  std::cout << (pass ? "PASS" : "FAIL") << " (rtol " << s.rtol << ", atol " << s.atol << ")\n";
}

}  // namespace

int VerifyCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(
      argv, {"--input", "--batch", "--seeds", "--rtol", "--atol", "--passes", "--threads"},
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
  if (args->Has("--passes")) {
    StatusOr<std::vector<std::string>> passes = ParsePassList(args->Get("--passes"));
    if (!passes.ok()) return ReportError("verify", passes.status());
    optimized_options.passes = *passes;
  }
  SessionOptions reference_options = optimized_options;
  reference_options.optimize = false;
  const std::string& path = args->positional()[0];
  StatusOr<std::unique_ptr<Session>> optimized = Session::Open(path, optimized_options);
  if (!optimized.ok()) return ReportError("verify", optimized.status());
  StatusOr<std::unique_ptr<Session>> reference = Session::Open(path, reference_options);
  if (!reference.ok()) return ReportError("verify", reference.status());
  PrintWarnings("verify", (*optimized)->warnings());

  std::vector<int> seeds;
  StatusOr<std::vector<std::vector<NamedTensor>>> sets =
      BuildInputSets(*args, **reference, settings, &seeds);
  if (!sets.ok()) return ReportError("verify", sets.status());

  std::vector<OutputAgreement> agreements;
  for (const TensorInfo& out : (*reference)->outputs()) {
    agreements.emplace_back();
    agreements.back().name = out.name;
  }
  for (size_t run = 0; run < sets->size(); ++run) {
    std::vector<NamedTensor> expected, actual;
    if (Status s = (*reference)->Run((*sets)[run], &expected); !s.ok()) {
      return ReportError("verify", s.WithContext("reference (unoptimized) run"));
    }
    if (Status s = (*optimized)->Run((*sets)[run], &actual); !s.ok()) {
      return ReportError("verify", s.WithContext("optimized run"));
    }
    for (OutputAgreement& agg : agreements) {
      const Tensor* a = nullptr;
      const Tensor* e = nullptr;
      for (const NamedTensor& t : actual) a = t.name == agg.name ? &t.tensor : a;
      for (const NamedTensor& t : expected) e = t.name == agg.name ? &t.tensor : e;
      if (a == nullptr || e == nullptr) {
        agg.ok = false;
        agg.mismatch = "missing from the " + std::string(a ? "reference" : "optimized") + " outputs";
        continue;
      }
      Accumulate(CompareTensors(*a, *e, settings.rtol, settings.atol, Tolerance::kOutputScale),
                 static_cast<int>(run), &agg);
    }
  }
  bool pass = true;
  for (const OutputAgreement& agg : agreements) pass = pass && agg.ok;
  if (args->Has("--json")) {
    PrintJson(pass, **optimized, settings, sets->size(), agreements, seeds);
  } else {
    PrintText(pass, **optimized, settings, agreements, seeds);
  }
  return pass ? kExitOk : kExitMismatch;
}

}  // namespace bnfold::cli
