#include "core/backend/backend.h"

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cuda/dispatch.h"
#include "core/ops/factories.h"

namespace ember {

Backend& backend(Device device) {
  static cpu::CpuBackend cpu_backend;
  if (device.is_cpu()) return cpu_backend;
  return cuda::backend_for(device);  // throws, saying why, where CUDA cannot be used
}

void Backend::conv2d_backward_weight_bias(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_out,
                                          const Tensor& input, const Conv2dParams& p) {
  conv2d_backward_weight(grad_weight, grad_out, input, p);
  if (grad_out.numel() == 0) return fill(grad_bias, 0.0);
  reduce(ReduceOp::Sum, grad_bias.view({1, grad_bias.numel(), 1, 1}), grad_out, {true, false, true, true});
}

void Backend::batch_norm_apply_relu(const Tensor& out, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                    const Tensor& weight, const Tensor& bias) {
  batch_norm_apply(out, input, mean, invstd, weight, bias);
  unary(UnaryOp::Relu, out, out, {});
}

void Backend::batch_norm_relu_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                                       const Tensor& grad_out, const Tensor& output, const Tensor& input,
                                       const Tensor& mean, const Tensor& invstd, const Tensor& weight, const Tensor&,
                                       bool training) {
  Tensor masked = empty(grad_out.sizes(), TensorOptions(grad_out.dtype()).device(grad_out.device()));
  binary(BinaryOp::ReluBackward, masked, grad_out, output, 0.0);
  batch_norm_backward(grad_input, grad_weight, grad_bias, masked, input, mean, invstd, weight, training);
}

namespace {
// The fused batch_norm_relu_max_pool2x2's pool: 2x2 windows, stride 2, no padding.
constexpr Pool2dParams kPool2x2{2, 2, 2, 2, 0, 0, 1, 1, true};
}  // namespace

void Backend::batch_norm_relu_max_pool2x2(const Tensor& pooled, const Tensor& indices, const Tensor& output,
                                          const Tensor& input, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                                          const Tensor& bias) {
  Tensor activations = output.defined() ? output : empty(input.sizes(), TensorOptions(input.dtype()).device(input.device()));
  const int64_t n = input.size(0), c = input.size(1), s = input.size(2) * input.size(3);
  batch_norm_apply_relu(activations.view({n, c, s}), input.view({n, c, s}), mean, invstd, weight, bias);
  max_pool2d(pooled, indices, activations, kPool2x2);
}

void Backend::batch_norm_relu_max_pool2x2_backward(const Tensor& grad_input, const Tensor& grad_weight,
                                                   const Tensor& grad_bias, const Tensor& grad_pooled,
                                                   const Tensor& indices, const Tensor& output, const Tensor& input,
                                                   const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                                                   const Tensor& bias, bool training) {
  const int64_t n = input.size(0), c = input.size(1), s = input.size(2) * input.size(3);
  Tensor activation_grad = empty(input.sizes(), TensorOptions(grad_pooled.dtype()).device(grad_pooled.device()));
  max_pool2d_backward(activation_grad, grad_pooled, indices, kPool2x2);
  auto rows = [&](const Tensor& t) { return t.defined() ? t.view({n, c, s}) : Tensor(); };
  batch_norm_relu_backward(rows(grad_input), grad_weight, grad_bias, rows(activation_grad), rows(output), rows(input), mean,
                           invstd, weight, bias, training);
}

}  // namespace ember
