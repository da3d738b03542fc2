// Batch normalization (a fused kernel with its own backward) and layer normalization (composed
// from reductions, so its gradient comes from theirs).
#pragma once

#include "core/tensor.h"

namespace ember {

// input [N, C, *]. Training: normalise with the batch's mean and biased variance over every dim
// but C, and (if running stats are given) update them in place:
//   running = (1 - momentum) * running + momentum * batch_stat   (unbiased variance).
// Evaluation: normalise with the running stats. weight/bias [C] may be undefined.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps);
// relu(batch_norm(...)) with the same arguments, in one op: the same values and gradients, bit
// for bit, with fewer passes over the activations (the ReLU is applied as the output is written,
// and its mask taken inside the backward's passes: see Backend::batch_norm_relu_backward).
// nn::Sequential uses it for a BatchNorm directly followed by a ReLU. Under jit::trace it records
// the two ops.
Tensor batch_norm_relu(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps);
// max_pool2d(batch_norm_relu(...), 2): 2x2 windows, stride 2, no padding, floor mode, input
// [N, C, H, W]. The same values and gradients, bit for bit, without the activations: the CPU
// pools them as it computes them and never writes them out (Backend::batch_norm_relu_max_pool2x2).
// nn::Sequential uses it for a BatchNorm2d, a ReLU and such a MaxPool2d in a row. Under jit::trace
// it records the three ops.
Tensor batch_norm_relu_max_pool2d(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                                  const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps);
// Normalises over the trailing dims `normalized_shape`; weight/bias of that shape or undefined.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps = 1e-5);

}  // namespace ember
