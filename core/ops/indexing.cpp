#include "core/ops/indexing.h"

#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/copy.h"
#include "core/ops/factories.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {
Tensor checked_index(const Tensor& index, const char* op) {
  EMBER_CHECK_VALUE(index.dtype() == kInt64, op, ": expected an int64 index, found ", index.dtype());
  return index.detach().contiguous();
}
}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  int64_t d = wrap_dim(dim, x.dim(), "gather");
  Tensor ix = checked_index(index, "gather");
  check_same_device(x, ix, "gather");
  EMBER_CHECK_VALUE(ix.dim() == x.dim(), "gather: index has ", ix.dim(), " dims, input has ", x.dim());
  for (int64_t i = 0; i < x.dim(); ++i)
    EMBER_CHECK_VALUE(i == d || ix.size(i) <= x.size(i), "gather: index shape ", ix.sizes(),
                      " exceeds input shape ", x.sizes(), " at dim ", i);
  Tensor out = empty(ix.sizes(), TensorOptions(x.dtype()).device(x.device()));
  backend_of(out).gather(out, x.detach(), d, ix);
  return record("GatherBackward0", out, {x}, [sizes = x.sizes(), dtype = x.dtype(), d, ix](const Tensor& g) {
    return Grads{scatter_add(zeros(sizes, TensorOptions(dtype).device(g.device())), d, ix, g)};
  }, {ix});
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  int64_t d = wrap_dim(dim, self.dim(), "scatter_add");
  Tensor ix = checked_index(index, "scatter_add");
  EMBER_CHECK_VALUE(ix.dim() == self.dim() && src.dim() == self.dim(), "scatter_add: expected index ",
                    "and src with ", self.dim(), " dims, found ", ix.sizes(), " and ", src.sizes());
  for (int64_t i = 0; i < self.dim(); ++i)
    EMBER_CHECK_VALUE(ix.size(i) <= src.size(i) && (i == d || ix.size(i) <= self.size(i)),
                      "scatter_add: index shape ", ix.sizes(), " does not fit self ", self.sizes(),
                      " and src ", src.sizes());
  Tensor out = self.detach().clone();
  backend_of(out).scatter_add(out, d, ix, src.detach().to(out.dtype()).contiguous());
  return record("ScatterAddBackward0", out, {self, src}, [d, ix, src_sizes = src.sizes()](const Tensor& g) {
    Tensor gs = gather(g, d, ix);
    if (gs.sizes() != src_sizes) {  // src larger than index: the rest gets no gradient
      Tensor full = zeros(src_sizes, TensorOptions(g.dtype()).device(g.device()));
      Tensor view = full;
      for (int64_t i = 0; i < gs.dim(); ++i) view = view.narrow(i, 0, gs.size(i));
      view.copy_(gs);
      gs = full;
    }
    return Grads{g, gs};
  }, {ix});
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  int64_t d = wrap_dim(dim, x.dim(), "index_select");
  Tensor ix = checked_index(index, "index_select");
  EMBER_CHECK_VALUE(ix.dim() <= 1, "index_select: expected a 1-D index, found shape ", ix.sizes());
  Tensor in = x.dim() == 0 ? x.detach().reshape({1}).contiguous() : x.detach().contiguous();
  Shape sizes = in.sizes();
  sizes[d] = ix.numel();
  Tensor out = empty(sizes, TensorOptions(x.dtype()).device(x.device()));
  backend_of(out).index_select(out, in, d, ix);
  if (x.dim() == 0) out = out.reshape(ix.sizes());
  return record("IndexSelectBackward0", out, {x}, [sizes = x.sizes(), dtype = x.dtype(), d, ix](const Tensor& g) {
    return Grads{index_add(zeros(sizes, TensorOptions(dtype).device(g.device())), d, ix, g)};
  }, {ix});
}

Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  int64_t d = wrap_dim(dim, self.dim(), "index_add");
  Tensor ix = checked_index(index, "index_add");
  Shape expected = self.sizes();
  if (self.dim() > 0) expected[d] = ix.numel();
  EMBER_CHECK_VALUE(src.sizes() == expected, "index_add: expected src of shape ", expected,
                    ", found ", src.sizes());
  Tensor out = self.detach().clone();
  backend_of(out).index_add(out, d, ix, src.detach().to(out.dtype()).contiguous());
  return record("IndexAddBackward0", out, {self, src}, [d, ix](const Tensor& g) {
    return Grads{g, index_select(g, d, ix)};
  }, {ix});
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
  Tensor ix = checked_index(index, "one_hot");
  if (num_classes < 0) num_classes = ix.numel() == 0 ? 0 : max(ix).item<int64_t>() + 1;
  Shape sizes = ix.sizes();
  sizes.push_back(num_classes);
  Tensor out = zeros(sizes, TensorOptions(kInt64).device(ix.device()));
  Tensor ones_src = ones(ix.unsqueeze(-1).sizes(), TensorOptions(kInt64).device(ix.device()));
  return scatter_add(out, -1, ix.unsqueeze(-1), ones_src);
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    EMBER_CHECK_VALUE(weight.dim() == 2, "embedding: expected a 2-D weight, found ", weight.sizes());
    Shape sizes = indices.sizes();
    sizes.push_back(weight.size(1));
    return index_select(weight, 0, indices.reshape({-1})).reshape(sizes);
  }();
  return !traced.recording() ? result : traced.done("Gather", {weight, indices}, result, {{"axis", 0}});
}

}  // namespace ember
