// In-place arithmetic (Tensor::add_ and friends): the building blocks of optimizer updates and
// initialisers. The kernel writes into `this` directly; the other operand broadcasts to this
// tensor's shape and is converted to its dtype. Not recorded by autograd (see check_inplace).
#include "core/backend/backend.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"
#include "core/ops/factories.h"

namespace ember {

namespace {

Tensor operand(const Tensor& self, const Tensor& other, const char* op) {
  check_same_device(self, other, op);
  Shape shape = broadcast_shapes(self.sizes(), other.sizes(), op);
  EMBER_CHECK_VALUE(shape == self.sizes(), op, ": the result of shape ", shape,
                    " does not fit the in-place target of shape ", self.sizes());
  Tensor o = other.detach();
  return (o.dtype() == self.dtype() ? o : o.to(self.dtype())).expand(self.sizes());
}

Tensor& binary_inplace(Tensor& self, BinaryOp op, const Tensor& other, double param, const char* name) {
  check_inplace(self, name);
  Tensor o = operand(self, other, name);
  DType k = kernel_dtype(self.dtype());
  if (k == self.dtype()) {
    backend_of(self).binary(op, self, self, o, param);
  } else {  // float16/bfloat16: compute in float32, store back rounded
    Tensor r = binary_kernel(op, self, o, param, name, k, self.dtype());
    backend_of(self).copy(self, r);
  }
  return self;
}

Tensor& unary_inplace(Tensor& self, UnaryOp op, UnaryParams p, const char* name) {
  check_inplace(self, name);
  if (kernel_dtype(self.dtype()) == self.dtype())
    backend_of(self).unary(op, self, self, p);
  else
    backend_of(self).copy(self, unary_kernel(op, self, p, self.dtype()));
  return self;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) { return binary_inplace(*this, BinaryOp::Add, other, alpha, "add_"); }
Tensor& Tensor::sub_(const Tensor& other, double alpha) { return binary_inplace(*this, BinaryOp::Sub, other, alpha, "sub_"); }
Tensor& Tensor::mul_(const Tensor& other) { return binary_inplace(*this, BinaryOp::Mul, other, 0, "mul_"); }
Tensor& Tensor::div_(const Tensor& other) { return binary_inplace(*this, BinaryOp::Div, other, 0, "div_"); }
Tensor& Tensor::add_(double value) { return unary_inplace(*this, UnaryOp::AddScalar, {value, 0}, "add_"); }
Tensor& Tensor::mul_(double value) { return unary_inplace(*this, UnaryOp::MulScalar, {value, 0}, "mul_"); }
Tensor& Tensor::div_(double value) {
  return binary_inplace(*this, BinaryOp::Div, scalar_tensor(value, TensorOptions(dtype()).device(device())), 0, "div_");
}
Tensor& Tensor::clamp_(double lo, double hi) { return unary_inplace(*this, UnaryOp::Clamp, {lo, hi}, "clamp_"); }

Tensor& Tensor::addcmul_(const Tensor& a, const Tensor& b, double value) {
  check_inplace(*this, "addcmul_");
  backend_of(*this).addcmul(*this, operand(*this, a, "addcmul_"), operand(*this, b, "addcmul_"), value, false);
  return *this;
}

Tensor& Tensor::addcdiv_(const Tensor& a, const Tensor& b, double value) {
  check_inplace(*this, "addcdiv_");
  backend_of(*this).addcmul(*this, operand(*this, a, "addcdiv_"), operand(*this, b, "addcdiv_"), value, true);
  return *this;
}

}  // namespace ember
