// 2-D convolution (cross-correlation, as PyTorch).
#pragma once

#include "core/tensor.h"

namespace ember {

// input [N, C, H, W] (or [C, H, W]), weight [OC, C/groups, KH, KW], bias [OC] or undefined
// -> [N, OC, OH, OW] with OH = (H + 2*pad - dilation*(KH-1) - 1) / stride + 1.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              Size2 stride = 1, Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);

}  // namespace ember
