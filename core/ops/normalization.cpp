#include "core/ops/normalization.h"

#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/copy.h"
#include "core/ops/factories.h"
#include "core/ops/activation.h"
#include "core/ops/arithmetic.h"
#include "core/ops/math.h"
#include "core/ops/pool.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

namespace {

// What batch_norm's kernels need, checked and computed once: the input as [N, C, S], this batch's
// statistics (training; the running ones updated) or the running ones, the affine terms, and
// which gradients are wanted.
struct Prepared {
  int64_t n, c, s;
  Shape input_shape;
  Tensor x, batch_mean, invstd, w, b;
  TensorOptions options;
  bool need_input, need_weight, need_bias;
};

Prepared prepare(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                 const Tensor& bias, bool training, double momentum, double eps) {
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
  // The kernels see [N, C, S]; outputs keep the input's shape and are written through that view.
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
  return {n, c, s, input.sizes(), x, batch_mean, invstd, w, b, options, input.requires_grad(),
          weight.defined() && weight.requires_grad(), bias.defined() && bias.requires_grad()};
}

// The inputs that take gradients: input, and weight and bias when defined.
std::vector<Tensor> differentiable(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  std::vector<Tensor> inputs{input};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  return inputs;
}

// The gradients of differentiable()'s inputs: run(gx, gw, gb) fills fresh tensors, each undefined
// where it is not wanted, gx in the input's shape.
template <class Run>
std::vector<Tensor> gradients(const Prepared& pr, const Run& run) {
  Tensor gx = pr.need_input ? empty(pr.input_shape, pr.options) : Tensor();
  Tensor gw = pr.need_weight ? empty({pr.c}, pr.options) : Tensor(), gb = pr.need_bias ? empty({pr.c}, pr.options) : Tensor();
  run(gx, gw, gb);
  std::vector<Tensor> grads{gx};
  if (pr.w.defined()) grads.push_back(gw);
  if (pr.b.defined()) grads.push_back(gb);
  return grads;
}

// batch_norm, and with `relu` relu(batch_norm) in the same passes (see the header).
Tensor batch_norm_kernel(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                         const Tensor& bias, bool training, double momentum, double eps, bool relu) {
  const Prepared pr = prepare(input, running_mean, running_var, weight, bias, training, momentum, eps);
  const int64_t n = pr.n, c = pr.c, s = pr.s;
  Backend& backend = backend_of(pr.x);
  Tensor out = empty(input.sizes(), pr.options);
  if (relu) backend.batch_norm_apply_relu(out.reshape({n, c, s}), pr.x, pr.batch_mean, pr.invstd, pr.w, pr.b);
  else backend.batch_norm_apply(out.reshape({n, c, s}), pr.x, pr.batch_mean, pr.invstd, pr.w, pr.b);
  // The fused ReLU's mask is output > 0 (exactly where the normalized value was positive): saved
  // detached (the node must not own the tensor that owns it) for backends that read it there, as
  // the default does; the CPU recomputes it from x and the affine terms, and keeps nothing.
  Tensor activations = relu && backend.batch_norm_relu_backward_reads_output() ? out.detach().reshape({n, c, s}) : Tensor();
  std::vector<Tensor> saved{pr.x, pr.batch_mean, pr.invstd, pr.w, pr.b, activations};
  auto grad_fn = [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous().reshape({n, c, s});
    return gradients(pr, [&](const Tensor& gx_in, const Tensor& gw, const Tensor& gb) {
      Tensor gx = gx_in.defined() ? gx_in.view({n, c, s}) : Tensor();
      Backend& b = backend_of(g);
      if (relu) b.batch_norm_relu_backward(gx, gw, gb, g, activations, pr.x, pr.batch_mean, pr.invstd, pr.w, pr.b, training);
      else b.batch_norm_backward(gx, gw, gb, g, pr.x, pr.batch_mean, pr.invstd, pr.w, training);
    });
  };
  return autograd::record(relu ? "BatchNormReluBackward0" : "NativeBatchNormBackward0", out, differentiable(input, weight, bias),
                          grad_fn, saved);
}

// max_pool2d(relu(batch_norm)), 2x2 stride 2, input [N, C, H, W]: pooled by the backend as the
// activations are computed (Backend::batch_norm_relu_max_pool2x2), and the backward the pool's
// then the batch norm's through the ReLU (batch_norm_relu_max_pool2x2_backward).
Tensor batch_norm_relu_pool_kernel(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                                   const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  const Prepared pr = prepare(input, running_mean, running_var, weight, bias, training, momentum, eps);
  Backend& backend = backend_of(pr.x);
  Tensor pooled = empty({pr.n, pr.c, input.size(2) / 2, input.size(3) / 2}, pr.options);
  Tensor indices = empty(pooled.sizes(), TensorOptions(kInt64).device(input.device()));
  Tensor activations = backend.batch_norm_relu_backward_reads_output() ? empty(input.sizes(), pr.options) : Tensor();
  const Tensor x = pr.x.view(input.sizes());
  backend.batch_norm_relu_max_pool2x2(pooled, indices, activations, x, pr.batch_mean, pr.invstd, pr.w, pr.b);
  std::vector<Tensor> saved{pr.x, pr.batch_mean, pr.invstd, pr.w, pr.b, activations, indices};
  return autograd::record("BatchNormReluMaxPoolBackward0", pooled, differentiable(input, weight, bias), [=](const Tensor& g) {
    return gradients(pr, [&](const Tensor& gx, const Tensor& gw, const Tensor& gb) {
      backend_of(g).batch_norm_relu_max_pool2x2_backward(gx, gw, gb, g.contiguous(), indices, activations, x, pr.batch_mean,
                                                         pr.invstd, pr.w, pr.b, training);
    });
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

Tensor batch_norm_relu_max_pool2d(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                                  const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  // A tracer sees the three ops it exports; a 3-D input goes through max_pool2d's own handling.
  if (trace::active() || input.dim() != 4)
    return max_pool2d(batch_norm_relu(input, running_mean, running_var, weight, bias, training, momentum, eps), 2);
  EMBER_CHECK_VALUE(input.size(2) >= 2 && input.size(3) >= 2, "max_pool2d: input ", input.sizes(), " is too small for the window");
  return batch_norm_relu_pool_kernel(input, running_mean, running_var, weight, bias, training, momentum, eps);
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
