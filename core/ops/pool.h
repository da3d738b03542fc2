// 2-D pooling on [N, C, H, W] (or [C, H, W]) inputs.
#pragma once

#include "core/tensor.h"

namespace ember {

struct PoolResult {
  Tensor values;
  Tensor indices;  // int64, h * W + w within each input plane (as PyTorch)
};

// Window `kernel`, `stride` (default: the kernel), zero-or-more `padding` (at most half the
// kernel), `dilation`; ceil_mode rounds the output size up as PyTorch does.
PoolResult max_pool2d_with_indices(const Tensor& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0,
                                   Size2 dilation = 1, bool ceil_mode = false);
Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0,
                  Size2 dilation = 1, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true);
// Averages over windows that split H and W into `output` parts (PyTorch's start/end rule).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output);

}  // namespace ember
