// The training run: model, optimizer, scheduler and data loader, resumed by the library's
// train::Checkpointer.
//
// Everything that determines the next step is registered with the Checkpointer — model, optimizer
// and scheduler state, the default generator (dropout), the data loader's position, the last loss
// and the metric history; the Checkpointer adds epoch, global step and the metrics.jsonl row count
// — so a run resumed from a checkpoint continues bit-identically to one that never stopped (same
// seed and thread count).
//
// Started by `ember launch -n N`, it trains data-parallel: each of the N processes draws its share
// of every epoch (--batch-size per process: the global batch is N times it), the gradients are
// averaged by DistributedDataParallel, rank 0 writes checkpoints and prints, and evaluation is split
// among the ranks. Checkpoints hold the plain model's keys, so a run resumes on any N.
#pragma once

#include <memory>
#include <string>

#include "ember.h"
#include "options.h"

namespace fashion {

class Trainer {
 public:
  explicit Trainer(Options options);
  // Trains to the end (or --max-steps, or a preemption). Returns the process exit status.
  int run();
  // --eval-only: evaluates a checkpoint or a PyTorch state_dict. Returns the exit status.
  int evaluate_only();

 private:
  struct Eval {
    double loss = 0, accuracy = 0;
    bool interrupted = false;
  };
  // Stops early (interrupted) when `preemption` has been requested.
  Eval evaluate(const ember::train::PreemptionGuard* preemption);

  // The model as the loop calls it: wrapped in DistributedDataParallel when there are N > 1 ranks.
  ember::Tensor forward(const ember::Tensor& input);

  Options o_;

  ember::Device device_;  // where the model and each batch live (--device)
  ember::dist::ProcessGroup& world_;
  std::shared_ptr<ember::dist::DistributedDataParallel> replica_;
  std::shared_ptr<const ember::io::Dataset> train_data_, test_data_;
  std::shared_ptr<ember::nn::Sequential> model_;
  std::unique_ptr<ember::optim::Optimizer> optimizer_;
  std::unique_ptr<ember::optim::CosineAnnealingLR> scheduler_;
  std::unique_ptr<ember::io::DataLoader> loader_;
  ember::train::Generators rngs_;  // {"default": the default generator}
  ember::train::ProgressBar progress_;  // rank 0 prints; the others are quiet
  double last_loss_ = 0;
  ember::io::List history_;  // one {"epoch", "step", "test_loss", "test_accuracy"} per epoch
};

}  // namespace fashion
