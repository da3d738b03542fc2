// Pointwise math: exp, log, sqrt, rsqrt, abs, sign, clamp. Integer inputs compute in float32.
#pragma once

#include <limits>

#include "core/tensor.h"

namespace ember {

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);   // gradient sign(x), 0 at 0
Tensor sign(const Tensor& x);  // no gradient (zero)
Tensor square(const Tensor& x);
// Clamps into [lo, hi]; pass -inf / +inf for no bound. Gradient passes where lo <= x <= hi.
Tensor clamp(const Tensor& x, double lo, double hi);
inline Tensor clamp_min(const Tensor& x, double lo) {
  return clamp(x, lo, std::numeric_limits<double>::infinity());
}
inline Tensor clamp_max(const Tensor& x, double hi) {
  return clamp(x, -std::numeric_limits<double>::infinity(), hi);
}

}  // namespace ember
