#include "dist/reducer.h"

#include <chrono>

#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/ops/factories.h"

namespace ember::dist {

Reducer::Reducer(std::vector<Tensor> params, ProcessGroup& group, size_t first_cap, size_t cap)
    : params_(std::move(params)), bucket_of_(params_.size()), group_(group) {
  size_t bytes = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    bool full = !buckets_.empty() && bytes >= (buckets_.size() == 1 ? first_cap : cap);
    const Tensor* first = buckets_.empty() ? nullptr : &params_[buckets_.back().params[0]];
    bool other_kind = first && (first->dtype() != p.dtype() || first->device() != p.device());
    if (buckets_.empty() || full || other_kind) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    b.offsets.push_back(b.params.empty() ? 0 : b.offsets.back() + params_[b.params.back()].numel());
    b.params.push_back(i);
    bucket_of_[i] = buckets_.size() - 1;
    bytes += p.nbytes();
  }
  for (Bucket& b : buckets_) {
    const Tensor& last = params_[b.params.back()];
    b.flat = zeros({b.offsets.back() + last.numel()}, TensorOptions(last.dtype()).device(last.device()));
  }
  thread_ = std::thread([this] { communicate(); });
}

Reducer::~Reducer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Reducer::attach(const std::shared_ptr<Reducer>& self) {
  std::weak_ptr<Reducer> weak = self;
  for (size_t i = 0; i < self->params_.size(); ++i)
    self->params_[i].register_post_accumulate_grad_hook([weak, i](const Tensor&) {
      if (auto r = weak.lock()) r->on_grad_ready(i);  // a hook outliving its DDP does nothing
    });
}

void Reducer::on_grad_ready(size_t param) {
  if (!sync) return;
  if (!armed_) {
    armed_ = true;
    next_launch_ = 0;
    for (Bucket& b : buckets_) {
      b.pending = static_cast<int>(b.params.size());
      b.launched = false;
    }
    autograd::queue_callback([this] { finish(); });  // runs within this backward: `this` lives
  }
  --buckets_[bucket_of_[param]].pending;
  launch_ready();
}

void Reducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) launch(buckets_[next_launch_++]);
}

void Reducer::launch(Bucket& b) {
  for (size_t k = 0; k < b.params.size(); ++k) {
    const Tensor& p = params_[b.params[k]];
    Tensor slot = b.flat.narrow(0, b.offsets[k], p.numel());
    Tensor g = p.grad();
    if (g.defined())
      slot.copy_(g.reshape({p.numel()}));
    else
      slot.zero_();
  }
  b.launched = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(&b);
    ++in_flight_;
  }
  cv_.notify_all();
}

void Reducer::communicate() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    Bucket* b = queue_.front();
    queue_.pop_front();
    bool skip = error_ != nullptr;  // after a failure the group is unusable: fail fast
    lock.unlock();
    try {
      if (!skip) group_.allreduce(b->flat, ReduceOp::sum);
    } catch (...) {
      lock.lock();
      error_ = std::current_exception();
      lock.unlock();
    }
    lock.lock();
    --in_flight_;
    cv_.notify_all();
  }
}

void Reducer::wait_all() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return in_flight_ == 0; });
  last_wait_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    armed_ = false;
    std::rethrow_exception(e);
  }
}

void Reducer::finish() {
  for (Bucket& b : buckets_) b.pending = 0;  // what did not arrive will not: send it as it is
  launch_ready();
  wait_all();
  armed_ = false;
  NoGradGuard no_grad;
  for (Bucket& b : buckets_) {
    b.flat.div_(static_cast<double>(group_.size()));
    for (size_t k = 0; k < b.params.size(); ++k) {
      const Tensor& p = params_[b.params[k]];
      Tensor avg = b.flat.narrow(0, b.offsets[k], p.numel()).view(p.sizes());
      Tensor g = p.grad();
      if (g.defined())
        g.copy_(avg);
      else
        p.set_grad(avg.clone());
    }
  }
}

void Reducer::abandon_pass() {
  if (!armed_) return;
  try {
    wait_all();
  } catch (...) {
  }
  armed_ = false;
}

}  // namespace ember::dist
