#include "core/ops/dropout.h"

#include "core/ops/arithmetic.h"
#include "core/ops/factories.h"

namespace ember {

namespace {
Tensor masked(const Tensor& x, const Shape& mask_shape, double p, bool training, Generator* gen) {
  EMBER_CHECK_VALUE(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, found ", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return mul(x, 0.0);
  Tensor mask = bernoulli(mask_shape, 1.0 - p, TensorOptions(x.dtype()).device(x.device()), gen, 1.0 / (1.0 - p));
  return mul(x, mask);
}
}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  return masked(x, x.sizes(), p, training, gen);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
  EMBER_CHECK_VALUE(x.dim() == 3 || x.dim() == 4, "dropout2d: expected [N, C, H, W] or [C, H, W], found ", x.sizes());
  Shape mask = x.sizes();
  mask[mask.size() - 1] = 1;
  mask[mask.size() - 2] = 1;
  return masked(x, mask, p, training, gen);
}

}  // namespace ember
