#include "optim/rmsprop.h"

#include "core/ops/arithmetic.h"
#include "core/ops/factories.h"
#include "core/ops/math.h"

namespace ember::optim {

io::Dict RMSpropOptions::dict() const {
  io::Dict d;
  d.insert("lr", lr_);
  d.insert("momentum", momentum_);
  d.insert("alpha", alpha_);
  d.insert("eps", eps_);
  d.insert("centered", centered_);
  d.insert("weight_decay", weight_decay_);
  d.insert("foreach", io::Value());
  d.insert("maximize", maximize_);
  d.insert("differentiable", false);
  return d;
}

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions o)
    : Optimizer("RMSprop", o.dict(), std::vector<ParamGroup>{{std::move(params), {}}},
                [](const io::Dict& d) { validate("RMSprop", d); }) {}

void RMSprop::validate(const std::string&, const io::Dict& o) {
  check_non_negative("RMSprop", o, "lr", "learning rate");
  check_non_negative("RMSprop", o, "eps", "epsilon value");
  check_non_negative("RMSprop", o, "momentum", "momentum value");
  check_non_negative("RMSprop", o, "weight_decay", "weight_decay value");
  check_non_negative("RMSprop", o, "alpha", "alpha value");
}

void RMSprop::update(const ParamGroup& g, Tensor& param, io::Dict& state) {
  double lr = g.lr(), alpha = g.number("alpha"), eps = g.number("eps"), momentum = g.number("momentum");
  double weight_decay = g.number("weight_decay");
  bool centered = g.flag("centered");
  if (!state.contains("step")) {
    state.insert("step", 0);
    state.insert("square_avg", zeros_like(param));
    if (momentum > 0) state.insert("momentum_buffer", zeros_like(param));
    if (centered) state.insert("grad_avg", zeros_like(param));
  }
  state.insert("step", state.at("step").to_int() + 1);
  Tensor grad = g.flag("maximize") ? neg(param.grad()) : param.grad();
  if (weight_decay != 0) grad = add(grad, param, weight_decay);
  Tensor square_avg = state.at("square_avg").to_tensor();
  square_avg.mul_(alpha).addcmul_(grad, grad, 1 - alpha);
  Tensor avg;
  if (centered) {
    Tensor grad_avg = state.at("grad_avg").to_tensor();
    grad_avg.mul_(alpha).add_(grad, 1 - alpha);
    Tensor centered_sq = square_avg.clone();
    centered_sq.addcmul_(grad_avg, grad_avg, -1.0);
    avg = sqrt(centered_sq);
  } else {
    avg = sqrt(square_avg);
  }
  avg.add_(eps);
  if (momentum > 0) {
    Tensor buf = state.at("momentum_buffer").to_tensor();
    buf.mul_(momentum).addcdiv_(grad, avg);
    param.add_(buf, -lr);
  } else {
    param.addcdiv_(grad, avg, -lr);
  }
}

io::Dict AdagradOptions::dict() const {
  io::Dict d;
  d.insert("lr", lr_);
  d.insert("lr_decay", lr_decay_);
  d.insert("eps", eps_);
  d.insert("weight_decay", weight_decay_);
  d.insert("initial_accumulator_value", initial_accumulator_value_);
  d.insert("foreach", io::Value());
  d.insert("maximize", maximize_);
  return d;
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions o)
    : Optimizer("Adagrad", o.dict(), std::vector<ParamGroup>{{std::move(params), {}}},
                [](const io::Dict& d) { validate("Adagrad", d); }) {
  // PyTorch creates Adagrad's state eagerly, in the constructor.
  int64_t index = 0;
  for (ParamGroup& g : param_groups())
    for (Tensor& p : g.params) {
      io::Dict& s = state(index++);
      s.insert("step", scalar_tensor(0.0, kFloat32));
      s.insert("sum", full_like(p, g.number("initial_accumulator_value")));
    }
}

void Adagrad::validate(const std::string&, const io::Dict& o) {
  check_non_negative("Adagrad", o, "lr", "learning rate");
  check_non_negative("Adagrad", o, "lr_decay", "lr_decay value");
  check_non_negative("Adagrad", o, "weight_decay", "weight_decay value");
  check_non_negative("Adagrad", o, "initial_accumulator_value", "initial_accumulator_value");
  check_non_negative("Adagrad", o, "eps", "epsilon value");
}

void Adagrad::update(const ParamGroup& g, Tensor& param, io::Dict& state) {
  Tensor step_t = state.at("step").to_tensor(), sum = state.at("sum").to_tensor();
  step_t.add_(1.0);
  double step = step_t.item();
  Tensor grad = g.flag("maximize") ? neg(param.grad()) : param.grad();
  if (g.number("weight_decay") != 0) grad = add(grad, param, g.number("weight_decay"));
  double clr = g.lr() / (1 + (step - 1) * g.number("lr_decay"));
  sum.addcmul_(grad, grad, 1.0);
  Tensor std_ = sqrt(sum);
  std_.add_(g.number("eps"));
  param.addcdiv_(grad, std_, -clr);
}

}  // namespace ember::optim
