// BatchNorm1d, BatchNorm2d and LayerNorm.
#pragma once

#include <functional>

#include "nn/module.h"

namespace ember::nn {

struct BatchNormOptions {
  int64_t num_features;
  double eps_ = 1e-5;
  double momentum_ = 0.1;
  bool affine_ = true;
  bool track_running_stats_ = true;
  explicit BatchNormOptions(int64_t n) : num_features(n) {}
  BatchNormOptions& eps(double e) { eps_ = e; return *this; }
  BatchNormOptions& momentum(double m) { momentum_ = m; return *this; }
  BatchNormOptions& affine(bool a) { affine_ = a; return *this; }
  BatchNormOptions& track_running_stats(bool t) { track_running_stats_ = t; return *this; }
};

// Training: normalise with the batch statistics, update running_mean/var (unbiased variance)
// with `momentum` and count num_batches_tracked (0-dim int64). Evaluation: use the running stats.
// Parameters weight (ones), bias (zeros); buffers running_mean, running_var, num_batches_tracked.
class BatchNorm : public Module {
 public:
  BatchNorm(const char* type_name, BatchNormOptions options, int64_t min_dim, int64_t max_dim);
  Tensor forward(const Tensor& x) override;
  // relu(forward(x)) as one fused op (batch_norm_relu); Sequential calls it for a BatchNorm
  // directly followed by a ReLU.
  Tensor forward_relu(const Tensor& x);
  // max_pool2d(relu(forward(x)), 2) as one fused op (batch_norm_relu_max_pool2d); Sequential
  // calls it for a BatchNorm, a ReLU and a 2x2 stride-2 MaxPool2d in a row.
  Tensor forward_relu_max_pool(const Tensor& x);
  nlohmann::json config() const override;
  std::string extra_repr() const override;
  int64_t state_dict_version() const override { return 2; }
  void reset_running_stats();

  BatchNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

  // Synchronized statistics, as torch.nn.SyncBatchNorm (dist::convert_sync_batch_norm sets it):
  // a differentiable sum over the data-parallel replicas of a per-channel tensor, called in the
  // same order on every replica. When set, training normalizes with the statistics of every
  // replica's batch together (mean, then the variance around it, in float64 through the sums) and
  // updates the running ones with them; the backward's sums travel back through it. Evaluation
  // and a module without it are unchanged.
  std::function<Tensor(const Tensor&)> sum_over_replicas;

 protected:
  void upgrade_state_dict(io::Dict& dict, const std::string& prefix, std::optional<int64_t> version) const override;

 private:
  enum class Then { Nothing, Relu, ReluMaxPool };  // what the fused op applies after normalizing
  Tensor normalize(const Tensor& x, Then then);
  Tensor normalize_synced(const Tensor& x);
  int64_t min_dim_, max_dim_;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(BatchNormOptions o) : BatchNorm("BatchNorm1d", o, 2, 3) {}
  explicit BatchNorm1d(int64_t n) : BatchNorm1d(BatchNormOptions(n)) {}
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(BatchNormOptions o) : BatchNorm("BatchNorm2d", o, 4, 4) {}
  explicit BatchNorm2d(int64_t n) : BatchNorm2d(BatchNormOptions(n)) {}
};

struct LayerNormOptions {
  Shape normalized_shape;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;
  explicit LayerNormOptions(Shape shape) : normalized_shape(std::move(shape)) {}
  LayerNormOptions& eps(double e) { eps_ = e; return *this; }
  LayerNormOptions& elementwise_affine(bool a) { elementwise_affine_ = a; return *this; }
};

// Normalises over the trailing `normalized_shape` dims; weight (ones) and bias (zeros) of that shape.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(LayerNormOptions options);
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override;
  std::string extra_repr() const override;

  LayerNormOptions options;
  Tensor weight, bias;
};

}  // namespace ember::nn
