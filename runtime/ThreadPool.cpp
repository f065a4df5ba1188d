//===- ThreadPool.cpp - a fixed pool of CPU worker threads -----------------===//
#include "runtime/ThreadPool.h"

#include <algorithm>
#include <cstdlib>

namespace attnc {

/// Set while a thread runs chunks of a parallelFor: a nested parallelFor (e.g. an
/// attention call from inside a parallel loop) then runs inline instead of waiting
/// for a pool that is busy with its caller.
static thread_local bool insideParallelFor = false;

ThreadPool::ThreadPool(unsigned numThreads) {
  for (unsigned i = 1; i < std::max(1u, numThreads); ++i)
    workers.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_all();
  for (std::thread &t : workers)
    t.join();
}

void ThreadPool::drain(const std::function<void(int64_t, int64_t)> &fn, int64_t n,
                       int64_t minChunk) {
  bool saved = insideParallelFor;
  insideParallelFor = true;
  struct Restore {
    bool saved;
    ~Restore() { insideParallelFor = saved; }
  } restore{saved};
  int64_t share = 2 * int64_t(size());
  int64_t maxChunk = std::max(minChunk, n / (4 * share));
  int64_t begin = next.load();
  while (begin < n) {
    int64_t chunk = std::clamp((n - begin) / share, minChunk, maxChunk);
    int64_t end = std::min(n, begin + chunk);
    if (next.compare_exchange_weak(begin, end)) {
      fn(begin, end);
      begin = next.load();
    }
  }
}

void ThreadPool::workerLoop(unsigned index) {
  uint64_t seen = 0;
  while (true) {
    const std::function<void(int64_t, int64_t)> *myJob;
    int64_t n, chunk;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
      myJob = job;
      n = jobSize;
      chunk = jobChunk;
    }
    drain(*myJob, n, chunk);
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (--pending == 0)
        done.notify_one();
    }
  }
}

void ThreadPool::parallelFor(int64_t n,
                             const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0)
    return;
  if (workers.empty() || n == 1 || insideParallelFor) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> runLock(runMutex);
  {
    std::lock_guard<std::mutex> lock(mutex);
    job = &fn;
    jobSize = n;
    jobChunk = std::max<int64_t>(1, n / (64 * int64_t(size())));
    next.store(0);
    pending = unsigned(workers.size());
    ++generation;
  }
  wake.notify_all();
  drain(fn, n, jobChunk);
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return pending == 0; });
  job = nullptr;
}

void ThreadPool::parallelJobs(const std::vector<std::function<void()>> &jobs) {
  parallelFor(int64_t(jobs.size()), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      jobs[size_t(i)]();
  });
}

ThreadPool &ThreadPool::global() {
  static ThreadPool pool([] {
    if (const char *env = std::getenv("ATTNC_NUM_THREADS")) {
      int n = std::atoi(env);
      if (n > 0)
        return unsigned(n);
    }
    unsigned hw = std::thread::hardware_concurrency();
    return hw ? hw : 1u;
  }());
  return pool;
}

} // namespace attnc
