// Losses composed from differentiable ops: their gradients come from autograd.
#include "nn/loss.h"

#include "core/ops/activation.h"
#include "core/ops/arithmetic.h"
#include "core/ops/compare.h"
#include "core/ops/factories.h"
#include "core/ops/indexing.h"
#include "core/ops/join.h"
#include "core/ops/math.h"
#include "core/ops/reduce.h"
#include "core/ops/softmax.h"

namespace ember::nn {

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw ValueError(str("unknown reduction '", name, "': expected 'mean', 'sum' or 'none'"));
}

namespace {

Tensor reduce(const Tensor& loss, Reduction r) {
  if (r == Reduction::Mean) return mean(loss);
  if (r == Reduction::Sum) return sum(loss);
  return loss;
}

void check_same_shape(const Tensor& input, const Tensor& target, const char* op) {
  EMBER_CHECK_VALUE(input.sizes() == target.sizes(), op, ": expected target of the input's shape ", input.sizes(),
                    ", found ", target.sizes());
}

// Shared core of nll_loss and cross_entropy on log-probabilities [N, C] (or [N, C, *]).
Tensor nll_core(const Tensor& logp_in, const Tensor& target_in, const CrossEntropyOptions& o, double smoothing,
                const char* op) {
  EMBER_CHECK_VALUE(logp_in.dim() >= 2, op, ": expected input [N, C] or [N, C, *], found shape ", logp_in.sizes());
  EMBER_CHECK_VALUE(target_in.dtype() == kInt64, op, ": expected int64 class indices as target, found ", target_in.dtype());
  Shape batch_shape = logp_in.sizes();
  batch_shape.erase(batch_shape.begin() + 1);
  EMBER_CHECK_VALUE(target_in.sizes() == batch_shape, op, ": expected target of shape ", batch_shape,
                    " for input of shape ", logp_in.sizes(), ", found ", target_in.sizes());
  int64_t classes = logp_in.size(1);
  // [N, C, *] -> [M, C] with the class dim last.
  Shape class_last{0};
  for (int64_t d = 2; d < logp_in.dim(); ++d) class_last.push_back(d);
  class_last.push_back(1);
  Tensor logp = logp_in.dim() == 2 ? logp_in : logp_in.permute(class_last).reshape({-1, classes});
  Tensor target = target_in.reshape({-1});
  Tensor valid = ne(target, static_cast<double>(o.ignore_index_));
  Tensor safe_target = where(valid, target, zeros_like(target));
  if (safe_target.numel() > 0) {  // the extremes, read back in one copy (one wait on a GPU)
    std::vector<int64_t> bounds = stack({min(safe_target), max(safe_target)}).to_vector<int64_t>();
    int64_t bad = bounds[0] < 0 ? bounds[0] : bounds[1];
    EMBER_CHECK_INDEX(bad >= 0 && bad < classes, op, ": target ", bad, " is out of bounds for ", classes, " classes");
  }
  Tensor w = o.weight_.defined() ? o.weight_.to(logp.dtype()).to(logp.device())
                                 : ones({classes}, TensorOptions(logp.dtype()).device(logp.device()));
  EMBER_CHECK_VALUE(w.sizes() == Shape{classes}, op, ": expected a weight of shape [", classes, "], found ", w.sizes());
  Tensor mask = valid.to(logp.dtype());
  Tensor w_target = mul(index_select(w, 0, safe_target), mask);  // [M], 0 where ignored
  Tensor picked = gather(logp, 1, safe_target.unsqueeze(1)).squeeze(1);
  Tensor loss = neg(mul(picked, w_target));
  if (smoothing > 0) {
    Tensor smooth = mul(neg(sum(mul(logp, w), {1})), mask);
    loss = add(mul(loss, 1.0 - smoothing), mul(smooth, smoothing / static_cast<double>(classes)));
  }
  switch (o.reduction_) {
    case Reduction::None: return loss.reshape(batch_shape);
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return div(sum(loss), sum(w_target));
  }
  return loss;
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options) {
  return nll_core(input, target, options, 0.0, "nll_loss");
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options) {
  EMBER_CHECK_VALUE(options.label_smoothing_ >= 0.0 && options.label_smoothing_ <= 1.0,
                    "cross_entropy: label_smoothing must be in [0, 1], found ", options.label_smoothing_);
  EMBER_CHECK_VALUE(input.dim() >= 2, "cross_entropy: expected input [N, C] or [N, C, *], found shape ", input.sizes());
  return nll_core(log_softmax(input, 1), target, options, options.label_smoothing_, "cross_entropy");
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "mse_loss");
  Tensor d = sub(input, target);
  return reduce(mul(d, d), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "l1_loss");
  return reduce(abs(sub(input, target)), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  check_same_shape(input, target, "smooth_l1_loss");
  EMBER_CHECK_VALUE(beta >= 0, "smooth_l1_loss: beta must be non-negative, found ", beta);
  Tensor d = abs(sub(input, target));
  if (beta == 0) return reduce(d, reduction);
  Tensor quadratic = div(mul(mul(d, d), 0.5), beta);
  return reduce(where(lt(d, beta), quadratic, sub(d, 0.5 * beta)), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
  check_same_shape(input, target, "binary_cross_entropy_with_logits");
  // (1 - y) x + lw * log(1 + e^-x), lw = 1 + (pos_weight - 1) y; softplus keeps it stable.
  Tensor log_weight = pos_weight.defined() ? add(mul(sub(pos_weight, 1.0), target), 1.0) : Tensor();
  Tensor sp = softplus(neg(input));
  Tensor loss = add(mul(rsub(target, 1.0), input), log_weight.defined() ? mul(log_weight, sp) : sp);
  if (weight.defined()) loss = mul(loss, weight);
  return reduce(loss, reduction);
}

namespace {
nlohmann::json reduction_name(Reduction r) {
  return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none";
}
}  // namespace

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyOptions o) : Loss("CrossEntropyLoss"), options(std::move(o)) {
  if (options.weight_.defined()) options.weight_ = register_buffer("weight", options.weight_);
}
nlohmann::json CrossEntropyLoss::config() const {
  return {{"ignore_index", options.ignore_index_}, {"label_smoothing", options.label_smoothing_},
          {"reduction", reduction_name(options.reduction_)}};
}

NLLLoss::NLLLoss(CrossEntropyOptions o) : Loss("NLLLoss"), options(std::move(o)) {
  if (options.weight_.defined()) options.weight_ = register_buffer("weight", options.weight_);
}
nlohmann::json NLLLoss::config() const {
  return {{"ignore_index", options.ignore_index_}, {"reduction", reduction_name(options.reduction_)}};
}

BCEWithLogitsLoss::BCEWithLogitsLoss(Tensor w, Tensor pw, Reduction r)
    : Loss("BCEWithLogitsLoss"), weight(std::move(w)), pos_weight(std::move(pw)), reduction(r) {
  if (weight.defined()) register_buffer("weight", weight);
  if (pos_weight.defined()) register_buffer("pos_weight", pos_weight);
}

}  // namespace ember::nn
