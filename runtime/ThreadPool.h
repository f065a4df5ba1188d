//===- ThreadPool.h - a fixed pool of CPU worker threads ----------*- C++ -*-===//
//
// `parallelFor(n, fn)` splits [0, n) into contiguous chunks run on the pool's
// threads (the caller works too) and returns when all are done. The default pool has
// one thread per hardware thread, or $ATTNC_NUM_THREADS.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_THREADPOOL_H
#define ATTNC_RUNTIME_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attnc {

class ThreadPool {
public:
  explicit ThreadPool(unsigned numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned size() const { return unsigned(workers.size()) + 1; }
  /// Runs fn(begin, end) over chunks of [0, n) and returns when all are done. The
  /// threads take chunks from a shared counter, each a 2 * size()-th of what is
  /// left, between a 64 * size()-th and an 8 * size()-th of n: small ones last, so
  /// uneven items (causal attention: later query tiles have more keys) balance out
  /// without a call per item. (Chunks of a quarter of n at the start made some
  /// runs as slow as one thread.)
  /// Called from inside a chunk of another parallelFor, it runs inline.
  void parallelFor(int64_t n, const std::function<void(int64_t, int64_t)> &fn);
  /// Runs `jobs` as one parallelFor: a single wake-up of the threads for several
  /// independent pieces of work (each job's own parallelFor then runs inline).
  void parallelJobs(const std::vector<std::function<void()>> &jobs);

  /// The process-wide pool.
  static ThreadPool &global();

private:
  void workerLoop(unsigned index);
  /// Takes chunks from `next` until [0, n) is exhausted, none smaller than
  /// `minChunk` (guided self-scheduling).
  void drain(const std::function<void(int64_t, int64_t)> &fn, int64_t n, int64_t minChunk);

  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(int64_t, int64_t)> *job = nullptr;
  int64_t jobSize = 0;
  int64_t jobChunk = 1;
  std::atomic<int64_t> next{0};
  uint64_t generation = 0;
  unsigned pending = 0;
  bool stopping = false;
  std::mutex runMutex; ///< one parallelFor at a time
};

} // namespace attnc

#endif // ATTNC_RUNTIME_THREADPOOL_H
