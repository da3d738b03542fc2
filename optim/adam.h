// Adam and AdamW as torch.optim.Adam / AdamW (PyTorch 1.13's single-tensor path): bias-corrected
// moments, optional AMSGrad and maximize; Adam adds weight decay to the gradient, AdamW decays the
// parameter directly. State: step (0-dim float32 tensor), exp_avg, exp_avg_sq, max_exp_avg_sq.
#pragma once

#include "optim/optimizer.h"

namespace ember::optim {

struct AdamOptions {
  AdamOptions() = default;
  explicit AdamOptions(double lr) : lr_(lr) {}
  AdamOptions& lr(double v) { lr_ = v; return *this; }
  AdamOptions& betas(double b1, double b2) { beta1_ = b1; beta2_ = b2; return *this; }
  AdamOptions& eps(double v) { eps_ = v; return *this; }
  AdamOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdamOptions& amsgrad(bool v) { amsgrad_ = v; return *this; }
  AdamOptions& maximize(bool v) { maximize_ = v; return *this; }

  io::Value lr_ = 1e-3;
  double beta1_ = 0.9, beta2_ = 0.999;
  io::Value eps_ = 1e-8;
  io::Value weight_decay_;  // unset: Adam's int 0, AdamW's 1e-2
  bool amsgrad_ = false, maximize_ = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults = {});

 protected:
  Adam(const char* name, io::Dict defaults, std::vector<ParamGroup> groups);
  static void validate(const std::string& name, const io::Dict& options);
  void update(const ParamGroup& group, Tensor& param, io::Dict& state) override;
  bool decoupled_weight_decay_ = false;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamOptions options = {});
  AdamW(std::vector<ParamGroup> groups, AdamOptions defaults = {});
};

}  // namespace ember::optim
