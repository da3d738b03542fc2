// Datasets and the DataLoader.
//
// The DataLoader's order is a pure function of (seed, epoch): epoch e's permutation does not depend
// on how many batches were drawn before, so a run resumed mid-epoch sees exactly the batches an
// uninterrupted run would. Its state is a small dict: {seed, epoch, cursor, sample_cursor,
// world_size}.
//
// Data parallelism (DataLoaderOptions::distributed(rank, num_replicas)), as PyTorch's
// DistributedSampler: every process computes the same epoch order, padded by repeating its first
// samples to a multiple of num_replicas, and draws every num_replicas-th sample starting at its
// rank. The position is kept as a global sample cursor — how many samples of the epoch's order
// all processes together have drawn — so a checkpoint written by N processes resumes with M: the
// remaining samples order[cursor:] are dealt out among the M, each seen exactly once (plus the
// padding, < M samples from the epoch's start, when M does not divide what remains).
#pragma once

#include <memory>
#include <vector>

#include "core/tensor.h"
#include "io/stateful.h"
#include "io/value.h"

namespace ember::io {

struct Batch {
  Tensor input;   // [B, ...]
  Tensor target;  // [B, ...]
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // The examples at `indices` stacked into one batch.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const = 0;
};

// Examples are rows of two tensors (inputs and targets with equal first dims).
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor targets);
  int64_t size() const override { return inputs_.size(0); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;

 private:
  Tensor inputs_, targets_;
};

// The first n examples of another dataset.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, int64_t n);
  int64_t size() const override { return n_; }
  Batch get_batch(const std::vector<int64_t>& indices) const override { return base_->get_batch(indices); }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t n_;
};

struct DataLoaderOptions {
  int64_t batch_size_ = 1;
  bool shuffle_ = false;
  bool drop_last_ = false;
  uint64_t seed_ = 0;
  int64_t rank_ = 0, num_replicas_ = 1;
  DataLoaderOptions& batch_size(int64_t b) { batch_size_ = b; return *this; }
  // This process's share of every epoch (see above); batch_size is per process.
  DataLoaderOptions& distributed(int64_t rank, int64_t num_replicas) {
    rank_ = rank;
    num_replicas_ = num_replicas;
    return *this;
  }
  DataLoaderOptions& shuffle(bool s) { shuffle_ = s; return *this; }
  DataLoaderOptions& drop_last(bool d) { drop_last_ = d; return *this; }
  DataLoaderOptions& seed(uint64_t s) { seed_ = s; return *this; }
};

class DataLoader : public Stateful {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options);

  // Starts epoch `epoch` from its first batch.
  void set_epoch(int64_t epoch);
  // The next batch of the current epoch; false when the epoch is exhausted.
  bool next(Batch& batch);
  int64_t epoch() const { return epoch_; }
  int64_t cursor() const { return batches_before_ + cursor_; }  // batches this process drew this epoch
  int64_t batches_per_epoch() const;
  // Samples of the epoch's order drawn by all processes together (see above).
  int64_t sample_cursor() const;
  // The sample order of an epoch: a permutation from (seed, epoch) when shuffling, else 0..n-1.
  std::vector<int64_t> order(int64_t epoch) const;

  // {"seed", "epoch", "cursor" (batches), "sample_cursor", "world_size"}
  Value state_dict() const override;
  // Restores the position; the next batch is the one an uninterrupted loader would draw next.
  // A state written with another number of processes continues at its sample_cursor; one without
  // sample_cursor (older files) at cursor * batch_size. Throws if the state's seed differs from
  // the loader's or the position is out of range.
  void load_state_dict(const Value& state) override;

 private:
  // Starts drawing epoch `epoch` at global sample `consumed`.
  void begin_segment(int64_t epoch, int64_t consumed);
  int64_t local_batches() const;
  int64_t padded_size() const;  // the epoch's order padded to a multiple of num_replicas

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
  int64_t start_ = 0;            // global samples drawn before this segment
  int64_t batches_before_ = 0;   // this process's batches drawn before this segment
  int64_t cursor_ = 0;           // batches drawn in this segment
  std::vector<int64_t> order_;   // this process's samples from start_ on
};

}  // namespace ember::io
