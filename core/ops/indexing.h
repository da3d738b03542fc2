// Indexing along a dim with int64 index tensors. Out-of-range indices throw IndexError.
#pragma once

#include "core/tensor.h"

namespace ember {

// out[i][j] = x[index[i][j]][j] (dim 0); index has x's rank and out's shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of self with src added at the positions index names along dim (duplicates sum).
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// The slices of x at `index` (1-D) along dim.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of self with the slices of src added at rows `index` (1-D) along dim.
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// int64 one-hot of shape [*, num_classes]; num_classes < 0 means max(index) + 1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);
// Rows of weight [num, dim] at indices of any shape -> [*, dim].
Tensor embedding(const Tensor& weight, const Tensor& indices);

}  // namespace ember
