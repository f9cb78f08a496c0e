// The HTTP routes of `bnfold serve` (Open Inference Protocol, KServe V2 REST):
//
//   GET  /v2/health/live                              200
//   GET  /v2/health/ready                             200, 503 while loading or draining
//   GET  /v2                                          server metadata
//   GET  /v2/models/NAME[/versions/V]                 model metadata
//   GET  /v2/models/NAME[/versions/V]/ready           200, 503 while loading
//   POST /v2/models/NAME[/versions/V]/infer           inference (JSON or binary tensors)
//   GET  /metrics                                     Prometheus text format
//
// Errors are {"error": "..."} with 400 (bad request: malformed JSON, unknown
// input or output, wrong datatype or shape, body or tensors over the
// limits), 404 (unknown model, version or route), 503 (not ready, or busy:
// --max-concurrency requests already in flight) and 500 (a failure of the
// server or the model). Every request body is consumed to its end, even
// when refused, so that a keep-alive connection stays in step; only the
// first --max-body-bytes of it are ever stored.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "tools/serve/metrics.h"
#include "tools/serve/model_repository.h"
#include "tools/serve/worker_pool.h"

namespace httplib {
class Server;
}

namespace bnfold::serve {

struct Limits {
  size_t max_body_bytes = size_t{64} << 20;
  int64_t max_tensor_elements = int64_t{16} << 20;  // over all inputs of a request
  int max_concurrency = 32;                          // requests in flight
  double body_timeout_seconds = 60;                  // to receive a request body
};

struct ServerState {
  ModelRepository* models = nullptr;
  Metrics* metrics = nullptr;
  WorkerPool* pool = nullptr;
  Limits limits;
  // Set on SIGTERM: /v2/health/ready answers 503 so that load balancers
  // stop sending; requests are still served until the server stops.
  std::atomic<bool> draining{false};
  // Inference requests whose handler started (the request line and headers
  // were read), those it answered (any status), and those answered 200. At
  // exit the first two are equal: no accepted request is dropped.
  std::atomic<int64_t> infer_received{0};
  std::atomic<int64_t> infer_answered{0};
  std::atomic<int64_t> infer_ok{0};
};

void RegisterRoutes(httplib::Server* server, ServerState* state);

}  // namespace bnfold::serve
