#include "core/ops/softmax.h"

#include "core/ops/arithmetic.h"
#include "core/ops/math.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

Tensor log_softmax(const Tensor& x, int64_t dim) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    EMBER_CHECK_VALUE(is_floating(x.dtype()), "log_softmax: expected a floating-point tensor, found ", x.dtype());
    return sub(x, logsumexp(x, {dim}, true));
  }();
  return !traced.recording() ? result : traced.done("LogSoftmax", {x}, result, {{"axis", dim}});
}

Tensor softmax(const Tensor& x, int64_t dim) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor { return exp(log_softmax(x, dim)); }();
  return !traced.recording() ? result : traced.done("Softmax", {x}, result, {{"axis", dim}});
}

}  // namespace ember
