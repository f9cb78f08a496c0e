// bnfold serve MODEL_DIR_OR_FILE... [--host H] [--port P] [--threads T] ...
//
// The server's lifecycle: find the models, listen, load the models in the
// background (ready turns 200 when all are loaded), serve until SIGTERM or
// SIGINT, then stop accepting, finish every request in flight and exit 0.
#include <httplib.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tools/cli.h"
#include "tools/serve/metrics.h"
#include "tools/serve/model_repository.h"
#include "tools/serve/routes.h"
#include "tools/serve/worker_pool.h"

namespace bnfold::cli {

namespace {

constexpr const char* kUsage =
    "usage: bnfold serve MODEL_DIR_OR_FILE... [--host H] [--port P] [--threads T] [--workers W]\n"
    "                   [--max-body-bytes N] [--max-tensor-elements N] [--max-concurrency N]\n"
    "                   [--http-threads N] [--keep-alive-seconds S] [--model-name NAME]\n"
    "                   [--drain-seconds S] [--max-batch N] [--batch-window-us U]\n"
    "                   [--passes a,b,...] [--max-memory SIZE]\n"
    "                   [--no-optimize] [--json]\n"
    "  serves the models over the Open Inference Protocol (KServe V2 REST, with the\n"
    "  binary tensor data extension): /v2/health/{live,ready}, /v2,\n"
    "  /v2/models/NAME[/versions/V][/ready|/infer], /metrics (Prometheus).\n"
    "  a FILE.onnx is model FILE version 1; a folder holds such files and/or\n"
    "  NAME/VERSION/model.onnx. SIGTERM/SIGINT: finish the requests in flight, exit 0.\n"
    "  --host              address to listen on (default 127.0.0.1; 0.0.0.0 for all)\n"
    "  --port              port (default 8080; 0 picks a free one, printed at start)\n"
    "  --threads           threads per inference (default 0: all cores)\n"
    "  --workers           inferences run at once (default: cores / threads, at least 1)\n"
    "  --max-body-bytes    largest request body accepted (default 64 MiB; alias\n"
    "                      --max-batch-bytes)\n"
    "  --max-tensor-elements  most tensor elements in one request (default 16777216)\n"
    "  --max-concurrency   inference requests in flight before 503 (default 32)\n"
    "  --http-threads      connections served at once (default 64); more wait\n"
    "  --keep-alive-seconds  an idle connection is closed after this long (default 5);\n"
    "                      at SIGTERM, idle connections may hold the exit this long\n"
    "  --model-name        serve the one model found under this name (KServe)\n"
    "  --drain-seconds     after SIGTERM, answer ready=503 this long before stopping\n"
    "                      (default 0), so that load balancers stop sending first\n"
    "  --max-batch         run up to N rows of concurrent requests to a model as one\n"
    "                      batch (default 1: off). Only for models whose samples are\n"
    "                      independent (no op mixes rows of the first dimension)\n"
    "  --batch-window-us   with --max-batch, wait this long for a batch to fill\n"
    "                      (default 0: batch what is queued while the workers are busy)\n"
    "  --passes, --no-optimize  the graph passes to run, or none (default: all)\n"
    "  --max-memory        bytes one compiled plan of a model may hold, e.g. 8G;\n"
    "                      'none' for no cap (default 64G)\n"
    "  --json              print the listening address and the models as JSON lines\n";

struct ServeSettings {
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  int workers = 0;
  int http_threads = 64;
  double drain_seconds = 0;
  int keep_alive_seconds = 5;
  int64_t max_batch = 1;
  int64_t batch_window_us = 0;
  serve::Limits limits;
};

Status ReadSettings(const Args& args, ServeSettings* s) {
  auto integer = [&args](const char* flag, int64_t fallback, int64_t low, int64_t high,
                         int64_t* out) -> Status {
    StatusOr<int64_t> v = args.GetInt(flag, fallback);
    if (!v.ok()) return v.status();
    if (*v < low || *v > high) {
      return InvalidArgument(std::string(flag) + " must be between " + std::to_string(low) +
                             " and " + std::to_string(high));
    }
    *out = *v;
    return Status::Ok();
  };
  int64_t port, threads, workers, http, body, elements, concurrency, keep_alive, max_batch,
      window;
  int64_t body_default = static_cast<int64_t>(s->limits.max_body_bytes);
  if (args.Has("--max-batch-bytes")) {
    StatusOr<int64_t> alias = args.GetInt("--max-batch-bytes", body_default);
    if (!alias.ok()) return alias.status();
    body_default = *alias;
  }
  for (Status st : {integer("--port", s->port, 0, 65535, &port),
                    integer("--threads", 0, 0, 1024, &threads),
                    integer("--workers", 0, 0, 1024, &workers),
                    integer("--http-threads", s->http_threads, 1, 4096, &http),
                    integer("--keep-alive-seconds", s->keep_alive_seconds, 1, 3600, &keep_alive),
                    integer("--max-body-bytes", body_default, 1, int64_t{1} << 40, &body),
                    integer("--max-tensor-elements", s->limits.max_tensor_elements, 1,
                            int64_t{1} << 40, &elements),
                    integer("--max-concurrency", s->limits.max_concurrency, 1, 100000,
                            &concurrency),
                    integer("--max-batch", 1, 1, 1 << 20, &max_batch),
                    integer("--batch-window-us", 0, 0, 10000000, &window)}) {
    if (!st.ok()) return st;
  }
  StatusOr<double> drain = args.GetDouble("--drain-seconds", 0);
  if (!drain.ok()) return drain.status();
  if (!(*drain >= 0 && *drain <= 3600)) return InvalidArgument("--drain-seconds must be 0..3600");
  s->host = args.Get("--host", s->host);
  s->port = static_cast<int>(port);
  s->threads = static_cast<int>(threads);
  const int effective = s->threads > 0 ? s->threads : omp_get_num_procs();
  s->workers = workers > 0 ? static_cast<int>(workers)
                           : std::max(1, omp_get_num_procs() / std::max(1, effective));
  s->http_threads = static_cast<int>(http);
  s->keep_alive_seconds = static_cast<int>(keep_alive);
  s->max_batch = max_batch;
  s->batch_window_us = window;
  s->drain_seconds = *drain;
  s->limits.max_body_bytes = static_cast<size_t>(body);
  s->limits.max_tensor_elements = elements;
  s->limits.max_concurrency = static_cast<int>(concurrency);
  return Status::Ok();
}

void PrintJsonLine(const nlohmann::json& doc) {
  std::cout << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace

int ServeCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(
      argv,
      {"--host", "--port", "--threads", "--workers", "--max-body-bytes", "--max-batch-bytes",
       "--max-tensor-elements", "--max-concurrency", "--http-threads", "--keep-alive-seconds",
       "--max-batch", "--batch-window-us", "--model-name",
       "--drain-seconds", "--passes", "--max-memory"},
      {"--no-optimize", "--json", "--help"});
  if (!args.ok()) return ReportError("serve", args.status());
  if (args->Has("--help")) {
    std::cout << kUsage;
    return kExitOk;
  }
  if (args->positional().empty()) {
    std::cerr << kUsage;
    return kExitBadInput;
  }
  ServeSettings settings;
  if (Status s = ReadSettings(*args, &settings); !s.ok()) return ReportError("serve", s);
  SessionOptions session_options;
  session_options.threads = settings.threads;
  session_options.optimize = !args->Has("--no-optimize");
  if (Status s = ApplyMaxMemory(*args, &session_options); !s.ok()) return ReportError("serve", s);
  if (args->Has("--passes")) {
    StatusOr<std::vector<std::string>> passes = ParsePassList(args->Get("--passes"));
    if (!passes.ok()) return ReportError("serve", passes.status());
    session_options.passes = *passes;
  }
  StatusOr<std::unique_ptr<serve::ModelRepository>> models =
      serve::ModelRepository::Discover(args->positional(), args->Get("--model-name"));
  if (!models.ok()) return ReportError("serve", models.status());

  // SIGTERM and SIGINT are taken by one thread (sigtimedwait) rather than a
  // handler: blocked here, before any thread exists, so every thread
  // inherits the mask. A peer closing its connection must not kill the
  // process with SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  serve::Metrics metrics;
  serve::WorkerPool pool({settings.workers, settings.max_batch,
                          std::chrono::microseconds(settings.batch_window_us)});
  serve::ServerState state;
  state.models = models->get();
  state.metrics = &metrics;
  state.pool = &pool;
  state.limits = settings.limits;

  httplib::Server server;
  const int http_threads = settings.http_threads;
  server.new_task_queue = [http_threads] { return new httplib::ThreadPool(http_threads); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(settings.keep_alive_seconds);
  server.set_read_timeout(30, 0);
  server.set_write_timeout(30, 0);
  server.set_payload_max_length(settings.limits.max_body_bytes);
  serve::RegisterRoutes(&server, &state);

  int port = settings.port;
  if (port == 0) {
    port = server.bind_to_any_port(settings.host);
  } else if (!server.bind_to_port(settings.host, port)) {
    port = -1;
  }
  if (port < 0) {
    return ReportError("serve", InvalidArgument("cannot listen on " + settings.host + ":" +
                                                std::to_string(settings.port) +
                                                " (address in use, or not an address of this host)"));
  }
  const std::string url = "http://" + settings.host + ":" + std::to_string(port);
  if (args->Has("--json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : (*models)->models()) {
      list.push_back({{"name", m->name}, {"version", m->version}, {"path", m->path}});
    }
    PrintJsonLine({{"listening", url}, {"port", port}, {"models", list},
                   {"threads", settings.threads}, {"workers", settings.workers}});
  } else {
    std::cerr << "bnfold serve: listening on " << url << " (" << (*models)->models().size()
              << " model" << ((*models)->models().size() == 1 ? "" : "s") << ", "
              << settings.workers << " worker" << (settings.workers == 1 ? "" : "s") << ")"
              << std::endl;
  }

  std::atomic<bool> stopping{false};
  std::atomic<bool> listen_returned{false};
  std::atomic<int> exit_code{kExitOk};
  // httplib's stop() does nothing before listen has started: wait for it.
  auto stop = [&] {
    if (stopping.exchange(true)) return;
    while (!server.is_running() && !listen_returned.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    server.stop();
  };
  std::thread loader([&] {
    const auto start = std::chrono::steady_clock::now();
    Status loaded = (*models)->LoadAll(session_options);
    if (!loaded.ok()) {
      exit_code = ReportError("serve", loaded);
      stop();
      return;
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (args->Has("--json")) {
      PrintJsonLine({{"ready", true}, {"load_ms", ms}});
    } else {
      std::cerr << "bnfold serve: ready (models loaded in " << static_cast<int>(ms) << " ms)"
                << std::endl;
    }
  });
  std::thread signals([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!stopping.load()) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig != SIGTERM && sig != SIGINT) continue;
      state.draining = true;
      std::cerr << "bnfold serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
                << ": finishing the requests in flight" << std::endl;
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::duration<double>(settings.drain_seconds);
      while (std::chrono::steady_clock::now() < until && !stopping.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      stop();
    }
  });

  // Returns once stopped, after every connection's thread has finished the
  // request it was serving.
  server.listen_after_bind();
  listen_returned = true;
  stopping = true;
  loader.join();
  signals.join();
  pool.Shutdown();
  std::cerr << "bnfold serve: stopped: " << state.infer_received.load()
            << " inference requests received, " << state.infer_answered.load() << " answered ("
            << state.infer_ok.load() << " with 200)" << std::endl;
  return exit_code.load();
}

}  // namespace bnfold::cli
