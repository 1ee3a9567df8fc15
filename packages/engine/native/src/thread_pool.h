// A fixed set of worker threads, started on first use and reused by every
// attend() call (spawning threads per call would cost tens of microseconds,
// comparable to a small decode step).
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

  // Runs task(threadIndex) for threadIndex 0 … numThreads-1, index 0 on the
  // calling thread, and returns when all have returned. One run at a time.
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
  int pending_ = 0;
  bool stopping_ = false;
};

}  // namespace sigmaserve
