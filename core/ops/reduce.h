// Reductions over all elements or over dims (negative dims wrap; keepdim keeps size-1 dims).
// Integer and bool sums give int64, as PyTorch.
#pragma once

#include "core/tensor.h"

namespace ember {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
// Variance with Bessel's correction by default (correction = 1: divide by N - 1).
Tensor var(const Tensor& x, int64_t correction = 1);
Tensor var(const Tensor& x, const Shape& dims, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, int64_t correction = 1);
Tensor std(const Tensor& x, const Shape& dims, int64_t correction = 1, bool keepdim = false);
Tensor prod(const Tensor& x, const Shape& dims, bool keepdim = false);  // no gradient

struct ValuesIndices {
  Tensor values;
  Tensor indices;  // int64: position of the first extreme along dim
};
// Max/min along dim with the index of the first extreme; NaN counts as the extreme.
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
// Max/min of all elements (0-dim); the gradient goes to the first extreme.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
// Max/min over dims; the gradient is shared evenly among ties (torch.amax).
Tensor amax(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);  // index into the flattened tensor
Tensor argmin(const Tensor& x);
// log(sum(exp(x))) over dims, computed stably.
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);

}  // namespace ember
