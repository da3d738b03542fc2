// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#pragma once

#include <limits>
#include <vector>

#include "core/tensor.h"

namespace ember::optim {

// Scales all gradients in place so that their total `norm_type`-norm is at most max_norm
// (norm_type = inf: the max-abs norm). Returns the total norm before clipping. A non-finite total
// norm throws when error_if_nonfinite.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace ember::optim
