// CommQueue: what DDP's buckets and SyncBatchNorm's sums rely on to reach the group in the same
// order on every rank — queued work runs on one thread, in the order it was queued from any
// thread, a failure returns through its own future without stopping the rest, and destruction
// waits for what is queued.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "dist/comm_queue.h"

using ember::dist::CommQueue;

TEST(CommQueue, RunsInQueueOrderOnOneThreadAndReturnsEachFailureToItsFuture) {
  CommQueue queue;
  std::vector<int> order;  // touched by the queue's thread only
  std::vector<std::thread::id> threads;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 50; ++i)
    done.push_back(queue.submit([&, i] {
      if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the rest pile up behind it
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    }));
  std::future<void> failing = queue.submit([] { throw std::runtime_error("peer gone"); });
  // Queued from another thread after the above: runs after them, then run() after that.
  std::thread([&] { done.push_back(queue.submit([&] { order.push_back(50); })); }).join();
  size_t seen_by_run = 0;
  queue.run([&] { seen_by_run = order.size(); });
  EXPECT_EQ(seen_by_run, 51u);
  for (auto& f : done) f.get();
  try {
    failing.get();
    FAIL() << "the failure should reach its future";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "peer gone");
  }
  for (int i = 0; i <= 50; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  for (auto id : threads) EXPECT_EQ(id, threads[0]);
  EXPECT_NE(threads[0], std::this_thread::get_id());
}

TEST(CommQueue, DestructionRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    CommQueue queue;
    for (int i = 0; i < 3; ++i)
      queue.submit([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ++ran;
      });
  }
  EXPECT_EQ(ran.load(), 3);
}
