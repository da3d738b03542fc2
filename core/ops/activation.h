// Activation functions. Each backward is a fused kernel (BinaryOp::*Backward) on the saved input
// or output, so an activation costs one pass forward and one backward.
#pragma once

#include "core/tensor.h"

namespace ember {

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor gelu(const Tensor& x);  // exact form: x * Phi(x)
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x);  // log(1 + exp(x)), beta 1, linear above 20 as PyTorch

}  // namespace ember
