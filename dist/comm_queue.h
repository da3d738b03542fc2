// CommQueue: one group's collectives, run on one thread in the order they were queued, whichever
// thread queued them.
//
// Every rank must call a group's collectives in the same order. A program that issues them from
// one thread gets that for free; DistributedDataParallel does not: its gradient buckets are
// allreduced on a communication thread while backward goes on, and SyncBatchNorm's backward (on
// the thread running backward) needs collectives of its own meanwhile. Taken straight to the
// group, the two threads would race for it and the ranks could pair a bucket with a statistic.
// Queued here, both run in the order the backward pass reached them, which is the same on every
// rank. ProcessGroup::queue() is the group's queue.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace ember::dist {

class CommQueue {
 public:
  CommQueue() = default;
  CommQueue(const CommQueue&) = delete;
  CommQueue& operator=(const CommQueue&) = delete;
  // Runs what is still queued, then stops the thread.
  ~CommQueue();

  // Queues `collective` behind everything queued before; returns at once. The future rethrows
  // what the collective threw.
  std::future<void> submit(std::function<void()> collective);
  // submit() and wait: the collective runs in its turn, on the queue's thread.
  void run(std::function<void()> collective) { submit(std::move(collective)).get(); }

 private:
  void work();  // the thread, started by the first submit()

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ember::dist
