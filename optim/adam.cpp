#include "optim/adam.h"

#include <cmath>

#include "core/backend/backend.h"
#include "core/ops/arithmetic.h"
#include "core/ops/copy.h"
#include "core/ops/factories.h"
#include "core/ops/math.h"

namespace ember::optim {

namespace {

io::Dict adam_defaults(const AdamOptions& o) {
  io::Dict d;
  d.insert("lr", o.lr_);
  d.insert("betas", io::Tuple{{o.beta1_, o.beta2_}});
  d.insert("eps", o.eps_);
  d.insert("weight_decay", o.weight_decay_.is_none() ? io::Value(0) : o.weight_decay_);
  d.insert("amsgrad", o.amsgrad_);
  d.insert("maximize", o.maximize_);
  d.insert("foreach", io::Value());
  d.insert("capturable", false);
  d.insert("differentiable", false);
  d.insert("fused", false);
  return d;
}

// AdamW's keys in PyTorch 1.13's order.
io::Dict adamw_defaults(const AdamOptions& o) {
  io::Dict d;
  d.insert("lr", o.lr_);
  d.insert("betas", io::Tuple{{o.beta1_, o.beta2_}});
  d.insert("eps", o.eps_);
  d.insert("weight_decay", o.weight_decay_.is_none() ? io::Value(1e-2) : o.weight_decay_);
  d.insert("amsgrad", o.amsgrad_);
  d.insert("foreach", io::Value());
  d.insert("maximize", o.maximize_);
  d.insert("capturable", false);
  return d;
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions o) : Adam(std::vector<ParamGroup>{{std::move(params), {}}}, o) {}
Adam::Adam(std::vector<ParamGroup> groups, AdamOptions o) : Adam("Adam", adam_defaults(o), std::move(groups)) {}
Adam::Adam(const char* name, io::Dict defaults, std::vector<ParamGroup> groups)
    : Optimizer(name, std::move(defaults), std::move(groups), [name](const io::Dict& d) { validate(name, d); }) {}

AdamW::AdamW(std::vector<Tensor> params, AdamOptions o) : AdamW(std::vector<ParamGroup>{{std::move(params), {}}}, o) {}
AdamW::AdamW(std::vector<ParamGroup> groups, AdamOptions o) : Adam("AdamW", adamw_defaults(o), std::move(groups)) {
  decoupled_weight_decay_ = true;
}

void Adam::validate(const std::string& name, const io::Dict& o) {
  check_non_negative(name, o, "lr", "learning rate");
  check_non_negative(name, o, "eps", "epsilon value");
  check_non_negative(name, o, "weight_decay", "weight_decay value");
  const auto& betas = o.at("betas").tuple();
  EMBER_CHECK_VALUE(betas.size() == 2, name, ": betas must hold 2 values, found ", betas.size());
  for (int i = 0; i < 2; ++i) {
    double b = betas[i].to_double();
    EMBER_CHECK_VALUE(b >= 0.0 && b < 1.0, name, ": invalid beta parameter at index ", i, ": ", b, " (expected in [0, 1))");
  }
}

void Adam::update(const ParamGroup& g, Tensor& param, io::Dict& state) {
  double lr = g.lr(), eps = g.number("eps"), weight_decay = g.number("weight_decay");
  double beta1 = g.options.at("betas").tuple()[0].to_double(), beta2 = g.options.at("betas").tuple()[1].to_double();
  bool amsgrad = g.flag("amsgrad");
  if (!state.contains("step")) {
    state.insert("step", scalar_tensor(0.0, kFloat32));
    state.insert("exp_avg", zeros_like(param));
    state.insert("exp_avg_sq", zeros_like(param));
    if (amsgrad) state.insert("max_exp_avg_sq", zeros_like(param));
  }
  if (state.at("step").is_int())  // files older than PyTorch 1.12 store an int
    state.insert("step", scalar_tensor(static_cast<double>(state.at("step").to_int()), kFloat32));
  Tensor step_t = state.at("step").to_tensor();
  Tensor exp_avg = state.at("exp_avg").to_tensor(), exp_avg_sq = state.at("exp_avg_sq").to_tensor();

  step_t.add_(1.0);
  double step = step_t.item();
  AdamStep s;
  s.lr = lr, s.beta1 = beta1, s.beta2 = beta2, s.eps = eps, s.weight_decay = weight_decay;
  s.decoupled_weight_decay = decoupled_weight_decay_, s.amsgrad = amsgrad, s.maximize = g.flag("maximize");
  s.step_size = lr / (1 - std::pow(beta1, step));
  s.bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, step));
  if (amsgrad && !state.contains("max_exp_avg_sq")) state.insert("max_exp_avg_sq", zeros_like(param));
  Tensor max_sq = amsgrad ? state.at("max_exp_avg_sq").to_tensor() : Tensor();
  Tensor grad = param.grad();
  bool fusable = param.is_contiguous() && grad.is_contiguous() && exp_avg.is_contiguous() && exp_avg_sq.is_contiguous() &&
                 (!amsgrad || max_sq.is_contiguous());
  for (const Tensor* t : {&grad, &exp_avg, &exp_avg_sq, &max_sq})
    fusable = fusable && (!t->defined() || (t->dtype() == param.dtype() && t->device() == param.device()));
  if (fusable && (param.dtype() == kFloat32 || param.dtype() == kFloat64)) {
    for (const Tensor* t : {&param, &exp_avg, &exp_avg_sq, &max_sq})
      if (t->defined()) check_inplace(*t, "Adam step");  // the kernel writes them in place
    backend_of(param).adam_step(s, param, grad, exp_avg, exp_avg_sq, max_sq);
    return;
  }
  // Views and mixed dtypes: the same arithmetic, one op at a time.
  if (s.maximize) grad = neg(grad);
  if (decoupled_weight_decay_) param.mul_(1 - lr * weight_decay);
  else if (weight_decay != 0) grad = add(grad, param, weight_decay);
  exp_avg.mul_(beta1).add_(grad, 1 - beta1);
  exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  Tensor second = exp_avg_sq;
  if (amsgrad) {
    max_sq.copy_(maximum(max_sq, exp_avg_sq));
    second = max_sq;
  }
  Tensor denom = div(sqrt(second), s.bias_correction2_sqrt);
  denom.add_(eps);
  param.addcdiv_(exp_avg, denom, -s.step_size);
}

}  // namespace ember::optim
