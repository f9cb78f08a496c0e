#include "tools/serve/metrics.h"

#include <cstdio>

namespace bnfold::serve {

namespace {

// A label value: backslash, quote and newline escaped.
std::string Label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return buf;
}

std::string BucketBound(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Metrics::RecordInference(const std::string& model, const std::string& version,
                              int http_status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  PerModel& m = models_[{model, version}];
  ++m.requests;
  if (http_status != 200) ++m.failures[http_status];
  for (size_t b = 0; b < kBucketCount; ++b) {
    if (seconds <= kBuckets[b]) ++m.buckets[b];
  }
  ++m.count;
  m.sum += seconds;
}

void Metrics::RecordRejected(int http_status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rejected_[http_status];
}

std::string Metrics::Render(const ModelRepository& repo, const WorkerPool& pool) const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  auto labels = [](const std::pair<std::string, std::string>& key) {
    return "model=\"" + Label(key.first) + "\",version=\"" + Label(key.second) + "\"";
  };
  Header(&out, "bnfold_inference_requests_total", "counter",
         "Inference requests that reached a model, by model and version.");
  for (const auto& [key, m] : models_) {
    out += "bnfold_inference_requests_total{" + labels(key) + "} " + std::to_string(m.requests) + "\n";
  }
  Header(&out, "bnfold_inference_failures_total", "counter",
         "Inference requests that reached a model and failed, by HTTP status.");
  for (const auto& [key, m] : models_) {
    for (const auto& [status, n] : m.failures) {
      out += "bnfold_inference_failures_total{" + labels(key) + ",code=\"" +
             std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    }
  }
  Header(&out, "bnfold_inference_request_duration_seconds", "histogram",
         "Time from a request's arrival to its response, in seconds.");
  for (const auto& [key, m] : models_) {
    const std::string l = labels(key);
    for (size_t b = 0; b < kBucketCount; ++b) {
      out += "bnfold_inference_request_duration_seconds_bucket{" + l + ",le=\"" +
             BucketBound(kBuckets[b]) + "\"} " + std::to_string(m.buckets[b]) + "\n";
    }
    out += "bnfold_inference_request_duration_seconds_bucket{" + l + ",le=\"+Inf\"} " +
           std::to_string(m.count) + "\n";
    out += "bnfold_inference_request_duration_seconds_sum{" + l + "} " + Number(m.sum) + "\n";
    out += "bnfold_inference_request_duration_seconds_count{" + l + "} " + std::to_string(m.count) + "\n";
  }
  Header(&out, "bnfold_requests_rejected_total", "counter",
         "Requests refused before reaching a model (unknown model or route, not ready, busy), "
         "by HTTP status.");
  for (const auto& [status, n] : rejected_) {
    out += "bnfold_requests_rejected_total{code=\"" + std::to_string(status) + "\"} " +
           std::to_string(n) + "\n";
  }
  Header(&out, "bnfold_requests_in_flight", "gauge", "Requests being handled.");
  out += "bnfold_requests_in_flight " + std::to_string(in_flight.load()) + "\n";
  Header(&out, "bnfold_session_runs_total", "counter",
         "Session runs made for inference requests (a batch is one run).");
  out += "bnfold_session_runs_total " + std::to_string(pool.runs()) + "\n";
  Header(&out, "bnfold_session_run_requests_total", "counter",
         "Inference requests those runs answered.");
  out += "bnfold_session_run_requests_total " + std::to_string(pool.requests()) + "\n";
  Header(&out, "bnfold_model_ready", "gauge", "1 when the model is loaded and serving.");
  for (const auto& m : repo.models()) {
    out += "bnfold_model_ready{" + labels({m->name, m->version}) + "} " +
           (m->ready.load() ? "1" : "0") + "\n";
  }
  Header(&out, "bnfold_plan_cache_plans", "gauge",
         "Compiled plans a model holds: one per distinct set of input shapes.");
  for (const auto& m : repo.models()) {
    if (!m->ready.load()) continue;
    out += "bnfold_plan_cache_plans{" + labels({m->name, m->version}) + "} " +
           std::to_string(m->session->stats().plans) + "\n";
  }
  return out;
}

}  // namespace bnfold::serve
