#include "tools/serve/routes.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>

#include "bnfold/version.h"
#include "tools/serve/protocol.h"
#include "tools/serve/tensor_codec.h"

namespace bnfold::serve {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr const char* kJson = "application/json";

void Reply(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, kJson);
}

void ReplyError(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, ErrorJson(message));
}

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    default: return 500;
  }
}

// Counts an inference request in flight, received and answered for its
// lifetime.
class InFlight {
 public:
  explicit InFlight(ServerState* s) : s_(s), count_(++s->metrics->in_flight) { ++s->infer_received; }
  ~InFlight() {
    --s_->metrics->in_flight;
    ++s_->infer_answered;
  }
  int64_t count() const { return count_; }

 private:
  ServerState* s_;
  int64_t count_;
};

std::string VersionFrom(const httplib::Request& req) {
  return req.matches.size() > 2 ? req.matches[2].str() : std::string();
}

// The model named in the URL, or the error to answer with.
StatusOr<ServedModel*> FindModel(const ServerState& state, const httplib::Request& req) {
  return state.models->Find(req.matches[1].str(), VersionFrom(req));
}

Json DescribeTensors(const std::vector<TensorInfo>& infos) {
  Json out = Json::array();
  for (const TensorInfo& t : infos) {
    const std::string type = DatatypeName(t.dtype);
    out.push_back({{"name", t.name},
                   {"datatype", type.empty() ? std::string(DataTypeName(t.dtype)) : type},
                   {"shape", t.shape}});
  }
  return out;
}

std::string ModelMetadataJson(const ServerState& state, const ServedModel& m) {
  Json inputs = DescribeTensors(m.session->inputs());
  for (const Json& extra : DescribeTensors(m.session->overridable_initializers())) {
    inputs.push_back(extra);
  }
  Json doc = {{"name", m.name},
              {"versions", state.models->Versions(m.name)},
              {"platform", "onnx_onnxv1"},
              {"inputs", inputs},
              {"outputs", DescribeTensors(m.session->outputs())}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// What the model declares for an input, for the checks before a run.
const TensorInfo* DeclaredInput(const Session& session, const std::string& name) {
  for (const TensorInfo& t : session.inputs()) {
    if (t.name == name) return &t;
  }
  for (const TensorInfo& t : session.overridable_initializers()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Status CheckAgainstModel(const Session& session, const InferRequest& request) {
  for (const InferInput& in : request.inputs) {
    const TensorInfo* want = DeclaredInput(session, in.name);
    if (want == nullptr) {
      std::string known;
      for (const TensorInfo& t : session.inputs()) known += (known.empty() ? "" : ", ") + t.name;
      return InvalidArgument("unknown input '" + in.name + "' (the model's inputs: " + known + ")");
    }
    if (in.dtype != want->dtype) {
      return InvalidArgument("input '" + in.name + "' is " + DatatypeName(in.dtype) +
                             " but the model expects " + DatatypeName(want->dtype));
    }
    bool fits = want->shape.empty() && want->dim_names.empty() ? true
                                                               : in.shape.size() == want->shape.size();
    for (size_t d = 0; fits && d < in.shape.size() && d < want->shape.size(); ++d) {
      fits = want->shape[d] < 0 || want->shape[d] == in.shape[d];
    }
    if (!fits) {
      return InvalidArgument("input '" + in.name + "' has shape " + ShapeToString(in.shape) +
                             " but the model expects " + ShapeToString(want->shape) +
                             " (-1: any size)");
    }
  }
  for (const TensorInfo& t : session.inputs()) {
    bool given = false;
    for (const InferInput& in : request.inputs) given = given || in.name == t.name;
    if (!given) return InvalidArgument("input '" + t.name + "' is missing");
  }
  for (const RequestedOutput& o : request.outputs) {
    bool known = false;
    for (const TensorInfo& t : session.outputs()) known = known || t.name == o.name;
    if (!known) return InvalidArgument("unknown output '" + o.name + "'");
  }
  return Status::Ok();
}

// Reads the whole body, storing at most the limit; *too_large when it was
// over. Returns false when the body could not be received (timeout, broken
// connection).
bool ReadBody(const httplib::Request& req, const httplib::ContentReader& reader,
              const Limits& limits, size_t header_length, bool store,
              std::unique_ptr<RequestBody>* body, bool* too_large) {
  const bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
  if (!req.has_header("Content-Length") && !chunked) {
    *body = std::make_unique<RequestBody>(0, 0);
    return true;  // HTTP/1.1: no length and not chunked is an empty body
  }
  size_t announced = 0;
  if (!chunked) {
    const std::string length = req.get_header_value("Content-Length");
    announced = std::strtoull(length.c_str(), nullptr, 10);
  }
  *too_large = announced > limits.max_body_bytes;
  if (*too_large) {
    // httplib refuses a Content-Length over its payload limit (ours) by
    // reading the body to its end without storing it; the reader then
    // returns false.
    reader([](const char*, size_t) { return true; });
    return true;
  }
  if (!store) *too_large = true;  // drain only
  if (!*too_large) *body = std::make_unique<RequestBody>(header_length, announced);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(limits.body_timeout_seconds));
  return reader([&](const char* data, size_t n) {
    if (Clock::now() > deadline) return false;
    if (!*too_large && !(*body)->Append(data, n, limits.max_body_bytes)) {
      *too_large = true;
      body->reset();
    }
    return true;  // past the limit: drained, not stored
  });
}

std::optional<size_t> HeaderLength(const httplib::Request& req, bool* malformed) {
  if (!req.has_header("Inference-Header-Content-Length")) return std::nullopt;
  const std::string value = req.get_header_value("Inference-Header-Content-Length");
  char* end = nullptr;
  const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
  *malformed = value.empty() || *end != '\0' || value[0] == '-';
  return static_cast<size_t>(n);
}

void Infer(ServerState& state, const httplib::Request& req, httplib::Response& res,
           const httplib::ContentReader& reader) {
  const auto start = Clock::now();
  InFlight in_flight(&state);
  // The status to answer with before the body is looked at, if any.
  std::optional<std::pair<int, std::string>> refusal;
  StatusOr<ServedModel*> model = FindModel(state, req);
  if (!model.ok()) {
    refusal = {404, model.status().message()};
  } else if (!(*model)->ready.load(std::memory_order_acquire)) {
    refusal = {503, "model '" + (*model)->name + "' is not ready (loading)"};
  } else if (in_flight.count() > state.limits.max_concurrency) {
    refusal = {503, "server busy: " + std::to_string(state.limits.max_concurrency) +
                        " requests already in flight (--max-concurrency)"};
  }
  bool malformed_header = false;
  const std::optional<size_t> header_length = HeaderLength(req, &malformed_header);
  std::unique_ptr<RequestBody> body;
  bool too_large = false;
  const bool received = ReadBody(req, reader, state.limits, header_length.value_or(0),
                                 !refusal.has_value(), &body, &too_large);
  auto finish = [&](int status, const std::string& message) {
    if (status != 200) ReplyError(res, status, message);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (model.ok()) {
      state.metrics->RecordInference((*model)->name, (*model)->version, status, seconds);
    } else {
      state.metrics->RecordRejected(status);
    }
  };
  if (refusal) {
    ReplyError(res, refusal->first, refusal->second);
    state.metrics->RecordRejected(refusal->first);
    return;
  }
  if (!received) return finish(400, "the request body was not received in full (timeout or "
                                    "broken connection)");
  if (too_large) {
    return finish(400, "request body over the server's limit of " +
                           std::to_string(state.limits.max_body_bytes) + " bytes (--max-body-bytes)");
  }
  if (malformed_header) return finish(400, "Inference-Header-Content-Length is not a number");
  ServedModel& m = **model;
  StatusOr<InferRequest> request =
      ParseInferRequest(*body, header_length, state.limits.max_tensor_elements);
  if (!request.ok()) return finish(400, request.status().message());
  if (Status s = CheckAgainstModel(*m.session, *request); !s.ok()) return finish(400, s.message());

  std::vector<NamedTensor> feeds;
  feeds.reserve(request->inputs.size());
  for (InferInput& in : request->inputs) feeds.push_back({in.name, std::move(in.tensor)});
  std::vector<NamedTensor> outputs;
  for (const RequestedOutput& o : request->outputs) outputs.push_back({o.name, Tensor()});
  Status run_status;
  run_status = state.pool->Run(*m.session, feeds, &outputs);
  body.reset();  // the inputs are no longer read
  if (!run_status.ok()) return finish(HttpStatusFor(run_status), run_status.message());

  std::vector<bool> binary;
  for (const NamedTensor& o : outputs) {
    if (DatatypeName(o.tensor.dtype()).empty()) {
      return finish(500, "output '" + o.name + "' is " + DataTypeName(o.tensor.dtype()) +
                             ", which the protocol has no datatype for");
    }
    bool wanted = request->binary_output;
    for (const RequestedOutput& r : request->outputs) {
      if (r.name == o.name && r.binary) wanted = *r.binary;
    }
    binary.push_back(wanted);
  }
  EncodedResponse encoded = EncodeInferResponse(m.name, m.version, request->id, outputs, binary);
  res.status = 200;
  if (encoded.has_binary) {
    res.set_header("Inference-Header-Content-Length", std::to_string(encoded.header_length));
    res.set_content(std::move(encoded.body), "application/octet-stream");
  } else {
    res.set_content(std::move(encoded.body), kJson);
  }
  ++state.infer_ok;
  finish(200, "");
}

}  // namespace

void RegisterRoutes(httplib::Server* server, ServerState* state) {
  ServerState& s = *state;
  server->Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
  });
  server->Get("/v2/health/ready", [&s](const httplib::Request&, httplib::Response& res) {
    if (s.draining.load()) return ReplyError(res, 503, "shutting down");
    if (!s.models->AllReady()) return ReplyError(res, 503, "models are loading");
    res.status = 200;
  });
  server->Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    const Json doc = {{"name", "bnfold"},
                      {"version", Version()},
                      {"extensions", {"binary_tensor_data"}}};
    Reply(res, 200, doc.dump());
  });
  auto model_ready = [&s](const httplib::Request& req, httplib::Response& res) {
    StatusOr<ServedModel*> m = FindModel(s, req);
    if (!m.ok()) return ReplyError(res, 404, m.status().message());
    if (!(*m)->ready.load()) return ReplyError(res, 503, "model '" + (*m)->name + "' is loading");
    res.status = 200;
  };
  auto model_metadata = [&s](const httplib::Request& req, httplib::Response& res) {
    StatusOr<ServedModel*> m = FindModel(s, req);
    if (!m.ok()) return ReplyError(res, 404, m.status().message());
    if (!(*m)->ready.load()) return ReplyError(res, 503, "model '" + (*m)->name + "' is loading");
    Reply(res, 200, ModelMetadataJson(s, **m));
  };
  auto infer = [&s](const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) { Infer(s, req, res, reader); };
  server->Get(R"(/v2/models/([^/]+)/ready)", model_ready);
  server->Get(R"(/v2/models/([^/]+)/versions/([^/]+)/ready)", model_ready);
  server->Get(R"(/v2/models/([^/]+))", model_metadata);
  server->Get(R"(/v2/models/([^/]+)/versions/([^/]+))", model_metadata);
  server->Post(R"(/v2/models/([^/]+)/infer)", infer);
  server->Post(R"(/v2/models/([^/]+)/versions/([^/]+)/infer)", infer);
  server->Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(s.metrics->Render(*s.models, *s.pool), "text/plain; version=0.0.4; charset=utf-8");
  });

  // A body too large to accept is refused before the client sends it, when
  // it asks first (Expect: 100-continue, as curl does for large bodies).
  server->set_expect_100_continue_handler([&s](const httplib::Request& req, httplib::Response& res) {
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > s.limits.max_body_bytes) {
      ReplyError(res, 400, "request body over the server's limit of " +
                               std::to_string(s.limits.max_body_bytes) + " bytes (--max-body-bytes)");
      s.metrics->RecordRejected(400);
      return 400;
    }
    return 100;
  });
  // A chunked body on any other route would be read whole into memory by
  // httplib (its payload limit counts only Content-Length bodies): refused
  // before it is read.
  server->set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    static const std::regex kInfer(R"(/v2/models/[^/]+(/versions/[^/]+)?/infer)");
    const bool chunked =
        req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
    if (chunked && !(req.method == "POST" && std::regex_match(req.path, kInfer))) {
      ReplyError(res, 400, req.method + " " + req.path + " takes no chunked request body");
      s.metrics->RecordRejected(400);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Anything without a route (and errors httplib raises itself, such as a
  // malformed request line) gets a JSON error too.
  server->set_error_handler(httplib::Server::HandlerWithResponse(
      [&s](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404) {
      ReplyError(res, 404, "no route for " + req.method + " " + req.path);
    } else {
      ReplyError(res, res.status, "HTTP " + std::to_string(res.status) + " for " + req.method +
                                      " " + req.path);
    }
    s.metrics->RecordRejected(res.status);
    return httplib::Server::HandlerResponse::Handled;
  }));
  server->set_exception_handler([&s](const httplib::Request&, httplib::Response& res,
                                     std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    ReplyError(res, 500, "internal error: " + what);
    s.metrics->RecordRejected(500);
  });
}

}  // namespace bnfold::serve
