// DistributedDataParallel: one replica of a model per process, gradients averaged by allreduce.
//
//   auto ddp = std::make_shared<dist::DistributedDataParallel>(model, dist::world());
//   Tensor loss = criterion(ddp->forward(x), y);
//   loss.backward();            // returns with every parameter's grad averaged over all ranks
//   optimizer.step();
//
// As torch.nn.parallel.DistributedDataParallel:
// - At construction every rank checks that its parameters and buffers have rank 0's names,
//   dtypes and shapes (an error names the rank and the parameter, on every rank, before any
//   training), then takes rank 0's values.
// - Gradients travel in buckets of about bucket_cap_mb (the first one 1 MB, so communication starts
//   early), filled in reverse registration order, which is roughly the order backward produces
//   them. A bucket's allreduce starts on a communication thread as soon as its last gradient is
//   accumulated (Tensor::register_post_accumulate_grad_hook) and overlaps the rest of backward;
//   buckets are launched in a fixed order on every rank. backward() returns after all of them.
//   A parameter that received no gradient contributes zeros (every rank takes part in every bucket).
// - no_sync(): while the guard lives, backward accumulates gradients locally and sends nothing;
//   the first backward after it averages the accumulated sums (gradient accumulation).
// - broadcast_buffers: in training mode each forward first copies rank 0's buffers (BatchNorm's
//   running statistics) to every rank, so all replicas evaluate alike.
// - state_dict() holds the model under "module." as PyTorch's does; nn::consume_prefix_in_state_
//   dict_if_present(state, "module.") makes it loadable into the plain model (and into PyTorch's).
#pragma once

#include <memory>

#include "dist/process_group.h"
#include "nn/module.h"

namespace ember::dist {

struct DataParallelOptions {
  double bucket_cap_mb_ = 25.0;        // PyTorch's default
  double first_bucket_mb_ = 1.0;
  bool broadcast_buffers_ = true;
  DataParallelOptions& bucket_cap_mb(double mb) { bucket_cap_mb_ = mb; return *this; }
  DataParallelOptions& first_bucket_mb(double mb) { first_bucket_mb_ = mb; return *this; }
  DataParallelOptions& broadcast_buffers(bool on) { broadcast_buffers_ = on; return *this; }
};

class Reducer;

class DistributedDataParallel : public nn::Module {
 public:
  DistributedDataParallel(std::shared_ptr<nn::Module> module, ProcessGroup& group, DataParallelOptions options = {});
  ~DistributedDataParallel() override;

  Tensor forward(const Tensor& input) override;
  nn::Module& module() { return *module_; }
  const std::shared_ptr<nn::Module>& module_ptr() const { return module_; }
  ProcessGroup& group() { return group_; }

  // While alive, backward passes do not communicate (see above). Not nestable across threads.
  class NoSync {
   public:
    explicit NoSync(Reducer& reducer);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    Reducer& reducer_;
  };
  NoSync no_sync() { return NoSync(*reducer_); }

  int64_t num_buckets() const;
  // Milliseconds the last backward waited, after its own work, for allreduces still in flight.
  double last_comm_wait_ms() const;

 private:
  void check_replicas_agree();
  void broadcast_state(bool parameters_too);

  std::shared_ptr<nn::Module> module_;
  ProcessGroup& group_;
  DataParallelOptions options_;
  std::shared_ptr<Reducer> reducer_;  // hooks on the parameters hold it weakly
};

}  // namespace ember::dist
