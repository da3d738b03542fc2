#include "core/ops/elementwise.h"

#include "core/ops/copy.h"
#include "core/ops/factories.h"

namespace ember {

DType kernel_dtype(DType t) { return t == kFloat16 || t == kBFloat16 ? kFloat32 : t; }

namespace {
Tensor as_dtype(const Tensor& t, DType d) { return t.dtype() == d ? t.detach() : t.detach().to(d); }
}  // namespace

Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, double param, const char* name,
                     DType compute, DType result) {
  check_same_device(a, b, name);
  Shape shape = broadcast_shapes(a.sizes(), b.sizes(), name);
  DType k = kernel_dtype(compute);
  bool comparison = op >= BinaryOp::Eq && op <= BinaryOp::Ge;
  DType kernel_out = comparison ? kBool : k;
  Tensor out = empty(shape, TensorOptions(kernel_out).device(a.device()));
  backend_of(out).binary(op, out, as_dtype(a, k), as_dtype(b, k), param);
  return kernel_out == result ? out : out.to(result);
}

Tensor unary_kernel(UnaryOp op, const Tensor& in, UnaryParams p, DType dtype) {
  DType k = kernel_dtype(dtype);
  Tensor out = empty(in.sizes(), TensorOptions(k).device(in.device()));
  backend_of(out).unary(op, out, as_dtype(in, k), p);
  return k == dtype ? out : out.to(dtype);
}

}  // namespace ember
