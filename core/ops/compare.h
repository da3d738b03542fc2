// Comparisons (bool results, no gradient), logical ops, where and masked_fill.
#pragma once

#include "core/tensor.h"

namespace ember {

Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);

Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);

// cond ? a : b elementwise with broadcasting; cond must be bool. Differentiable in a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` where mask (bool, broadcast to x) is true. Differentiable in x.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// True when a and b have the same shape and all |a - b| <= atol + rtol * |b| (NaNs equal if
// equal_nan). Converts both to float64.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8,
              bool equal_nan = false);
// Same shape, dtype and bitwise-equal values.
bool equal(const Tensor& a, const Tensor& b);

}  // namespace ember
