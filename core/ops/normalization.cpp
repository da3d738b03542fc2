#include "core/ops/normalization.h"

#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/copy.h"
#include "core/ops/factories.h"
#include "core/ops/activation.h"
#include "core/ops/arithmetic.h"
#include "core/ops/math.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

namespace {

// batch_norm, and with `relu` relu(batch_norm) in the same passes (see the header).
Tensor batch_norm_kernel(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                         const Tensor& bias, bool training, double momentum, double eps, bool relu) {
  EMBER_CHECK_VALUE(input.dim() >= 2, "batch_norm: expected input [N, C, *], found shape ", input.sizes());
  int64_t n = input.size(0), c = input.size(1), s = n * c > 0 ? input.numel() / (n * c) : 0;
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias}) {
    if (!t->defined()) continue;
    EMBER_CHECK_VALUE(t->dim() == 1 && t->size(0) == c, "batch_norm: expected per-channel tensors of shape [",
                      c, "], found ", t->sizes(), " for input ", input.sizes());
    check_same_device(input, *t, "batch_norm");
  }
  for (const Tensor* t : {&weight, &bias})
    EMBER_CHECK_VALUE(!t->defined() || t->dtype() == input.dtype(), "batch_norm: input is ", input.dtype(),
                      " but weight/bias are ", t->dtype());
  // The kernels see [N, C, S]; `out` keeps the input's shape and is written through that view.
  Tensor x = input.detach().contiguous().reshape({n, c, s});
  TensorOptions options = TensorOptions(x.dtype()).device(x.device());
  Backend& backend = backend_of(x);
  Tensor batch_mean, invstd;
  if (training) {
    EMBER_CHECK_VALUE(n * s > 1, "batch_norm: expected more than 1 value per channel when training, got input ",
                      input.sizes());
    Tensor batch_var = empty({c}, options);
    backend.batch_norm_stats(batch_mean = empty({c}, options), batch_var, x);
    if (running_mean.defined()) {
      NoGradGuard no_grad;
      Tensor rm = running_mean, rv = running_var;
      rm.mul_(1.0 - momentum).add_(batch_mean.to(rm.dtype()), momentum);
      rv.mul_(1.0 - momentum).add_(mul(batch_var, static_cast<double>(n * s) / (n * s - 1)).to(rv.dtype()), momentum);
    }
    invstd = rsqrt(add(batch_var, eps));
  } else {
    EMBER_CHECK_VALUE(running_mean.defined() && running_var.defined(),
                      "batch_norm: evaluation mode needs running_mean and running_var");
    batch_mean = running_mean.detach().to(x.dtype()).contiguous();
    invstd = rsqrt(add(running_var.detach().to(x.dtype()), eps)).contiguous();
  }
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = empty(input.sizes(), options);
  if (relu) backend.batch_norm_apply_relu(out.reshape({n, c, s}), x, batch_mean, invstd, w, b);
  else backend.batch_norm_apply(out.reshape({n, c, s}), x, batch_mean, invstd, w, b);
  // The fused ReLU's mask is output > 0 (exactly where the normalized value was positive): saved
  // detached (the node must not own the tensor that owns it) for backends that read it there, as
  // the default does; the CPU recomputes it from x and the affine terms instead.
  Tensor mask_source = relu ? out.detach().reshape({n, c, s}) : Tensor();

  std::vector<Tensor> inputs{input};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  bool need_input = input.requires_grad(), need_weight = weight.defined() && weight.requires_grad();
  bool need_bias = bias.defined() && bias.requires_grad(), has_weight = weight.defined(), has_bias = bias.defined();
  Shape input_shape = input.sizes();
  std::vector<Tensor> saved{x, batch_mean, invstd, w, b};
  if (relu) saved.push_back(mask_source);
  return autograd::record(relu ? "BatchNormReluBackward0" : "NativeBatchNormBackward0", out, inputs, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous().reshape({n, c, s});
    Tensor gx = need_input ? empty_like(x) : Tensor();
    Tensor gw = need_weight ? empty({c}, options) : Tensor(), gb = need_bias ? empty({c}, options) : Tensor();
    if (relu) backend_of(g).batch_norm_relu_backward(gx, gw, gb, g, mask_source, x, batch_mean, invstd, w, b, training);
    else backend_of(g).batch_norm_backward(gx, gw, gb, g, x, batch_mean, invstd, w, training);
    std::vector<Tensor> grads{need_input ? gx.reshape(input_shape) : Tensor()};
    if (has_weight) grads.push_back(gw);
    if (has_bias) grads.push_back(gb);
    return grads;
  }, saved);
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = batch_norm_kernel(input, running_mean, running_var, weight, bias, training, momentum, eps, false);
  return !traced.recording() ? result : traced.done("BatchNormalization", {input, weight.defined() ? weight : ones({input.size(1)}, input.dtype()), bias.defined() ? bias : zeros({input.size(1)}, input.dtype()), running_mean, running_var}, result, trace::Attributes{{"epsilon", eps}, {"training", training || !running_mean.defined()}});
}

Tensor batch_norm_relu(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, bool training, double momentum, double eps) {
  // A tracer sees the two ops it exports (BatchNormalization, Relu), each recording itself.
  if (trace::active()) return relu(batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps));
  return batch_norm_kernel(input, running_mean, running_var, weight, bias, training, momentum, eps, true);
}

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
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
  }();
  return !traced.recording() ? result : traced.done("LayerNormalization", {input, weight.defined() ? weight : ones(normalized_shape, input.dtype()), bias.defined() ? bias : zeros(normalized_shape, input.dtype())}, result, {{"axis", -static_cast<int64_t>(normalized_shape.size())}, {"epsilon", eps}});
}

}  // namespace ember
