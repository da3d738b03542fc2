#include "core/ops/linalg.h"

#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/arithmetic.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"
#include "core/ops/factories.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

// A 3-D operand whose inner matrices are row- or column-major, as the GEMM kernel accepts.
Tensor gemm_ready(const Tensor& t) {
  int64_t rows = t.size(1), cols = t.size(2);
  bool row_major = t.stride(2) == 1 && (rows <= 1 || t.stride(1) >= std::max<int64_t>(cols, 1));
  bool col_major = t.stride(1) == 1 && (cols <= 1 || t.stride(2) >= std::max<int64_t>(rows, 1));
  return row_major || col_major ? t : t.contiguous();
}

// The forward kernel on plain data: out [B, M, N] = a [B, M, K] @ b [B, K, N].
Tensor bmm_kernel(const Tensor& a, const Tensor& b) {
  DType t = result_type(a, b);
  Tensor x = gemm_ready(a.detach().to(t)), y = gemm_ready(b.detach().to(t));
  Tensor out = empty({a.size(0), a.size(1), b.size(2)}, TensorOptions(t).device(a.device()));
  backend_of(out).matmul(out, x, y);
  return out;
}

}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_same_device(a, b, "bmm");
  EMBER_CHECK_VALUE(a.dim() == 3 && b.dim() == 3, "bmm: expected 3-D tensors, found ", a.sizes(), " and ", b.sizes());
  EMBER_CHECK_VALUE(a.size(0) == b.size(0) && a.size(2) == b.size(1), "bmm: shapes ", a.sizes(), " and ",
                    b.sizes(), " cannot be multiplied (expected [B, M, K] and [B, K, N])");
  Tensor out = bmm_kernel(a, b);
  return record("BmmBackward0", out, {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g) {
    return Grads{bmm(g, b.transpose(1, 2)), bmm(a.transpose(1, 2), g)};
  }, {a, b});
}

Tensor mm(const Tensor& a, const Tensor& b) {
  check_same_device(a, b, "mm");
  EMBER_CHECK_VALUE(a.dim() == 2 && b.dim() == 2, "mm: expected 2-D tensors, found ", a.sizes(), " and ", b.sizes());
  EMBER_CHECK_VALUE(a.size(1) == b.size(0), "mm: shapes ", a.sizes(), " and ", b.sizes(),
                    " cannot be multiplied (", a.size(1), " != ", b.size(0), ")");
  Tensor out = bmm_kernel(a.detach().unsqueeze(0), b.detach().unsqueeze(0)).squeeze(0);
  return record("MmBackward0", out, {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g) {
    return Grads{mm(g, b.t()), mm(a.t(), g)};
  }, {a, b});
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    EMBER_CHECK_VALUE(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, found ",
                      a.sizes(), " and ", b.sizes());
    if (a.dim() == 1 && b.dim() == 1) return mm(a.unsqueeze(0), b.unsqueeze(1)).reshape(Shape{});
    if (a.dim() == 2 && b.dim() == 1) return mm(a, b.unsqueeze(1)).squeeze(1);
    if (a.dim() == 1 && b.dim() == 2) return mm(a.unsqueeze(0), b).squeeze(0);
    if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
    if (b.dim() == 2 && a.dim() > 2) {  // fold batch dims of a into rows: one GEMM
      Shape out_shape(a.sizes().begin(), a.sizes().end() - 1);
      out_shape.push_back(b.size(1));
      return mm(a.reshape({-1, a.size(-1)}), b).reshape(out_shape);
    }
    // General batched case: broadcast the batch dims, then bmm.
    Tensor x = a.dim() == 1 ? a.unsqueeze(0) : a, y = b.dim() == 1 ? b.unsqueeze(1) : b;
    Shape xb(x.sizes().begin(), x.sizes().end() - 2), yb(y.sizes().begin(), y.sizes().end() - 2);
    Shape batch = broadcast_shapes(xb, yb, "matmul");
    Shape xs = batch, ys = batch;
    xs.insert(xs.end(), {x.size(-2), x.size(-1)});
    ys.insert(ys.end(), {y.size(-2), y.size(-1)});
    int64_t nb = numel_of(batch);
    Tensor out = bmm(x.expand(xs).reshape({nb, x.size(-2), x.size(-1)}),
                     y.expand(ys).reshape({nb, y.size(-2), y.size(-1)}));
    Shape out_shape = batch;
    if (a.dim() > 1) out_shape.push_back(x.size(-2));
    if (b.dim() > 1) out_shape.push_back(y.size(-1));
    return out.reshape(out_shape);
  }();
  return !traced.recording() ? result : traced.done("MatMul", {a, b}, result);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    EMBER_CHECK_VALUE(weight.dim() == 2, "linear: expected a 2-D weight [out, in], found ", weight.sizes());
    EMBER_CHECK_VALUE(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input of shape ", x.sizes(),
                      " does not match weight of shape ", weight.sizes(), " (expected last dim ",
                      weight.size(1), ")");
    // One GEMM against the transposed weight (folded into the kernel, no copy), and a backward of
    // its own: going through matmul(x, weight.t()) would hand the weight a transposed gradient
    // that accumulating into .grad then has to copy.
    Tensor x2 = x.dim() == 2 ? x : x.reshape({-1, weight.size(1)});
    Shape out_shape(x.sizes().begin(), x.sizes().end() - 1);
    out_shape.push_back(weight.size(0));
    Tensor out = bmm_kernel(x2.detach().unsqueeze(0), weight.detach().t().unsqueeze(0)).squeeze(0);
    if (bias.defined()) {
      check_same_device(out, bias, "linear");
      if (bias.dtype() == out.dtype()) out.add_(bias.detach());
      else out = add(out, bias.detach());
    }
    out = out.reshape(out_shape);
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    bool need_input = x.requires_grad(), need_weight = weight.requires_grad(), has_bias = bias.defined();
    return record("AddmmBackward0", out, inputs,
                  [x2 = x2.detach(), w = weight.detach(), x_shape = x.sizes(), need_input, need_weight, has_bias](const Tensor& g) {
                    Tensor g2 = g.reshape({-1, w.size(0)});
                    Grads grads{need_input ? mm(g2, w).reshape(x_shape) : Tensor(), need_weight ? mm(g2.t(), x2) : Tensor()};
                    if (has_bias) grads.push_back(sum(g2, {0}));
                    return grads;
                  }, {x2, weight});
  }();
  return !traced.recording() ? result : traced.done("Linear", bias.defined() ? std::vector<Tensor>{x, weight, bias} : std::vector<Tensor>{x, weight}, result);
}

}  // namespace ember
