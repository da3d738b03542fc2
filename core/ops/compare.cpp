#include "core/ops/compare.h"

#include <cmath>
#include <cstring>

#include "core/autograd/node.h"
#include "core/ops/arithmetic.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"
#include "core/ops/factories.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {
Tensor compare(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  return binary_kernel(op, a, b, 0, name, result_type(a, b), kBool);
}
Tensor compare(BinaryOp op, const char* name, const Tensor& a, double b) {
  // Compare in float64 so that 0.5 against an integer tensor means what it says.
  DType t = is_floating(a.dtype()) ? a.dtype() : kFloat64;
  return binary_kernel(op, a, scalar_tensor(b, TensorOptions(t).device(a.device())), 0, name, t, kBool);
}
}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Eq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Ne, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Lt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Le, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Gt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Ge, "ge", a, b); }
Tensor eq(const Tensor& a, double b) { return compare(BinaryOp::Eq, "eq", a, b); }
Tensor ne(const Tensor& a, double b) { return compare(BinaryOp::Ne, "ne", a, b); }
Tensor lt(const Tensor& a, double b) { return compare(BinaryOp::Lt, "lt", a, b); }
Tensor le(const Tensor& a, double b) { return compare(BinaryOp::Le, "le", a, b); }
Tensor gt(const Tensor& a, double b) { return compare(BinaryOp::Gt, "gt", a, b); }
Tensor ge(const Tensor& a, double b) { return compare(BinaryOp::Ge, "ge", a, b); }

// Logical ops through uint8 arithmetic: a and b are "nonzero" tests first.
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return binary_kernel(BinaryOp::Mul, ne(a, 0.0), ne(b, 0.0), 0, "logical_and", kUInt8, kBool);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return binary_kernel(BinaryOp::Maximum, ne(a, 0.0), ne(b, 0.0), 0, "logical_or", kUInt8, kBool);
}
Tensor logical_not(const Tensor& a) { return eq(a, 0.0); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  EMBER_CHECK_VALUE(cond.dtype() == kBool, "where: expected a bool condition, found ", cond.dtype());
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"), b.sizes(), "where");
  DType t = result_type(a, b);
  Tensor out = empty(shape, TensorOptions(t).device(a.device()));
  backend_of(out).where(out, cond.detach().expand(shape), a.detach().to(t).expand(shape),
                        b.detach().to(t).expand(shape));
  return record("WhereBackward0", out, {a, b},
                [c = cond.detach(), sa = a.sizes(), sb = b.sizes()](const Tensor& g) {
                  Tensor zero = zeros_like(g);
                  return Grads{sum_to(where(c, g, zero), sa), sum_to(where(c, zero, g), sb)};
                }, {cond});
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  EMBER_CHECK_VALUE(mask.dtype() == kBool, "masked_fill: expected a bool mask, found ", mask.dtype());
  broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill");
  Tensor fill = scalar_tensor(value, TensorOptions(x.dtype()).device(x.device()));
  Tensor out = empty_like(x);
  backend_of(out).where(out, mask.detach().expand(x.sizes()), fill.expand(x.sizes()), x.detach());
  return record("MaskedFillBackward0", out, {x}, [m = mask.detach()](const Tensor& g) {
    return Grads{where(m, zeros_like(g), g)};
  }, {mask});
}

Tensor& Tensor::masked_fill_(const Tensor& mask, double value) {
  check_inplace(*this, "masked_fill_");
  EMBER_CHECK_VALUE(mask.dtype() == kBool, "masked_fill_: expected a bool mask, found ", mask.dtype());
  Tensor fill = scalar_tensor(value, TensorOptions(dtype()).device(device()));
  backend_of(*this).where(*this, mask.expand(sizes()), fill.expand(sizes()), *this);
  return *this;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  if (a.sizes() != b.sizes()) return false;
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) {
      if (!(equal_nan && std::isnan(x[i]) && std::isnan(y[i]))) return false;
      continue;
    }
    if (x[i] == y[i]) continue;  // equal infinities
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  }
  return true;
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  Tensor ca = a.detach().to(kCPU).contiguous(), cb = b.detach().to(kCPU).contiguous();  // bytes compared on the host
  return ca.nbytes() == 0 || std::memcmp(ca.data(), cb.data(), ca.nbytes()) == 0;  // an empty tensor's data may be null
}

}  // namespace ember
