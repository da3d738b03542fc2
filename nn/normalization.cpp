#include "nn/normalization.h"

#include <algorithm>

#include "core/autograd/grad_mode.h"
#include "core/ops/activation.h"
#include "core/ops/arithmetic.h"
#include "core/ops/factories.h"
#include "core/ops/join.h"
#include "core/ops/math.h"
#include "core/ops/normalization.h"
#include "core/ops/pool.h"
#include "core/ops/reduce.h"

namespace ember::nn {

BatchNorm::BatchNorm(const char* type_name, BatchNormOptions o, int64_t min_dim, int64_t max_dim)
    : Module(type_name), options(o), min_dim_(min_dim), max_dim_(max_dim) {
  if (o.affine_) {
    weight = register_parameter("weight", ones({o.num_features}));
    bias = register_parameter("bias", zeros({o.num_features}));
  }
  if (o.track_running_stats_) {
    running_mean = register_buffer("running_mean", zeros({o.num_features}));
    running_var = register_buffer("running_var", ones({o.num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", scalar_tensor(0, kInt64));
  }
}

void BatchNorm::reset_running_stats() {
  if (!options.track_running_stats_) return;
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

Tensor BatchNorm::forward(const Tensor& x) { return normalize(x, Then::Nothing); }
Tensor BatchNorm::forward_relu(const Tensor& x) { return normalize(x, Then::Relu); }
Tensor BatchNorm::forward_relu_max_pool(const Tensor& x) { return normalize(x, Then::ReluMaxPool); }

Tensor BatchNorm::normalize(const Tensor& x, Then then) {
  EMBER_CHECK_VALUE(x.dim() >= min_dim_ && x.dim() <= max_dim_, type_name(), ": expected ",
                    min_dim_ == max_dim_ ? str(min_dim_, "-D") : str(min_dim_, "-D or ", max_dim_, "-D"),
                    " input, found shape ", x.sizes());
  EMBER_CHECK_VALUE(x.size(1) == options.num_features, type_name(), ": expected ", options.num_features,
                    " channels (dim 1), found input of shape ", x.sizes());
  bool use_batch_stats = is_training() || !options.track_running_stats_;
  double momentum = options.momentum_;
  if (is_training() && options.track_running_stats_) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1.0);
  }
  if (sum_over_replicas && use_batch_stats) {
    Tensor y = normalize_synced(x);
    if (then == Then::Nothing) return y;
    return then == Then::Relu ? relu(y) : max_pool2d(relu(y), 2);
  }
  bool update = is_training() && options.track_running_stats_;
  Tensor rm = update || !use_batch_stats ? running_mean : Tensor(), rv = update || !use_batch_stats ? running_var : Tensor();
  switch (then) {
    case Then::Relu: return batch_norm_relu(x, rm, rv, weight, bias, use_batch_stats, momentum, options.eps_);
    case Then::ReluMaxPool:
      return batch_norm_relu_max_pool2d(x, rm, rv, weight, bias, use_batch_stats, momentum, options.eps_);
    case Then::Nothing: break;
  }
  return batch_norm(x, rm, rv, weight, bias, use_batch_stats, momentum, options.eps_);
}

// The composite form: every step an op autograd differentiates, the replica sums included, so the
// backward is the chain rule through the global statistics (each replica's gradient of the sums
// summed over the replicas, as SyncBatchNorm's backward does by hand).
Tensor BatchNorm::normalize_synced(const Tensor& x) {
  const int64_t c = x.size(1);
  Shape dims{0}, channel(static_cast<size_t>(x.dim()), 1);
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  channel[1] = c;
  // One sum over the replicas for the channel sums and the element count (its last entry).
  Tensor local = cat({sum(x, dims).to(kFloat64), full({1}, static_cast<double>(x.numel() / std::max<int64_t>(c, 1)),
                                                       TensorOptions(kFloat64).device(x.device()))});
  Tensor global = sum_over_replicas(local);
  EMBER_CHECK_VALUE(global.dim() == 1 && global.size(0) == c + 1, type_name(),
                    ": sum_over_replicas must return its input's shape [", c + 1, "], found ", global.sizes());
  const double count = global.narrow(0, c, 1).item();
  EMBER_CHECK_VALUE(count > 1, type_name(), ": expected more than 1 value per channel across the replicas when training, found ",
                    count, " (input of shape ", x.sizes(), ")");
  Tensor mean = div(global.narrow(0, 0, c), count);
  Tensor centred = sub(x, mean.to(x.dtype()).reshape(channel));
  Tensor var = div(sum_over_replicas(sum(mul(centred, centred), dims).to(kFloat64)), count);
  Tensor scale = rsqrt(add(var, options.eps_)).to(x.dtype());
  if (weight.defined()) scale = mul(scale, weight);
  Tensor y = mul(centred, scale.reshape(channel));
  if (bias.defined()) y = add(y, bias.reshape(channel));
  if (is_training() && options.track_running_stats_) {
    NoGradGuard no_grad;
    const double m = options.momentum_;
    running_mean.mul_(1.0 - m).add_(mean.detach().to(running_mean.dtype()), m);
    running_var.mul_(1.0 - m).add_(mul(var.detach(), count / (count - 1)).to(running_var.dtype()), m);
  }
  return y;
}

void BatchNorm::upgrade_state_dict(io::Dict& dict, const std::string& prefix, std::optional<int64_t> version) const {
  // State dicts of version 1 (or without _metadata) predate num_batches_tracked: start it at 0.
  std::string key = prefix + "num_batches_tracked";
  if (options.track_running_stats_ && (!version || *version < 2) && !dict.contains(key))
    dict.insert(key, scalar_tensor(0, kInt64));
}

nlohmann::json BatchNorm::config() const {
  return {{"num_features", options.num_features}, {"eps", options.eps_}, {"momentum", options.momentum_},
          {"affine", options.affine_}, {"track_running_stats", options.track_running_stats_}};
}

std::string BatchNorm::extra_repr() const {
  return str(options.num_features, ", eps=", options.eps_, ", momentum=", options.momentum_,
             ", affine=", options.affine_ ? "True" : "False",
             ", track_running_stats=", options.track_running_stats_ ? "True" : "False");
}

LayerNorm::LayerNorm(LayerNormOptions o) : Module("LayerNorm"), options(std::move(o)) {
  if (options.elementwise_affine_) {
    weight = register_parameter("weight", ones(options.normalized_shape));
    bias = register_parameter("bias", zeros(options.normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, options.normalized_shape, weight, bias, options.eps_); }

nlohmann::json LayerNorm::config() const {
  return {{"normalized_shape", options.normalized_shape}, {"eps", options.eps_},
          {"elementwise_affine", options.elementwise_affine_}};
}

std::string LayerNorm::extra_repr() const {
  std::string shape = "(";
  for (size_t i = 0; i < options.normalized_shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(options.normalized_shape[i]);
  shape += options.normalized_shape.size() == 1 ? ",)" : ")";
  return str(shape, ", eps=", options.eps_, ", elementwise_affine=", options.elementwise_affine_ ? "True" : "False");
}

}  // namespace ember::nn
