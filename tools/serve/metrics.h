// What `GET /metrics` reports, in the Prometheus text format (version 0.0.4):
// inference requests and failures per model and version, a latency
// histogram per model, requests in flight, requests refused before they
// reached a model, each model's plan-cache size, and the session runs made
// for the requests (fewer when --max-batch batches them).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "tools/serve/model_repository.h"
#include "tools/serve/worker_pool.h"

namespace bnfold::serve {

class Metrics {
 public:
  // One inference request for a known model, finished with `http_status`
  // after `seconds` (from the request's arrival to its response).
  void RecordInference(const std::string& model, const std::string& version, int http_status,
                       double seconds);
  // Any other failed request (unknown model or route, server busy, ...).
  void RecordRejected(int http_status);

  // Requests being handled right now.
  std::atomic<int64_t> in_flight{0};

  std::string Render(const ModelRepository& models, const WorkerPool& pool) const;

 private:
  static constexpr double kBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1.0,   2.5,   5.0,   10.0};
  static constexpr size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);
  struct PerModel {
    int64_t requests = 0;
    std::map<int, int64_t> failures;  // by HTTP status
    int64_t buckets[kBucketCount] = {};
    int64_t count = 0;
    double sum = 0.0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, PerModel> models_;
  std::map<int, int64_t> rejected_;
};

}  // namespace bnfold::serve
