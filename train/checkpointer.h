// Checkpointer: the resume protocol for any training loop.
//
//   train::Checkpointer ckpt("runs/a", train::CheckpointerOptions().keep_last(3).max_steps(1000));
//   ckpt.add("model", *model).add("optimizer", opt).add("scheduler", sched)
//       .add("data_loader", loader).add("rng", default_generator())
//       .track("loss", loss).must_match("config", config);
//   train::Position at = ckpt.resume();          // restores everything registered, or starts fresh
//   train::PreemptionGuard preemption;
//   while (!ckpt.done(at)) {
//     ... one step ...; ++at.step;
//     if (at.step % 100 == 0 || preemption.requested()) ckpt.save(at);
//     if (preemption.requested()) return train::kExitRequeue;
//   }
//
// A checkpoint is a dict: each registered name -> that component's state_dict(), plus the
// protocol's own keys "global_step", "epoch", "finished", "metrics_rows" and "ember_version" (and
// io::CheckpointManager's "checkpoint"). torch.load reads it.
//
// The run directory is locked (RunLock) from construction to destruction: a second process on it
// fails at once, naming the holder, before anything is read or removed. resume() restores from the
// newest checkpoint whose CRCs verify (corrupt ones are moved to RUN_DIR/corrupt/ and reported by
// take_messages()), and refuses — naming the key, changing nothing on disk — a checkpoint that lacks
// a registered component, holds one that is not registered, or whose must_match values differ.
// metrics() is a MetricsLog on RUN_DIR/metrics.jsonl whose row count is part of every checkpoint
// and which resume() truncates to it.
//
// Distributed runs (a dist::ProcessGroup of size > 1: options.group, or dist::world() when one was
// initialized): the same loop runs on every rank, unchanged. Rank 0 alone holds the lock, writes
// checkpoints and metrics.jsonl; save() is a collective — rank 0 commits synchronously and no rank
// returns before it did (a failed commit throws on every rank); resume() loads, on every rank, the
// checkpoint rank 0 chose. Generators keep the seed the program gave them — each rank's own,
// dist::rank_seed(seed, rank) — and take the offset from the checkpoint, so nothing per rank is
// saved and a run resumes on another number of processes (the DataLoader's global sample cursor
// does the rest). The checkpoint records "world_size".
//
// Limits are part of the protocol: done(at) is true once the run is finished, at.step reached
// max_steps or at.epoch reached max_epochs, so re-running a command that already reached its limit does nothing — any sequence of
// kills and re-runs ends with the same files as one uninterrupted run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/random/generator.h"
#include "dist/process_group.h"
#include "io/checkpoint_manager.h"
#include "io/stateful.h"
#include "train/metrics_log.h"
#include "train/run_lock.h"

namespace ember::train {

struct CheckpointerOptions {
  io::CheckpointPolicy policy;  // retention and background saves
  bool resume_ = true;          // false: start over (under the lock, delete checkpoints and metrics)
  int64_t max_steps_ = 0;       // 0: no step limit
  int64_t max_epochs_ = 0;      // 0: no epoch limit
  dist::ProcessGroup* group_ = nullptr;  // nullptr: dist::world() if initialized, else this process alone
  CheckpointerOptions& keep_last(int64_t n) { policy.keep_last(n); return *this; }
  CheckpointerOptions& keep_best(int64_t k, std::string metric, bool maximize) {
    policy.keep_best(k, std::move(metric), maximize);
    return *this;
  }
  CheckpointerOptions& keep_every(int64_t m) { policy.keep_every(m); return *this; }
  CheckpointerOptions& background(bool on) { policy.background(on); return *this; }
  CheckpointerOptions& resume(bool on) { resume_ = on; return *this; }
  CheckpointerOptions& max_steps(int64_t s) { max_steps_ = s; return *this; }
  CheckpointerOptions& max_epochs(int64_t e) { max_epochs_ = e; return *this; }
  CheckpointerOptions& group(dist::ProcessGroup& g) { group_ = &g; return *this; }
};

// Where the loop stands. The loop advances step and epoch itself and sets finished when done.
struct Position {
  int64_t step = 0;        // global steps taken
  int64_t epoch = 0;       // epochs completed
  bool finished = false;
  std::string path;        // the checkpoint resumed from; empty on a fresh start
  bool resumed() const { return !path.empty(); }
};

class Checkpointer {
 public:
  explicit Checkpointer(std::string run_dir, CheckpointerOptions options = {});
  ~Checkpointer();  // waits for a background save

  // Registers a component under `name` (a top-level key of the checkpoint). Names are unique.
  Checkpointer& add(const std::string& name, io::Stateful& component);
  // A generator's (seed, offset), saved as {"seed", "offset"}.
  Checkpointer& add(const std::string& name, Generator& generator);
  // A plain variable of the loop, saved as its value and assigned back on resume.
  Checkpointer& track(const std::string& name, int64_t& value);
  Checkpointer& track(const std::string& name, double& value);
  Checkpointer& track(const std::string& name, bool& value);
  Checkpointer& track(const std::string& name, std::string& value);
  Checkpointer& track(const std::string& name, io::Value& value);
  Checkpointer& track(const std::string& name, io::List& value);
  // A value the checkpoint must hold unchanged to be resumed (the model kind, the batch size...):
  // saved under `name`; resume() throws naming the first differing key.
  Checkpointer& must_match(const std::string& name, io::Value expected);

  // Restores every registered component from the newest valid checkpoint and returns its
  // position; a fresh start (no checkpoint, or resume(false)) returns Position{} and empties
  // metrics.jsonl. Call once, after registering everything.
  Position resume();
  // Commits a checkpoint of every registered component at `at.step` (atomic; in the background
  // with policy.background, returning after the snapshot). `metrics` feed retention by metric.
  void save(const Position& at, std::map<std::string, double> metrics = {});
  // Blocks until a background save is committed; throws its error.
  void wait();
  // True when the run is finished, at.step has reached max_steps or at.epoch max_epochs.
  bool done(const Position& at) const;
  bool at_step_limit(const Position& at) const { return max_steps() > 0 && at.step >= max_steps(); }
  int64_t max_steps() const { return options_.max_steps_; }

  MetricsLog& metrics() { return metrics_; }
  const std::string& run_dir() const { return run_dir_; }
  // Rank 0's (the writer's) manager; throws on other ranks.
  io::CheckpointManager& manager();
  // What resume() should tell a person: corrupt checkpoints moved aside, stale temp files removed.
  std::vector<std::string> take_messages() { return manager_ ? manager_->take_messages() : std::vector<std::string>{}; }
  double last_stall_ms() const { return manager_ ? manager_->last_stall_ms() : 0.0; }
  // True on the rank that writes (rank 0, or the only process).
  bool is_writer() const { return rank() == 0; }

 private:
  Checkpointer& add_owned(const std::string& name, std::unique_ptr<io::Stateful> component);
  // Throws unless `name` may name a new component or value: not empty, not a protocol key, not taken.
  void check_new_name(const std::string& name) const;
  bool registered(const std::string& name) const;
  io::Value gather(const Position& at) const;
  void check_compatible(const io::Value& state, const std::string& path) const;
  void restore(const io::Value& state, const std::string& path);
  bool distributed() const { return group_ && group_->size() > 1; }
  int rank() const { return group_ ? group_->rank() : 0; }

  std::string run_dir_;
  CheckpointerOptions options_;
  dist::ProcessGroup* group_;
  std::unique_ptr<RunLock> lock_;  // before the manager: nothing in the directory is touched without the lock
  std::unique_ptr<io::CheckpointManager> manager_;
  MetricsLog metrics_;
  std::vector<std::pair<std::string, io::Stateful*>> components_;
  std::vector<std::unique_ptr<io::Stateful>> owned_;
  std::vector<std::pair<std::string, io::Value>> must_match_;
};

// A named set of generators as one component: {"default": {"seed", "offset"}, ...}.
class Generators : public io::Stateful {
 public:
  Generators& add(const std::string& name, Generator& generator);
  io::Value state_dict() const override;
  void load_state_dict(const io::Value& state) override;
  // Restores only the offsets (a distributed run: each rank keeps its own seed).
  bool keep_seeds = false;

 private:
  std::vector<std::pair<std::string, Generator*>> generators_;
};

}  // namespace ember::train
