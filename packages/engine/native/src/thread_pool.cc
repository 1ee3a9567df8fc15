#include "thread_pool.h"

namespace sigmaserve {

ThreadPool& ThreadPool::instance() {
  // Destroyed at process exit, which joins the (idle) workers.
  static ThreadPool pool;
  return pool;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::run(int numThreads, const std::function<void(int)>& task) {
  if (numThreads <= 1) {
    task(0);
    return;
  }
  std::lock_guard<std::mutex> runLock(runMutex_);
  while (static_cast<int>(workers_.size()) < numThreads - 1) {
    const int threadIndex = static_cast<int>(workers_.size()) + 1;
    workers_.emplace_back([this, threadIndex] { workerLoop(threadIndex); });
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    activeThreads_ = numThreads;
    open_ = true;
    running_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  task(0);
  std::unique_lock<std::mutex> lock(mutex_);
  // No helper joins after this; wait only for those that did.
  open_ = false;
  done_.wait(lock, [this] { return running_ == 0; });
  task_ = nullptr;
}

void ThreadPool::workerLoop(int threadIndex) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    if (!open_ || threadIndex >= activeThreads_) continue;
    ++running_;
    const std::function<void(int)>* task = task_;
    lock.unlock();
    (*task)(threadIndex);
    lock.lock();
    if (--running_ == 0 && !open_) done_.notify_one();
  }
}

}  // namespace sigmaserve
