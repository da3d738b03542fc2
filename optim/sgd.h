// Stochastic gradient descent with momentum, dampening, weight decay, Nesterov and maximize,
// exactly as torch.optim.SGD. State: momentum_buffer (None while momentum is 0, as PyTorch 1.13).
#pragma once

#include "optim/optimizer.h"

namespace ember::optim {

struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }
  SGDOptions& maximize(bool v) { maximize_ = v; return *this; }
  // PyTorch's keys and defaults (unset numbers are the int 0, as in PyTorch).
  io::Dict dict() const;

  io::Value lr_, momentum_ = 0, dampening_ = 0, weight_decay_ = 0;
  bool nesterov_ = false, maximize_ = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults);

 protected:
  static void validate(const std::string& name, const io::Dict& options);
  void update(const ParamGroup& group, Tensor& param, io::Dict& state) override;
};

}  // namespace ember::optim
