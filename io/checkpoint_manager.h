// CheckpointManager: numbered checkpoints in a directory, committed atomically, retained by policy,
// verified when found again, optionally written in the background.
//
//   io::CheckpointManager ckpts("runs/a", io::CheckpointPolicy().keep_last(3).keep_best(1, "test_accuracy", true));
//   if (auto last = ckpts.latest()) restore(last->state);       // newest checkpoint whose CRCs verify
//   ...
//   ckpts.save(step, state, {{"test_accuracy", acc}});          // ckpt-0000001200.pt
//   ckpts.wait();                                               // before exit, with background saves
//
// Files: <dir>/ckpt-<step, 10 digits>.pt (PyTorch's format: torch.load reads them) and
// <dir>/checkpoints.json, an atomically rewritten index of steps and metrics. Each checkpoint also
// carries its own {"step", "metrics"} under the key "checkpoint", so the index can be rebuilt from
// the files. A checkpoint that fails to load is reported, moved to <dir>/corrupt/ (never deleted)
// and skipped. Leftover temp files of an interrupted save are removed at start (not those of a
// writer that is still running: a reader may open a directory a trainer is writing).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "io/value.h"

namespace ember::io {

struct CheckpointPolicy {
  int64_t keep_last_ = 3;       // the newest N (at least 1: the newest valid one is never deleted)
  int64_t keep_best_ = 0;       // the best K by best_metric_
  std::string best_metric_;
  bool best_is_max_ = true;
  int64_t keep_every_ = 0;      // checkpoints whose step is a multiple of M are kept for good
  bool background_ = false;     // save() snapshots and returns; a writer thread writes
  CheckpointPolicy& keep_last(int64_t n) { keep_last_ = n; return *this; }
  CheckpointPolicy& keep_best(int64_t k, std::string metric, bool maximize) {
    keep_best_ = k, best_metric_ = std::move(metric), best_is_max_ = maximize;
    return *this;
  }
  CheckpointPolicy& keep_every(int64_t m) { keep_every_ = m; return *this; }
  CheckpointPolicy& background(bool on) { background_ = on; return *this; }
};

struct CheckpointInfo {
  int64_t step = 0;
  std::string path;
  std::map<std::string, double> metrics;
};

struct LoadedCheckpoint {
  CheckpointInfo info;
  Value state;
};

class CheckpointManager {
 public:
  CheckpointManager(std::string dir, CheckpointPolicy policy = {});
  ~CheckpointManager();  // waits for a background save (errors are reported on stderr then)
  CheckpointManager(const CheckpointManager&) = delete;
  CheckpointManager& operator=(const CheckpointManager&) = delete;

  // Commits `state` as checkpoint `step`, then applies retention. In background mode, snapshots the
  // state into host memory (the training stall), waits for any save still in flight (at most one),
  // and returns while a writer thread writes. An error of an earlier background save is thrown here.
  void save(int64_t step, const Value& state, std::map<std::string, double> metrics = {});
  // Blocks until no save is in flight; throws the error of a failed background save.
  void wait();

  // The newest checkpoint that loads and verifies (corrupt ones are moved aside and reported).
  std::optional<LoadedCheckpoint> latest();
  // The best by the policy's metric, falling back like latest().
  std::optional<LoadedCheckpoint> best();
  std::vector<CheckpointInfo> list() const;  // committed checkpoints, by step

  const std::string& dir() const { return dir_; }
  // What happened that a user should know: corrupt files moved aside, stale temps removed.
  std::vector<std::string> take_messages();
  // Milliseconds the last save() blocked the caller.
  double last_stall_ms() const { return last_stall_ms_; }
  std::string path_for(int64_t step) const;
  // Finishes a commit a kill interrupted: when the directory holds checkpoints the index does not
  // list (renamed into place, index not yet written) or the index lists files that are gone,
  // applies retention and rewrites the index, as that commit would have. Only the directory's
  // writer (the holder of its train::RunLock) should call it.
  void finish_interrupted_commit();

 private:
  void write(int64_t step, const Value& state, const std::map<std::string, double>& metrics);
  void commit_index_and_retain(const CheckpointInfo& added);
  void retain_and_write_index();  // with mutex_ held
  void rebuild_index();
  void write_index() const;
  std::optional<LoadedCheckpoint> first_loadable(std::vector<CheckpointInfo> candidates);
  void move_aside(const CheckpointInfo& info, const std::string& why);

  std::string dir_;
  CheckpointPolicy policy_;
  mutable std::mutex mutex_;
  std::vector<CheckpointInfo> index_;
  std::vector<std::string> messages_;
  double last_stall_ms_ = 0;
  bool index_stale_ = false;  // the index file and the directory disagree

  // The background writer: at most one job.
  std::thread writer_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool busy_ = false, stopping_ = false;
  std::string error_;
};

}  // namespace ember::io
