// Datasets and the DataLoader.
//
// The DataLoader's order is a pure function of (seed, epoch): epoch e's permutation does not depend
// on how many batches were drawn before, so a run resumed mid-epoch sees exactly the batches an
// uninterrupted run would. Its whole state is {seed, epoch, cursor} — a small dict for checkpoints.
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
  DataLoaderOptions& batch_size(int64_t b) { batch_size_ = b; return *this; }
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
  int64_t cursor() const { return cursor_; }  // batches already drawn this epoch
  int64_t batches_per_epoch() const;
  // The sample order of an epoch: a permutation from (seed, epoch) when shuffling, else 0..n-1.
  std::vector<int64_t> order(int64_t epoch) const;

  // {"seed": int, "epoch": int, "cursor": int}
  Value state_dict() const override;
  // Restores the position; the next batch is the one an uninterrupted loader would draw next.
  // Throws if the state's seed differs from the loader's or the cursor is out of range.
  void load_state_dict(const Value& state) override;

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
  int64_t cursor_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace ember::io
