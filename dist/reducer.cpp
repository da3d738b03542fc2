#include "dist/reducer.h"

#include <chrono>
#include <exception>

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
}

Reducer::~Reducer() {
  for (std::future<void>& f : in_flight_) f.wait();  // the queued work reads the buckets
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
  Tensor flat = b.flat;
  in_flight_.push_back(group_.queue().submit([this, flat]() mutable {
    if (failed_) return;  // after a failure the group is unusable: fail fast
    try {
      group_.allreduce(flat, ReduceOp::sum);
    } catch (...) {
      failed_ = true;
      throw;
    }
  }));
}

void Reducer::wait_all() {
  auto start = std::chrono::steady_clock::now();
  std::exception_ptr error;
  for (std::future<void>& f : in_flight_) {
    try {
      f.get();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  in_flight_.clear();
  last_wait_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (error) {
    failed_ = false;
    armed_ = false;
    std::rethrow_exception(error);
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
