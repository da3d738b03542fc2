// Dropout: in training, zero elements with probability p and scale the rest by 1/(1-p); outside
// training the identity. Masks come from the generator (default one if nullptr).
#pragma once

#include "core/random/generator.h"
#include "core/tensor.h"

namespace ember {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// Zeroes whole channels: the mask is [N, C, 1, 1] for x [N, C, H, W] ([C, 1, 1] for [C, H, W]).
Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace ember
