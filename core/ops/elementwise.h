// Shared plumbing of elementwise ops: device checks, type promotion, broadcasting and output
// allocation around a backend kernel. No autograd here: each op records its own node.
#pragma once

#include "core/backend/backend.h"

namespace ember {

// The dtype a kernel computes in for values of dtype t: float16/bfloat16 compute in float32.
DType kernel_dtype(DType t);

// out = op(a, b) with broadcasting, computed in `compute` (a and b are converted to it) and
// returned in `result` dtype.
Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, double param, const char* name,
                     DType compute, DType result);
// out = op(in), computed in kernel_dtype(dtype) and returned in dtype.
Tensor unary_kernel(UnaryOp op, const Tensor& in, UnaryParams p, DType dtype);

// The dtype of an arithmetic op on a and b (PyTorch promotion).
inline DType result_type(const Tensor& a, const Tensor& b) { return promote_types(a.dtype(), b.dtype()); }
// The dtype of an op that needs floating values (exp, division): integers become float32.
inline DType float_type(DType t) { return is_floating(t) ? t : kFloat32; }

}  // namespace ember
