#include "core/ops/softmax.h"

#include "core/ops/arithmetic.h"
#include "core/ops/math.h"
#include "core/ops/reduce.h"

namespace ember {

Tensor log_softmax(const Tensor& x, int64_t dim) {
  EMBER_CHECK_VALUE(is_floating(x.dtype()), "log_softmax: expected a floating-point tensor, found ", x.dtype());
  return sub(x, logsumexp(x, {dim}, true));
}

Tensor softmax(const Tensor& x, int64_t dim) { return exp(log_softmax(x, dim)); }

}  // namespace ember
