#include "core/ops/join.h"

#include "core/autograd/node.h"
#include "core/ops/copy.h"
#include "core/ops/factories.h"

#include "core/trace/trace.h"

namespace ember {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    EMBER_CHECK_VALUE(!tensors.empty(), "cat: expected a non-empty list of tensors");
    const Tensor& first = tensors[0];
    int64_t d = wrap_dim(dim, first.dim(), "cat");
    EMBER_CHECK_VALUE(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated");
    Shape sizes = first.sizes();
    sizes[d] = 0;
    DType dtype = first.dtype();
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Tensor& t = tensors[i];
      check_same_device(first, t, "cat");
      EMBER_CHECK_VALUE(t.dim() == first.dim(), "cat: tensor ", i, " has ", t.dim(), " dims, expected ", first.dim());
      for (int64_t j = 0; j < t.dim(); ++j)
        EMBER_CHECK_VALUE(j == d || t.size(j) == first.size(j), "cat: sizes must match except in dim ", d,
                          ": tensor 0 has shape ", first.sizes(), ", tensor ", i, " has ", t.sizes());
      sizes[d] += t.size(d);
      dtype = promote_types(dtype, t.dtype());
    }
    Tensor out = empty(sizes, TensorOptions(dtype).device(first.device()));
    Shape lengths;
    int64_t at = 0;
    for (const Tensor& t : tensors) {
      out.narrow(d, at, t.size(d)).copy_(t.detach());
      at += t.size(d);
      lengths.push_back(t.size(d));
    }
    return autograd::record("CatBackward0", out, tensors, [d, lengths](const Tensor& g) {
      return split(g, lengths, d);
    });
  }();
  return !traced.recording() ? result : traced.done("Concat", tensors, result, {{"axis", dim}});
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK_VALUE(!tensors.empty(), "stack: expected a non-empty list of tensors");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK_VALUE(tensors[i].sizes() == tensors[0].sizes(), "stack: expected equal shapes, tensor 0 is ",
                      tensors[0].sizes(), " and tensor ", i, " is ", tensors[i].sizes());
    parts.push_back(tensors[i].unsqueeze(d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, const Shape& sizes, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  EMBER_CHECK_VALUE(total == x.size(d), "split: sizes ", sizes, " add up to ", total,
                    ", expected the size of dim ", d, " (", x.size(d), ")");
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(x.narrow(d, at, s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim(), "split");
  EMBER_CHECK_VALUE(split_size > 0 || x.size(d) == 0, "split: expected split_size > 0, found ", split_size);
  Shape sizes;
  for (int64_t at = 0; at < x.size(d); at += split_size) sizes.push_back(std::min(split_size, x.size(d) - at));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, d);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  EMBER_CHECK_VALUE(chunks > 0, "chunk: expected chunks > 0, found ", chunks);
  int64_t d = wrap_dim(dim, x.dim(), "chunk");
  int64_t size = (x.size(d) + chunks - 1) / chunks;
  return split(x, std::max<int64_t>(size, 1), d);
}

}  // namespace ember
