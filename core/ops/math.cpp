#include "core/ops/math.h"

#include "core/autograd/node.h"
#include "core/ops/arithmetic.h"
#include "core/ops/compare.h"
#include "core/ops/elementwise.h"
#include "core/ops/factories.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {
Tensor float_unary(UnaryOp op, const Tensor& x) {
  return unary_kernel(op, x, {}, float_type(x.dtype()));
}
}  // namespace

Tensor exp(const Tensor& x) {
  Tensor out = float_unary(UnaryOp::Exp, x);
  return record("ExpBackward0", out, {x}, [y = out.detach()](const Tensor& g) { return Grads{mul(g, y)}; }, {out});
}

Tensor log(const Tensor& x) {
  return record("LogBackward0", float_unary(UnaryOp::Log, x), {x},
                [x = x.detach()](const Tensor& g) { return Grads{div(g, x)}; }, {x});
}

Tensor sqrt(const Tensor& x) {
  Tensor out = float_unary(UnaryOp::Sqrt, x);
  return record("SqrtBackward0", out, {x}, [y = out.detach()](const Tensor& g) {
    return Grads{div(g, mul(y, 2.0))};
  }, {out});
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = float_unary(UnaryOp::Rsqrt, x);
  return record("RsqrtBackward0", out, {x}, [y = out.detach()](const Tensor& g) {
    return Grads{mul(g, mul(pow(y, 3.0), -0.5))};  // d/dx x^-1/2 = -1/2 x^-3/2
  }, {out});
}

Tensor sign(const Tensor& x) {
  return record("SignBackward0", unary_kernel(UnaryOp::Sign, x, {}, x.dtype()), {x},
                [](const Tensor& g) { return Grads{zeros_like(g)}; });
}

Tensor abs(const Tensor& x) {
  return record("AbsBackward0", unary_kernel(UnaryOp::Abs, x, {}, x.dtype()), {x},
                [x = x.detach()](const Tensor& g) { return Grads{mul(g, sign(x))}; }, {x});
}

Tensor square(const Tensor& x) { return mul(x, x); }

Tensor clamp(const Tensor& x, double lo, double hi) {
  EMBER_CHECK_VALUE(!(lo > hi), "clamp: expected min <= max, found min ", lo, " and max ", hi);
  Tensor out = unary_kernel(UnaryOp::Clamp, x, {lo, hi}, x.dtype());
  return record("ClampBackward1", out, {x}, [x = x.detach(), lo, hi](const Tensor& g) {
    Tensor inside = logical_and(ge(x, lo), le(x, hi));
    return Grads{where(inside, g, zeros_like(g))};
  }, {x});
}

}  // namespace ember
