#include "tools/serve/worker_pool.h"

#include "tools/serve/batching.h"

namespace bnfold::serve {

WorkerPool::WorkerPool(const Options& options) : options_(options) {
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

Status WorkerPool::Run(const Session& session, const std::vector<NamedTensor>& feeds,
                       std::vector<NamedTensor>* outputs) {
  Job job{&session, &feeds, outputs};
  if (options_.max_batch_rows > 1 && BatchMajor(session)) {
    job.key = BatchKey(feeds, *outputs, &job.rows);
    if (job.rows > options_.max_batch_rows) job.key.clear();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) {
    lock.unlock();
    ++runs_;
    ++requests_;
    return session.Run(feeds, outputs);
  }
  queue_.push_back(&job);
  // A worker gathering a batch waits on `work_` too: wake them all then.
  if (options_.max_batch_rows > 1) {
    work_.notify_all();
  } else {
    work_.notify_one();
  }
  job.finished.wait(lock, [&job] { return job.done; });
  return job.status;
}

void WorkerPool::Gather(Job* first, std::vector<Job*>* batch, int64_t* rows) {
  for (auto it = queue_.begin(); it != queue_.end() && *rows < options_.max_batch_rows;) {
    Job* j = *it;
    if (j->session == first->session && j->key == first->key &&
        *rows + j->rows <= options_.max_batch_rows) {
      batch->push_back(j);
      *rows += j->rows;
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

void WorkerPool::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    Job* first = queue_.front();
    queue_.pop_front();
    std::vector<Job*> batch{first};
    int64_t rows = first->rows;
    if (!first->key.empty()) {
      Gather(first, &batch, &rows);
      const auto deadline = std::chrono::steady_clock::now() + options_.window;
      while (rows < options_.max_batch_rows && options_.window.count() > 0 && !stopping_ &&
             work_.wait_until(lock, deadline) != std::cv_status::timeout) {
        Gather(first, &batch, &rows);
      }
      Gather(first, &batch, &rows);
    }
    lock.unlock();
    RunBatch(batch);
    lock.lock();
    for (Job* j : batch) {
      j->done = true;
      j->finished.notify_one();
    }
  }
}

void WorkerPool::RunBatch(const std::vector<Job*>& batch) {
  auto run_alone = [this](Job* j) {
    ++runs_;
    ++requests_;
    j->status = j->session->Run(*j->feeds, j->outputs);
  };
  if (batch.size() == 1) return run_alone(batch[0]);
  std::vector<const std::vector<NamedTensor>*> feeds;
  std::vector<int64_t> rows;
  for (Job* j : batch) {
    feeds.push_back(j->feeds);
    rows.push_back(j->rows);
  }
  StatusOr<std::vector<NamedTensor>> inputs = ConcatenateRows(feeds);
  std::vector<NamedTensor> outputs = *batch[0]->outputs;  // the names asked for, if any
  Status status = inputs.ok() ? batch[0]->session->Run(*inputs, &outputs) : inputs.status();
  StatusOr<std::vector<std::vector<NamedTensor>>> split =
      status.ok() ? SplitRows(std::move(outputs), rows) : StatusOr<std::vector<std::vector<NamedTensor>>>(status);
  if (!split.ok()) {
    // Not a batch-major model, or a failure that may be one request's
    // fault: each request alone gets its own answer.
    for (Job* j : batch) run_alone(j);
    return;
  }
  ++runs_;
  requests_ += static_cast<int64_t>(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    *batch[i]->outputs = std::move((*split)[i]);
    batch[i]->status = Status::Ok();
  }
}

void WorkerPool::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& t : threads_) t.join();
}

}  // namespace bnfold::serve
