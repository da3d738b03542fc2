// Reducer: DistributedDataParallel's gradient buckets and their allreduces.
//
// One backward pass: the first post-accumulate hook "arms" the pass (resets every bucket's count
// of gradients still to come and queues finish() to run when backward ends). Each hook lowers its
// bucket's count; a bucket whose count reached zero is ready, and ready buckets are launched in
// index order — copied into the bucket's flat buffer on the calling thread, then allreduced (sum)
// on the group's queue (comm_queue.h: its own thread, in order with any other collective queued
// during the pass) while backward continues. finish() launches what is left (a
// parameter that got no gradient sends zeros), waits for the thread, divides by the world size and
// writes the averages back into the parameters' grads.
#pragma once

#include <atomic>
#include <future>
#include <vector>

#include "dist/process_group.h"

namespace ember::dist {

class Reducer {
 public:
  // `params` in the order buckets are filled; a bucket closes once it holds `first_cap` bytes
  // (the first) or `cap` bytes (the others), or when the dtype or device changes (a bucket's flat
  // buffer lives on its parameters' device).
  Reducer(std::vector<Tensor> params, ProcessGroup& group, size_t first_cap, size_t cap);
  ~Reducer();

  // Installs the hooks; `self` is this reducer, which the hooks hold weakly.
  static void attach(const std::shared_ptr<Reducer>& self);
  // Completes a pass whose finish() never ran (its backward threw): waits and resets.
  void abandon_pass();

  bool sync = true;  // false inside no_sync()
  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  double last_wait_ms() const { return last_wait_ms_; }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    std::vector<int64_t> offsets;
    Tensor flat;
    int pending = 0;
    bool launched = false;
  };

  void on_grad_ready(size_t param);
  void launch_ready();
  void launch(Bucket& bucket);
  void finish();
  void wait_all();

  std::vector<Tensor> params_;
  std::vector<size_t> bucket_of_;  // param index -> bucket
  std::vector<Bucket> buckets_;
  ProcessGroup& group_;
  bool armed_ = false;
  size_t next_launch_ = 0;
  double last_wait_ms_ = 0;

  std::vector<std::future<void>> in_flight_;  // this pass's queued allreduces
  std::atomic<bool> failed_{false};           // one failed: the group is unusable, skip the rest
};

}  // namespace ember::dist
