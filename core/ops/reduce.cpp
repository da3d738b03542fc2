#include "core/ops/reduce.h"

#include <cmath>

#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/arithmetic.h"
#include "core/ops/compare.h"
#include "core/ops/factories.h"
#include "core/ops/indexing.h"
#include "core/ops/math.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

// Which dims a reduction covers; an empty list means all, as in PyTorch.
std::vector<bool> reduce_mask(const Tensor& x, const Shape& dims, const char* op) {
  std::vector<bool> mask(x.dim(), dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, x.dim(), op);
    if (x.dim() == 0) continue;
    EMBER_CHECK_VALUE(!mask[w], op, ": dim ", w, " appears more than once in ", dims);
    mask[w] = true;
  }
  return mask;
}

Shape kept_shape(const Tensor& x, const std::vector<bool>& mask, bool keepdim) {
  Shape s;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (!mask[d]) s.push_back(x.size(d));
    else if (keepdim) s.push_back(1);
  }
  return s;
}

// Runs the backend reduction into a fresh tensor of x's rank, then drops reduced dims.
Tensor reduce_raw(ReduceOp op, const Tensor& x, const std::vector<bool>& mask, bool keepdim, DType out_dtype) {
  Tensor in = x.detach();
  if (in.dtype() != out_dtype) in = in.to(out_dtype);
  Tensor out = empty(kept_shape(x, mask, true), TensorOptions(out_dtype).device(x.device()));
  if (x.numel() == 0 || out.numel() == 0) {
    EMBER_CHECK_VALUE(op == ReduceOp::Sum || op == ReduceOp::Prod || out.numel() == 0,
                      "max/min of an empty tensor has no identity");
    out.fill_(op == ReduceOp::Prod ? 1.0 : 0.0);
  } else {
    backend_of(in).reduce(op, out, in, mask);
  }
  return keepdim ? out : Tensor::make(out.storage(), kept_shape(x, mask, false),
                                      contiguous_strides(kept_shape(x, mask, false)), 0, out_dtype);
}

DType sum_dtype(DType t) { return is_floating(t) ? t : kInt64; }

int64_t reduced_count(const Tensor& x, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) n *= x.size(d);
  return n;
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  auto mask = reduce_mask(x, dims, "sum");
  Tensor out = reduce_raw(ReduceOp::Sum, x, mask, keepdim, sum_dtype(x.dtype()));
  return record("SumBackward1", out, {x}, [sizes = x.sizes(), kept = kept_shape(x, mask, true)](const Tensor& g) {
    return Grads{g.reshape(kept).expand(sizes)};
  });
}
Tensor sum(const Tensor& x) { return sum(x, {}, false); }
Tensor Tensor::sum() const { return ember::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return ember::sum(*this, dims, keepdim); }

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  EMBER_CHECK_VALUE(is_floating(x.dtype()), "mean: expected a floating-point tensor, found ",
                    x.dtype(), "; convert with .to(kFloat32)");
  int64_t n = reduced_count(x, reduce_mask(x, dims, "mean"));
  return div(sum(x, dims, keepdim), static_cast<double>(n));
}
Tensor mean(const Tensor& x) { return mean(x, {}, false); }
Tensor Tensor::mean() const { return ember::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return ember::mean(*this, dims, keepdim); }

Tensor var(const Tensor& x, const Shape& dims, int64_t correction, bool keepdim) {
  EMBER_CHECK_VALUE(is_floating(x.dtype()), "var: expected a floating-point tensor, found ", x.dtype());
  int64_t n = reduced_count(x, reduce_mask(x, dims, "var"));
  Tensor centered = sub(x, mean(x, dims, true));
  double denom = static_cast<double>(std::max<int64_t>(n - correction, 0));
  return div(sum(mul(centered, centered), dims, keepdim), denom);
}
Tensor var(const Tensor& x, int64_t correction) { return var(x, {}, correction, false); }
Tensor std(const Tensor& x, const Shape& dims, int64_t correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}
Tensor std(const Tensor& x, int64_t correction) { return std(x, {}, correction, false); }

Tensor prod(const Tensor& x, const Shape& dims, bool keepdim) {
  return reduce_raw(ReduceOp::Prod, x, reduce_mask(x, dims, "prod"), keepdim, sum_dtype(x.dtype()));
}

namespace {
ValuesIndices arg_extreme(bool is_max, const Tensor& x, int64_t dim, bool keepdim) {
  const char* op = is_max ? "max" : "min";
  int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor in = x.dim() == 0 ? x.detach().reshape({1}) : x.detach();
  EMBER_CHECK_INDEX(in.size(d) > 0, op, ": cannot reduce over dim ", d, " of size 0 (shape ", x.sizes(), ")");
  Shape kept = in.sizes();
  kept[d] = 1;
  Tensor values = empty(kept, TensorOptions(in.dtype()).device(in.device()));
  Tensor indices = empty(kept, TensorOptions(kInt64).device(in.device()));
  backend_of(in).arg_reduce(is_max, values, indices, in, d);
  Tensor idx_keep = indices;
  if (!keepdim || x.dim() == 0) {
    Shape s = x.dim() == 0 ? Shape{} : kept;
    if (x.dim() > 0) s.erase(s.begin() + d);
    values = values.reshape(s);
    indices = indices.reshape(s);
  }
  values = record(is_max ? "MaxBackward0" : "MinBackward0", values, {x},
                  [sizes = x.sizes(), dtype = x.dtype(), idx_keep, d, kept](const Tensor& g) {
                    Tensor full = zeros(sizes.empty() ? Shape{1} : sizes, TensorOptions(dtype).device(g.device()));
                    return Grads{scatter_add(full, d, idx_keep, g.reshape(kept)).reshape(sizes)};
                  });
  return {values, indices};
}
}  // namespace

ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return arg_extreme(true, x, dim, keepdim); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return arg_extreme(false, x, dim, keepdim); }
Tensor max(const Tensor& x) { return arg_extreme(true, x.reshape({-1}), 0, false).values; }
Tensor min(const Tensor& x) { return arg_extreme(false, x.reshape({-1}), 0, false).values; }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return max(x.detach(), dim, keepdim).indices; }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return min(x.detach(), dim, keepdim).indices; }
Tensor argmax(const Tensor& x) { return argmax(x.detach().reshape({-1}), 0); }
Tensor argmin(const Tensor& x) { return argmin(x.detach().reshape({-1}), 0); }

namespace {
Tensor extreme_over(bool is_max, const Tensor& x, const Shape& dims, bool keepdim) {
  auto mask = reduce_mask(x, dims, is_max ? "amax" : "amin");
  Tensor out = reduce_raw(is_max ? ReduceOp::Max : ReduceOp::Min, x, mask, keepdim, x.dtype());
  Shape kept = kept_shape(x, mask, true);
  return record(is_max ? "AmaxBackward0" : "AminBackward0", out, {x},
                [x = x.detach(), out_keep = out.detach().reshape(kept), kept, dims](const Tensor& g) {
                  Tensor hit = eq(x, out_keep).to(x.dtype());
                  Tensor count = sum(hit, dims, true);
                  return Grads{mul(div(g.reshape(kept), count), hit)};
                }, {x, out});
}
}  // namespace

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) { return extreme_over(true, x, dims, keepdim); }
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) { return extreme_over(false, x, dims, keepdim); }

Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim) {
  Tensor m = amax(x.detach(), dims, true);
  m = where(eq(abs(m), INFINITY), zeros_like(m), m);  // all -inf rows: shift by 0, not inf
  Tensor out = add(log(sum(exp(sub(x, m)), dims, true)), m);
  if (keepdim) return out;
  auto mask = reduce_mask(x, dims, "logsumexp");
  return out.reshape(kept_shape(x, mask, false));
}

}  // namespace ember
