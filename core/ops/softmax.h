// softmax and log_softmax along a dim, composed from logsumexp (stable for large inputs).
#pragma once

#include "core/tensor.h"

namespace ember {

Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax(const Tensor& x, int64_t dim);

}  // namespace ember
