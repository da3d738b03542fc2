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
  EMBER_CHECK_VALUE(options_.num_replicas_ >= 1 && options_.rank_ >= 0 && options_.rank_ < options_.num_replicas_,
                    "DataLoader: expected 0 <= rank < num_replicas, found rank ", options_.rank_, " of ", options_.num_replicas_);
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

int64_t DataLoader::padded_size() const {
  int64_t n = dataset_->size(), w = options_.num_replicas_;
  return (n + w - 1) / w * w;
}

void DataLoader::begin_segment(int64_t epoch, int64_t consumed) {
  epoch_ = epoch;
  start_ = std::min(consumed, padded_size());
  cursor_ = 0;
  std::vector<int64_t> all = order(epoch);
  int64_t n = static_cast<int64_t>(all.size()), w = options_.num_replicas_;
  for (int64_t i = n; i < padded_size(); ++i) all.push_back(all[static_cast<size_t>(i % n)]);  // as PyTorch pads
  order_.clear();
  for (int64_t i = start_ + options_.rank_; i < static_cast<int64_t>(all.size()); i += w) order_.push_back(all[static_cast<size_t>(i)]);
  int64_t per_step = options_.batch_size_ * w;
  batches_before_ = (start_ + per_step - 1) / per_step;
}

void DataLoader::set_epoch(int64_t epoch) {
  EMBER_CHECK_VALUE(epoch >= 0, "DataLoader: epoch must be non-negative, found ", epoch);
  begin_segment(epoch, 0);
}

int64_t DataLoader::local_batches() const {
  int64_t n = static_cast<int64_t>(order_.size()), b = options_.batch_size_;
  return options_.drop_last_ ? n / b : (n + b - 1) / b;
}

int64_t DataLoader::batches_per_epoch() const { return batches_before_ + local_batches(); }

int64_t DataLoader::sample_cursor() const {
  int64_t drawn = std::min<int64_t>(cursor_ * options_.batch_size_, static_cast<int64_t>(order_.size()));
  return std::min(start_ + drawn * options_.num_replicas_, padded_size());
}

bool DataLoader::next(Batch& batch) {
  if (cursor_ >= local_batches()) return false;
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
  d.insert("cursor", cursor());
  d.insert("sample_cursor", sample_cursor());
  d.insert("world_size", options_.num_replicas_);
  return Value(std::move(d));
}

void DataLoader::load_state_dict(const Value& state) {
  int64_t seed = state.at("seed").to_int(), epoch = state.at("epoch").to_int(), cursor = state.at("cursor").to_int();
  EMBER_CHECK_VALUE(static_cast<uint64_t>(seed) == options_.seed_, "DataLoader.load_state_dict: the state was saved with seed ",
                    seed, " but this loader uses seed ", options_.seed_);
  int64_t n = dataset_->size();
  int64_t consumed = state.contains("sample_cursor") ? state.at("sample_cursor").to_int() : cursor * options_.batch_size_;
  int64_t saved_world = state.contains("world_size") ? state.at("world_size").to_int() : 1;
  int64_t saved_padded = saved_world > 0 ? (n + saved_world - 1) / saved_world * saved_world : n;
  EMBER_CHECK_VALUE(epoch >= 0 && cursor >= 0 && consumed >= 0 && consumed <= std::max(saved_padded, n + options_.batch_size_),
                    "DataLoader.load_state_dict: epoch ", epoch, ", sample cursor ", consumed,
                    " is out of range for an epoch of ", n, " samples");
  begin_segment(epoch, consumed);
}

}  // namespace ember::io
