// The threads that run inference: a fixed number, so that each keeps its own
// OpenMP team (oneDNN's) for the life of the server instead of every HTTP
// connection thread creating one. Requests wait in a FIFO; how many can be
// waiting is bounded by the server's admission limit (--max-concurrency),
// not here.
//
// With max_batch_rows > 1, a worker that takes a request also takes the
// queued requests for the same session with the same batch key (see
// batching.h), up to that many rows in all, waiting up to `window` for more
// to arrive, and runs them as one batch. Under load, requests queue while
// the workers are busy, so batches form without any wait.
//
// Shutdown runs every queued request before the threads exit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bnfold/session.h"

namespace bnfold::serve {

class WorkerPool {
 public:
  struct Options {
    int workers = 1;
    int64_t max_batch_rows = 1;  // 1: no batching
    std::chrono::microseconds window{0};
  };
  explicit WorkerPool(const Options& options);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Session::Run on a worker (maybe within a batch); blocks until done.
  Status Run(const Session& session, const std::vector<NamedTensor>& feeds,
             std::vector<NamedTensor>* outputs);
  // Finishes the queued requests and joins the workers; later Run calls run
  // on the calling thread.
  void Shutdown();

  // Session runs made, and requests they answered (more than runs when
  // requests were batched).
  int64_t runs() const { return runs_.load(); }
  int64_t requests() const { return requests_.load(); }

 private:
  struct Job {
    const Session* session;
    const std::vector<NamedTensor>* feeds;
    std::vector<NamedTensor>* outputs;
    std::string key;  // "" : never batched
    int64_t rows = 0;
    Status status;
    bool done = false;
    // Its own, so that a finished run wakes its requester only, not every
    // connection thread waiting (16 wake-ups a run at 16 connections).
    // Notified with mutex_ held: the requester cannot return and destroy
    // the job before notify_one returns.
    std::condition_variable finished;
  };
  void Loop();
  // Takes the queued jobs that can join `first`'s batch. Called locked.
  void Gather(Job* first, std::vector<Job*>* batch, int64_t* rows);
  void RunBatch(const std::vector<Job*>& batch);

  const Options options_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> runs_{0};
  std::atomic<int64_t> requests_{0};
};

}  // namespace bnfold::serve
