// The threads that run inference: a fixed number, so that each keeps its own
// OpenMP team (oneDNN's) for the life of the server instead of every HTTP
// connection thread creating one. Jobs wait in a FIFO; how many can be
// waiting is bounded by the server's admission limit (--max-concurrency),
// not here. Shutdown runs every queued job before the threads exit.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bnfold::serve {

class WorkerPool {
 public:
  explicit WorkerPool(int workers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `job` on a worker and waits for it to finish.
  void Run(std::function<void()> job);
  // Finishes the queued jobs and joins the workers; later Run calls run the
  // job on the calling thread.
  void Shutdown();

  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace bnfold::serve
