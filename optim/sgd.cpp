#include "optim/sgd.h"

#include "core/ops/arithmetic.h"

namespace ember::optim {

io::Dict SGDOptions::dict() const {
  io::Dict d;
  d.insert("lr", lr_);
  d.insert("momentum", momentum_);
  d.insert("dampening", dampening_);
  d.insert("weight_decay", weight_decay_);
  d.insert("nesterov", nesterov_);
  d.insert("maximize", maximize_);
  d.insert("foreach", io::Value());
  d.insert("differentiable", false);
  return d;
}

SGD::SGD(std::vector<Tensor> params, SGDOptions o) : SGD(std::vector<ParamGroup>{{std::move(params), {}}}, std::move(o)) {}
SGD::SGD(std::vector<ParamGroup> groups, SGDOptions o) : Optimizer("SGD", o.dict(), std::move(groups), [](const io::Dict& d) { validate("SGD", d); }) {}

void SGD::validate(const std::string&, const io::Dict& o) {
  check_non_negative("SGD", o, "lr", "learning rate");
  check_non_negative("SGD", o, "momentum", "momentum value");
  check_non_negative("SGD", o, "weight_decay", "weight_decay value");
  EMBER_CHECK_VALUE(!o.at("nesterov").to_bool() || (o.at("momentum").to_double() > 0 && o.at("dampening").to_double() == 0),
                    "SGD: Nesterov momentum requires a momentum and zero dampening");
}

void SGD::update(const ParamGroup& g, Tensor& param, io::Dict& state) {
  double lr = g.lr(), momentum = g.number("momentum"), dampening = g.number("dampening");
  double weight_decay = g.number("weight_decay");
  Tensor d_p = g.flag("maximize") ? neg(param.grad()) : param.grad();
  if (weight_decay != 0) d_p = add(d_p, param, weight_decay);
  if (momentum != 0) {
    io::Value& slot = state["momentum_buffer"];
    if (slot.is_none()) {
      slot = d_p.clone();
    } else {
      Tensor buf = slot.to_tensor();
      buf.mul_(momentum).add_(d_p, 1 - dampening);
    }
    const Tensor& buf = slot.to_tensor();
    d_p = g.flag("nesterov") ? add(d_p, buf, momentum) : buf;
  } else {
    state.insert("momentum_buffer", io::Value());
  }
  param.add_(d_p, -lr);
}

}  // namespace ember::optim
