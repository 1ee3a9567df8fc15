// A fixed set of worker threads, started on first use and reused by every
// attend() call (spawning threads per call would cost tens of microseconds,
// comparable to a small decode step).
//
// Helpers are optional: a run never waits for a helper that has not started.
// The caller works through the task itself; a helper that wakes in time joins
// and shares the work, one that was not scheduled before the caller finished
// its share is left out of that run. On a busy machine (the router, other
// workers, the client on the same cores) waiting for a descheduled helper
// would otherwise stall a decode step for a whole scheduler time slice.
// Tasks must therefore share work dynamically (claim items from a counter),
// never assign fixed shares per thread index.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sigmaserve {

class ThreadPool {
 public:
  static ThreadPool& instance();

  // Runs task(0) on the calling thread and task(i) on each helper i in
  // 1 … numThreads-1 that joins before task(0) returns; returns when task(0)
  // and every joined helper have returned. One run at a time.
  void run(int numThreads, const std::function<void(int)>& task);

  ~ThreadPool();

 private:
  void workerLoop(int threadIndex);

  std::mutex runMutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* task_ = nullptr;
  uint64_t generation_ = 0;
  int activeThreads_ = 0;
  // Whether helpers may still join the current run, and how many are in it.
  bool open_ = false;
  int running_ = 0;
  bool stopping_ = false;
};

}  // namespace sigmaserve
