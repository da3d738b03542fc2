// The training run: model, optimizer, scheduler, data loader, checkpoints, metrics.jsonl.
//
// Everything that determines the next step lives in the checkpoint — model, optimizer and
// scheduler state, epoch and global step, the default generator (dropout), the data loader's
// position, the metric history and the number of metrics rows written — so a run resumed from a
// checkpoint continues bit-identically to one that never stopped (same seed and thread count).
#pragma once

#include <memory>
#include <string>

#include "ember.h"
#include "options.h"
#include "progress.h"

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
  ember::io::Value state() const;
  void restore(const ember::io::Value& state);
  void save(std::map<std::string, double> metrics = {});
  Eval evaluate();
  void append_metrics(const nlohmann::json& row);
  void truncate_metrics(int64_t rows);

  Options o_;
  std::shared_ptr<const ember::io::Dataset> train_data_, test_data_;
  std::shared_ptr<ember::nn::Sequential> model_;
  std::unique_ptr<ember::optim::Optimizer> optimizer_;
  std::unique_ptr<ember::optim::CosineAnnealingLR> scheduler_;
  std::unique_ptr<ember::io::DataLoader> loader_;
  std::unique_ptr<ember::io::CheckpointManager> checkpoints_;
  Progress progress_;
  int64_t epoch_ = 0, global_step_ = 0, metrics_rows_ = 0;
  double last_loss_ = 0;
  bool finished_ = false;
  ember::io::List history_;  // one {"epoch", "step", "test_loss", "test_accuracy"} per epoch
};

}  // namespace fashion
