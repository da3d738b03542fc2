#include "optim/clip.h"

#include <cmath>

#include "core/autograd/grad_mode.h"
#include "core/ops/arithmetic.h"
#include "core/ops/math.h"
#include "core/ops/reduce.h"

namespace ember::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  double total = 0.0;
  if (std::isinf(norm_type)) {
    for (const Tensor& g : grads) total = std::max(total, max(abs(g)).item());
  } else {
    // Per-tensor norms first, then the norm of the norms, as PyTorch.
    double acc = 0.0;
    for (const Tensor& g : grads) {
      double n = std::pow(sum(pow(abs(g.to(kFloat64)), norm_type)).item(), 1.0 / norm_type);
      acc += std::pow(n, norm_type);
    }
    total = std::pow(acc, 1.0 / norm_type);
  }
  EMBER_CHECK_VALUE(!(error_if_nonfinite && !std::isfinite(total)), "clip_grad_norm_: the total norm of order ",
                    norm_type, " of the gradients is non-finite (", total, ")");
  double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (Tensor& g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : params)
    if (p.grad().defined()) {
      Tensor g = p.grad();
      g.clamp_(-clip_value, clip_value);
    }
}

}  // namespace ember::optim
