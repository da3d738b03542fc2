#include "core/backend/backend.h"

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cuda/dispatch.h"

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

}  // namespace ember
