// Matrix products. Transposed operands are passed to the GEMM as they are, never copied.
#pragma once

#include "core/tensor.h"

namespace ember {

// a [M, K] @ b [K, N] -> [M, N]
Tensor mm(const Tensor& a, const Tensor& b);
// a [B, M, K] @ b [B, K, N] -> [B, M, N]
Tensor bmm(const Tensor& a, const Tensor& b);
// torch.matmul: 1-D operands are promoted and squeezed back; leading (batch) dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [*, in] @ weight[out, in]^T + bias[out] -> [*, out]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace ember
