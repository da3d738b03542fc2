// RMSprop and Adagrad as torch.optim (PyTorch 1.13).
// RMSprop state: step (int), square_avg, momentum_buffer (momentum > 0), grad_avg (centered).
// Adagrad state: step (0-dim float32 tensor), sum.
#pragma once

#include "optim/optimizer.h"

namespace ember::optim {

struct RMSpropOptions {
  RMSpropOptions() = default;
  explicit RMSpropOptions(double lr) : lr_(lr) {}
  RMSpropOptions& alpha(double v) { alpha_ = v; return *this; }
  RMSpropOptions& eps(double v) { eps_ = v; return *this; }
  RMSpropOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  RMSpropOptions& momentum(double v) { momentum_ = v; return *this; }
  RMSpropOptions& centered(bool v) { centered_ = v; return *this; }
  RMSpropOptions& maximize(bool v) { maximize_ = v; return *this; }
  io::Dict dict() const;

  io::Value lr_ = 1e-2, momentum_ = 0, alpha_ = 0.99, eps_ = 1e-8, weight_decay_ = 0;
  bool centered_ = false, maximize_ = false;
};

class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, RMSpropOptions options = {});

 protected:
  static void validate(const std::string& name, const io::Dict& options);
  void update(const ParamGroup& group, Tensor& param, io::Dict& state) override;
};

struct AdagradOptions {
  AdagradOptions() = default;
  explicit AdagradOptions(double lr) : lr_(lr) {}
  AdagradOptions& lr_decay(double v) { lr_decay_ = v; return *this; }
  AdagradOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdagradOptions& initial_accumulator_value(double v) { initial_accumulator_value_ = v; return *this; }
  AdagradOptions& eps(double v) { eps_ = v; return *this; }
  AdagradOptions& maximize(bool v) { maximize_ = v; return *this; }
  io::Dict dict() const;

  io::Value lr_ = 1e-2, lr_decay_ = 0, eps_ = 1e-10, weight_decay_ = 0, initial_accumulator_value_ = 0;
  bool maximize_ = false;
};

class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, AdagradOptions options = {});

 protected:
  static void validate(const std::string& name, const io::Dict& options);
  void update(const ParamGroup& group, Tensor& param, io::Dict& state) override;
};

}  // namespace ember::optim
