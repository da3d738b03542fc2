#include "io/data/dataset.h"

#include <numeric>

#include "core/ops/factories.h"
#include "core/ops/indexing.h"

namespace ember::io {

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  EMBER_CHECK_VALUE(inputs_.dim() >= 1 && targets_.dim() >= 1 && inputs_.size(0) == targets_.size(0),
                    "TensorDataset: inputs ", inputs_.sizes(), " and targets ", targets_.sizes(),
                    " must have the same first dim");
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  Tensor idx = tensor(indices);
  return {index_select(inputs_, 0, idx), index_select(targets_, 0, idx)};
}

Subset::Subset(std::shared_ptr<const Dataset> base, int64_t n) : base_(std::move(base)), n_(n) {
  EMBER_CHECK_VALUE(base_ && n >= 0 && n <= base_->size(), "Subset: expected 0 <= n <= ", base_ ? base_->size() : 0, ", found ", n);
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  EMBER_CHECK_VALUE(dataset_ != nullptr, "DataLoader: dataset is null");
  EMBER_CHECK_VALUE(options_.batch_size_ > 0, "DataLoader: batch_size must be positive, found ", options_.batch_size_);
  set_epoch(0);
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  int64_t n = dataset_->size();
  if (!options_.shuffle_) {
    std::vector<int64_t> identity(static_cast<size_t>(n));
    std::iota(identity.begin(), identity.end(), 0);
    return identity;
  }
  // A generator keyed by (seed, epoch) alone: golden-ratio mixing keeps nearby epochs apart.
  Generator g(options_.seed_ ^ (static_cast<uint64_t>(epoch + 1) * 0x9E3779B97F4A7C15ULL));
  return randperm(n, kInt64, &g).to_vector<int64_t>();
}

void DataLoader::set_epoch(int64_t epoch) {
  EMBER_CHECK_VALUE(epoch >= 0, "DataLoader: epoch must be non-negative, found ", epoch);
  epoch_ = epoch;
  cursor_ = 0;
  order_ = order(epoch);
}

int64_t DataLoader::batches_per_epoch() const {
  int64_t n = dataset_->size(), b = options_.batch_size_;
  return options_.drop_last_ ? n / b : (n + b - 1) / b;
}

bool DataLoader::next(Batch& batch) {
  if (cursor_ >= batches_per_epoch()) return false;
  int64_t begin = cursor_ * options_.batch_size_;
  int64_t end = std::min<int64_t>(begin + options_.batch_size_, static_cast<int64_t>(order_.size()));
  batch = dataset_->get_batch(std::vector<int64_t>(order_.begin() + begin, order_.begin() + end));
  ++cursor_;
  return true;
}

Value DataLoader::state_dict() const {
  Dict d;
  d.insert("seed", static_cast<int64_t>(options_.seed_));
  d.insert("epoch", epoch_);
  d.insert("cursor", cursor_);
  return Value(std::move(d));
}

void DataLoader::load_state_dict(const Value& state) {
  int64_t seed = state.at("seed").to_int(), epoch = state.at("epoch").to_int(), cursor = state.at("cursor").to_int();
  EMBER_CHECK_VALUE(static_cast<uint64_t>(seed) == options_.seed_, "DataLoader.load_state_dict: the state was saved with seed ",
                    seed, " but this loader uses seed ", options_.seed_);
  EMBER_CHECK_VALUE(cursor >= 0 && cursor <= batches_per_epoch() && epoch >= 0, "DataLoader.load_state_dict: epoch ", epoch,
                    ", cursor ", cursor, " is out of range for ", batches_per_epoch(), " batches per epoch");
  set_epoch(epoch);
  cursor_ = cursor;
}

}  // namespace ember::io
