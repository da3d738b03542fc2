// Arithmetic ops. Each forward is one kernel call; each backward is written beside it in terms of
// other ops, with sum_to undoing broadcasting.
#include "core/ops/arithmetic.h"

#include <cmath>

#include "core/autograd/node.h"
#include "core/ops/compare.h"
#include "core/ops/elementwise.h"
#include "core/ops/factories.h"
#include "core/ops/math.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

Tensor sum_to(const Tensor& grad, const Shape& sizes) {
  if (grad.sizes() == sizes) return grad;
  size_t lead = grad.sizes().size() - sizes.size();
  Shape dims;
  for (size_t i = 0; i < grad.sizes().size(); ++i)
    if (i < lead || (sizes[i - lead] == 1 && grad.sizes()[i] != 1)) dims.push_back(static_cast<int64_t>(i));
  return grad.sum(dims, true).reshape(sizes);
}

namespace {

// Whether a backward must compute `input`'s gradient, decided when the op is recorded (PyTorch's
// needs_input_grad): the engine drops the gradient of an input that needs none, so computing it
// is wasted work — a dropout's mask, a constant divisor.
bool wants_grad(const Tensor& input) { return input.defined() && input.requires_grad(); }

// The dtype of `t op scalar`.
DType scalar_dtype(const Tensor& t, double s) {
  if (is_floating(t.dtype())) return t.dtype();
  bool integral = std::floor(s) == s && std::isfinite(s);
  if (!integral) return kFloat32;
  return t.dtype() == kBool ? kInt64 : t.dtype();
}

Tensor unary_scalar(UnaryOp op, const Tensor& a, double s) {
  return unary_kernel(op, a, {s, 0}, scalar_dtype(a, s));
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    DType t = result_type(a, b);
    Tensor out = binary_kernel(BinaryOp::Add, a, b, alpha, "add", t, t);
    return record("AddBackward0", out, {a, b}, [sa = a.sizes(), sb = b.sizes(), alpha](const Tensor& g) {
      return Grads{sum_to(g, sa), sum_to(alpha == 1.0 ? g : mul(g, alpha), sb)};
    });
  }();
  return !traced.recording() ? result : traced.done("Add", {a, b}, result, {{"alpha", alpha}});
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    DType t = result_type(a, b);
    Tensor out = binary_kernel(BinaryOp::Sub, a, b, alpha, "sub", t, t);
    return record("SubBackward0", out, {a, b}, [sa = a.sizes(), sb = b.sizes(), alpha, need_b = wants_grad(b)](const Tensor& g) {
      return Grads{sum_to(g, sa), need_b ? sum_to(mul(g, -alpha), sb) : Tensor()};
    });
  }();
  return !traced.recording() ? result : traced.done("Sub", {a, b}, result, {{"alpha", alpha}});
}

Tensor mul(const Tensor& a, const Tensor& b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    DType t = result_type(a, b);
    Tensor out = binary_kernel(BinaryOp::Mul, a, b, 0, "mul", t, t);
    bool need_a = wants_grad(a), need_b = wants_grad(b);
    // Only the tensors a needed gradient reads are saved (x * mask keeps the mask, not x).
    return record("MulBackward0", out, {a, b}, [a = need_b ? a.detach() : Tensor(), b = need_a ? b.detach() : Tensor(), sa = a.sizes(),
                                                sb = b.sizes()](const Tensor& g) {
      return Grads{b.defined() ? sum_to(mul(g, b), sa) : Tensor(), a.defined() ? sum_to(mul(g, a), sb) : Tensor()};
    }, {need_b ? a : Tensor(), need_a ? b : Tensor()});
  }();
  return !traced.recording() ? result : traced.done("Mul", {a, b}, result);
}

Tensor div(const Tensor& a, const Tensor& b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    DType t = float_type(result_type(a, b));
    Tensor out = binary_kernel(BinaryOp::Div, a, b, 0, "div", t, t);
    bool need_a = wants_grad(a), need_b = wants_grad(b);
    // The output is read only by the divisor's gradient (-g/b * out), so it is saved only then.
    return record("DivBackward0", out, {a, b},
                  [sa = a.sizes(), b = b.detach(), out = need_b ? out.detach() : Tensor(), need_a](const Tensor& g) {
                    Tensor ga = div(g, b);
                    return Grads{need_a ? sum_to(ga, sa) : Tensor(), out.defined() ? sum_to(neg(mul(ga, out)), b.sizes()) : Tensor()};
                  }, {b, need_b ? out : Tensor()});
  }();
  return !traced.recording() ? result : traced.done("Div", {a, b}, result);
}

Tensor pow(const Tensor& a, const Tensor& b) {
  DType t = float_type(result_type(a, b));
  Tensor out = binary_kernel(BinaryOp::Pow, a, b, 0, "pow", t, t);
  return record("PowBackward1", out, {a, b},
                [a = a.detach(), b = b.detach(), out = out.detach()](const Tensor& g) {
                  Tensor ga = mul(mul(g, b), pow(a, sub(b, 1.0)));
                  // d/db a^b = a^b log a; defined as 0 where a == 0 (PyTorch's convention).
                  Tensor gb = where(eq(a, 0.0), zeros_like(out), mul(mul(g, out), log(a)));
                  return Grads{sum_to(ga, a.sizes()), sum_to(gb, b.sizes())};
                }, {a, b, out});
}

namespace {
// maximum/minimum: the gradient goes to the chosen input, split evenly on ties.
Tensor extremum(BinaryOp op, const char* name, const char* node, const Tensor& a, const Tensor& b) {
  DType t = result_type(a, b);
  Tensor out = binary_kernel(op, a, b, 0, name, t, t);
  bool is_max = op == BinaryOp::Maximum;
  return record(node, out, {a, b}, [a = a.detach(), b = b.detach(), is_max](const Tensor& g) {
    Tensor a_wins = is_max ? gt(a, b) : lt(a, b), tie = eq(a, b);
    Tensor zero = zeros_like(g), half = mul(g, 0.5);
    Tensor ga = where(a_wins, g, where(tie, half, zero));
    Tensor gb = where(a_wins, zero, where(tie, half, g));
    return Grads{sum_to(ga, a.sizes()), sum_to(gb, b.sizes())};
  }, {a, b});
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return extremum(BinaryOp::Maximum, "maximum", "MaximumBackward0", a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return extremum(BinaryOp::Minimum, "minimum", "MinimumBackward0", a, b);
}

Tensor add(const Tensor& a, double b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return record("AddBackward1", unary_scalar(UnaryOp::AddScalar, a, b), {a},
                  [](const Tensor& g) { return Grads{g}; });
  }();
  return !traced.recording() ? result : traced.done("Add", {a, full({}, b, a.dtype())}, result);
}
Tensor sub(const Tensor& a, double b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor { return add(a, -b); }();
  return !traced.recording() ? result : traced.done("Sub", {a, full({}, b, a.dtype())}, result);
}
Tensor rsub(const Tensor& a, double b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return record("RsubBackward1", unary_scalar(UnaryOp::RSubScalar, a, b), {a},
                  [](const Tensor& g) { return Grads{neg(g)}; });
  }();
  return !traced.recording() ? result : traced.done("Sub", {full({}, b, a.dtype()), a}, result);
}
Tensor mul(const Tensor& a, double b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return record("MulBackward1", unary_scalar(UnaryOp::MulScalar, a, b), {a},
                  [b](const Tensor& g) { return Grads{mul(g, b)}; });
  }();
  return !traced.recording() ? result : traced.done("Mul", {a, full({}, b, a.dtype())}, result);
}
Tensor div(const Tensor& a, double b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    DType t = float_type(a.dtype());  // divides (not multiplies by 1/b), as PyTorch, for exact results
    Tensor out = binary_kernel(BinaryOp::Div, a, scalar_tensor(b, TensorOptions(t).device(a.device())), 0, "div", t, t);
    return record("DivBackward1", out, {a}, [b](const Tensor& g) { return Grads{div(g, b)}; });
  }();
  return !traced.recording() ? result : traced.done("Div", {a, full({}, b, a.dtype())}, result);
}
Tensor pow(const Tensor& a, double exponent) {
  Tensor out = unary_kernel(UnaryOp::PowScalar, a, {exponent, 0}, float_type(a.dtype()));
  return record("PowBackward0", out, {a}, [a = a.detach(), exponent](const Tensor& g) {
    if (exponent == 0.0) return Grads{zeros_like(g)};
    return Grads{mul(mul(g, exponent), pow(a, exponent - 1.0))};
  }, {a});
}
Tensor neg(const Tensor& a) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return record("NegBackward0", unary_kernel(UnaryOp::Neg, a, {}, a.dtype()), {a},
                  [](const Tensor& g) { return Grads{neg(g)}; });
  }();
  return !traced.recording() ? result : traced.done("Neg", {a}, result);
}

}  // namespace ember
