#include "tools/verify.h"

#include <algorithm>
#include <cmath>

#include "tools/cli.h"
#include "tools/compare.h"

namespace bnfold::cli {

namespace {

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

// Input sets to run: the given inputs, completed with random ones for each
// seed when some inputs are missing or `random_inputs` asks for it.
StatusOr<std::vector<std::vector<NamedTensor>>> BuildInputSets(
    const std::vector<NamedTensor>& given, bool random_inputs, const Session& session,
    const VerifySettings& s, const std::string& source, std::vector<int>* seeds_used) {
  bool missing = false;
  for (const TensorInfo& in : session.inputs()) {
    bool found = false;
    for (const NamedTensor& g : given) found = found || g.name == in.name;
    missing = missing || !found;
  }
  std::vector<std::vector<NamedTensor>> sets;
  if (!missing && !random_inputs) {
    sets.push_back(given);  // tensors share their buffers
    seeds_used->push_back(-1);
    return sets;
  }
  for (int64_t seed = 0; seed < s.seeds; ++seed) {
    StatusOr<std::vector<NamedTensor>> random =
        RandomInputs(session, s.batch, static_cast<uint64_t>(seed));
    if (!random.ok()) return random.status().WithContext(source);
    std::vector<NamedTensor> set = given;
    for (NamedTensor& r : *random) {
      bool is_given = false;
      for (const NamedTensor& g : given) is_given = is_given || g.name == r.name;
      if (!is_given) set.push_back(std::move(r));
    }
    sets.push_back(std::move(set));
    seeds_used->push_back(static_cast<int>(seed));
  }
  return sets;
}

}  // namespace

Status CheckVerifySettings(const VerifySettings& s) {
  if (s.batch < 1) return InvalidArgument("--batch must be at least 1");
  if (s.seeds < 1 || s.seeds > 10000) return InvalidArgument("--seeds must be between 1 and 10000");
  if (!(s.rtol >= 0) || !std::isfinite(s.rtol)) return InvalidArgument("--rtol must be >= 0");
  if (!(s.atol >= 0) || !std::isfinite(s.atol)) return InvalidArgument("--atol must be >= 0");
  if (!(s.float16_ulps >= 0) || !std::isfinite(s.float16_ulps)) {
    return InvalidArgument("--float16-ulps must be >= 0");
  }
  return Status::Ok();
}

StatusOr<VerifyResult> VerifyModel(const SessionOpener& open, const SessionOptions& options,
                                   const std::vector<NamedTensor>& given, bool random_inputs,
                                   const VerifySettings& settings, const std::string& source) {
  if (Status s = CheckVerifySettings(settings); !s.ok()) return s;
  SessionOptions optimized_options = options;
  optimized_options.optimize = true;
  SessionOptions reference_options = options;
  reference_options.optimize = false;
  StatusOr<std::unique_ptr<Session>> optimized = open(optimized_options);
  if (!optimized.ok()) return optimized.status();
  StatusOr<std::unique_ptr<Session>> reference = open(reference_options);
  if (!reference.ok()) return reference.status();

  VerifyResult result;
  result.batchnorm_before = (*optimized)->batchnorm_count_before();
  result.batchnorm_after = (*optimized)->batchnorm_count_after();
  result.warnings = (*optimized)->warnings();
  StatusOr<std::vector<std::vector<NamedTensor>>> sets =
      BuildInputSets(given, random_inputs, **reference, settings, source, &result.seeds);
  if (!sets.ok()) return sets.status();

  for (const TensorInfo& out : (*reference)->outputs()) {
    result.outputs.emplace_back();
    result.outputs.back().name = out.name;
  }
  for (size_t run = 0; run < sets->size(); ++run) {
    std::vector<NamedTensor> expected, actual;
    if (Status s = (*reference)->Run((*sets)[run], &expected); !s.ok()) {
      return s.WithContext("reference (unoptimized) run");
    }
    if (Status s = (*optimized)->Run((*sets)[run], &actual); !s.ok()) {
      return s.WithContext("optimized run");
    }
    for (OutputAgreement& agg : result.outputs) {
      const Tensor* a = nullptr;
      const Tensor* e = nullptr;
      for (const NamedTensor& t : actual) a = t.name == agg.name ? &t.tensor : a;
      for (const NamedTensor& t : expected) e = t.name == agg.name ? &t.tensor : e;
      if (a == nullptr || e == nullptr) {
        agg.ok = false;
        agg.mismatch = "missing from the " + std::string(a ? "reference" : "optimized") + " outputs";
        continue;
      }
      if (e->dtype() == DataType::kFloat16 && a->dtype() == e->dtype()) {
        // In float16 ulps of the output scale: atol = U * ulp16(max|e|).
        double scale = 0.0;
        for (int64_t i = 0; i < e->num_elements(); ++i) {
          const double v = std::fabs(e->GetAsDouble(i));
          if (std::isfinite(v)) scale = std::max(scale, v);
        }
        const double ulp = Float16Ulp(scale);
        const Comparison c =
            CompareTensors(*a, *e, 0.0, settings.float16_ulps * ulp, Tolerance::kOutputScale);
        agg.float16 = true;
        if (c.mismatch.empty()) agg.max_ulps_err = std::max(agg.max_ulps_err, c.max_abs_err / ulp);
        Accumulate(c, static_cast<int>(run), &agg);
        continue;
      }
      Accumulate(CompareTensors(*a, *e, settings.rtol, settings.atol, Tolerance::kOutputScale),
                 static_cast<int>(run), &agg);
    }
  }
  for (const OutputAgreement& agg : result.outputs) result.pass = result.pass && agg.ok;
  return result;
}

std::string VerifyJson(const VerifyResult& r, const VerifySettings& s) {
  Json json;
  json.BeginObject().Key("pass").Bool(r.pass);
  json.Key("batchnorm_folded").Int(r.batchnorm_before - r.batchnorm_after);
  json.Key("batchnorm_left").Int(r.batchnorm_after);
  json.Key("rtol").Number(s.rtol).Key("atol").Number(s.atol);
  json.Key("float16_ulps").Number(s.float16_ulps);
  json.Key("runs").Int(static_cast<int64_t>(r.seeds.size()));
  json.Key("outputs").BeginArray();
  for (const OutputAgreement& o : r.outputs) {
    json.BeginObject().Key("name").String(o.name).Key("ok").Bool(o.ok);
    json.Key("max_abs_err").Number(o.max_abs_err).Key("max_rel_err").Number(o.max_rel_err);
    json.Key("max_elementwise_rel_err").Number(o.max_elementwise_rel_err);
    json.Key("tolerance").String(o.float16 ? "float16_ulps" : "rtol_atol");
    if (o.float16) json.Key("max_ulps_err").Number(o.max_ulps_err);
    json.Key("elements_out_of_tolerance").Int(o.elements_out_of_tolerance);
    if (!o.mismatch.empty()) json.Key("mismatch").String(o.mismatch);
    if (o.worst_index >= 0) {
      json.Key("worst").BeginObject().Key("index").Int(o.worst_index);
      json.Key("optimized").Number(o.worst_optimized).Key("reference").Number(o.worst_reference);
      json.Key("seed");
      if (r.seeds[o.worst_run] >= 0) {
        json.Int(r.seeds[o.worst_run]);
      } else {
        json.Null();
      }
      json.EndObject();
    }
    json.EndObject();
  }
  json.EndArray().EndObject();
  return json.str();
}

}  // namespace bnfold::cli
