#include "core/ops/normalization.h"

#include "core/autograd/grad_mode.h"
#include "core/ops/arithmetic.h"
#include "core/ops/math.h"
#include "core/ops/reduce.h"

namespace ember {

namespace {
// [C] -> [1, C, 1, ...] to broadcast against [N, C, *].
Tensor per_channel(const Tensor& t, int64_t ndim) {
  Shape s(static_cast<size_t>(ndim), 1);
  s[1] = t.size(0);
  return t.reshape(s);
}
}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  EMBER_CHECK_VALUE(input.dim() >= 2, "batch_norm: expected input [N, C, *], found shape ", input.sizes());
  int64_t c = input.size(1), nd = input.dim();
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    if (t->defined())
      EMBER_CHECK_VALUE(t->dim() == 1 && t->size(0) == c, "batch_norm: expected per-channel tensors of shape [",
                        c, "], found ", t->sizes(), " for input ", input.sizes());
  Tensor mean_, var_;
  if (training) {
    Shape dims{0};
    for (int64_t d = 2; d < nd; ++d) dims.push_back(d);
    int64_t n = input.numel() / std::max<int64_t>(c, 1);
    EMBER_CHECK_VALUE(n > 1, "batch_norm: expected more than 1 value per channel when training, got input ",
                      input.sizes());
    mean_ = mean(input, dims);
    var_ = var(input, dims, 0);
    if (running_mean.defined()) {
      NoGradGuard no_grad;
      Tensor rm = running_mean, rv = running_var;
      rm.mul_(1.0 - momentum).add_(mean_.detach().to(rm.dtype()), momentum);
      rv.mul_(1.0 - momentum).add_(mul(var_.detach(), static_cast<double>(n) / (n - 1)).to(rv.dtype()), momentum);
    }
  } else {
    EMBER_CHECK_VALUE(running_mean.defined() && running_var.defined(),
                      "batch_norm: evaluation mode needs running_mean and running_var");
    mean_ = running_mean;
    var_ = running_var;
  }
  Tensor y = mul(sub(input, per_channel(mean_, nd)), per_channel(rsqrt(add(var_, eps)), nd));
  if (weight.defined()) y = mul(y, per_channel(weight, nd));
  if (bias.defined()) y = add(y, per_channel(bias, nd));
  return y;
}

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  int64_t k = static_cast<int64_t>(normalized_shape.size());
  EMBER_CHECK_VALUE(k <= input.dim() && Shape(input.sizes().end() - k, input.sizes().end()) == normalized_shape,
                    "layer_norm: expected input with trailing shape ", normalized_shape, ", found ", input.sizes());
  Shape dims;
  for (int64_t d = input.dim() - k; d < input.dim(); ++d) dims.push_back(d);
  Tensor mu = mean(input, dims, true);
  Tensor y = mul(sub(input, mu), rsqrt(add(var(input, dims, 0, true), eps)));
  if (weight.defined()) y = mul(y, weight);
  if (bias.defined()) y = add(y, bias);
  return y;
}

}  // namespace ember
