// Joining and splitting along a dim.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace ember {

// Concatenates along dim; all other dims must match.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Stacks along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Pieces of `split_size` along dim (the last may be smaller); views of x.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
// Pieces of the given sizes, which must add up to x.size(dim).
std::vector<Tensor> split(const Tensor& x, const Shape& sizes, int64_t dim = 0);
// `chunks` pieces of ceil(size / chunks) (fewer if the size runs out).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

}  // namespace ember
