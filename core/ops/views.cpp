// View ops: new sizes/strides/offset over the same storage, each with its backward beside it.
#include "core/autograd/node.h"
#include "core/ops/factories.h"
#include "core/ops/arithmetic.h"

#include "core/trace/trace.h"

namespace ember {

namespace {

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  return Tensor::make(base.storage(), std::move(sizes), std::move(strides), offset, base.dtype());
}

// Strides that let `sizes` view a tensor of (old_sizes, old_strides) without copying, or empty
// when impossible (PyTorch's computeStride: dims are split or merged only within contiguous runs).
bool view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& sizes, Shape& out) {
  out.assign(sizes.size(), 0);
  if (numel_of(old_sizes) == 0 || old_sizes.empty()) {
    out = contiguous_strides(sizes);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(sizes.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    if (d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || sizes[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

// Gradient of a slice-like view: zeros of the input's shape with grad written through `take`.
template <class Take>
autograd::BackwardFn scatter_back(const Tensor& input, Take take) {
  return [sizes = input.sizes(), dtype = input.dtype(), take](const Tensor& g) {
    Tensor full = zeros(sizes, TensorOptions(dtype).device(g.device()));
    take(full).copy_(g);
    return std::vector<Tensor>{full};
  };
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    Shape sizes = infer_size(shape, numel(), "view");
    Shape strides;
    EMBER_CHECK_VALUE(view_strides(this->sizes(), this->strides(), sizes, strides), "view: size ",
                      sizes, " is not compatible with the input's size ", this->sizes(),
                      " and stride ", this->strides(), "; use reshape() instead");
    Tensor out = make_view(*this, sizes, strides, storage_offset());
    return autograd::record("ViewBackward0", out, {*this}, [in = this->sizes()](const Tensor& g) {
      return std::vector<Tensor>{g.reshape(in)};
    });
  }();
  return !traced.recording() ? result : traced.done("Reshape", {*this}, result, {{"shape", result.sizes()}});
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape sizes = infer_size(shape, numel(), "reshape"), strides;
  if (view_strides(this->sizes(), this->strides(), sizes, strides)) return view(sizes);
  return contiguous().view(sizes);
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  int64_t a = wrap_dim(dim0, dim(), "transpose"), b = wrap_dim(dim1, dim(), "transpose");
  Shape sizes = this->sizes(), strides = this->strides();
  if (dim() > 0) {
    std::swap(sizes[a], sizes[b]);
    std::swap(strides[a], strides[b]);
  }
  Tensor out = make_view(*this, sizes, strides, storage_offset());
  return autograd::record("TransposeBackward0", out, {*this}, [a, b](const Tensor& g) {
    return std::vector<Tensor>{g.transpose(a, b)};
  });
}

Tensor Tensor::t() const {
  EMBER_CHECK_VALUE(dim() <= 2, "t: expected a tensor with <= 2 dims, found ", dim());
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::permute(const Shape& dims) const {
  EMBER_CHECK_VALUE(static_cast<int64_t>(dims.size()) == dim(), "permute: expected ", dim(),
                    " dims, found ", dims);
  Shape sizes(dims.size()), strides(dims.size()), inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], dim(), "permute");
    EMBER_CHECK_VALUE(inverse[d] < 0, "permute: dim ", d, " repeats in ", dims);
    inverse[d] = static_cast<int64_t>(i);
    sizes[i] = this->sizes()[d];
    strides[i] = this->strides()[d];
  }
  Tensor out = make_view(*this, sizes, strides, storage_offset());
  return autograd::record("PermuteBackward0", out, {*this}, [inverse](const Tensor& g) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
}

Tensor Tensor::expand(const Shape& target) const {
  EMBER_CHECK_VALUE(target.size() >= sizes().size(), "expand: cannot expand shape ", sizes(),
                    " to ", target, " (fewer dims)");
  Shape sizes = target;
  size_t lead = target.size() - this->sizes().size();
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t have = i < lead ? 1 : this->sizes()[i - lead];
    if (target[i] == -1) {
      EMBER_CHECK_VALUE(i >= lead, "expand: -1 is not allowed in a new leading dim: ", target);
      sizes[i] = have;
    }
    EMBER_CHECK_VALUE(have == sizes[i] || have == 1, "expand: the size of dim ", i, " (", have,
                      ") must match the target ", target, " or be 1; input shape ", this->sizes());
  }
  Tensor out = make_view(*this, sizes, broadcast_strides(this->sizes(), strides(), sizes),
                         storage_offset());
  return autograd::record("ExpandBackward0", out, {*this}, [in = this->sizes()](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, in)};
  });
}

Tensor Tensor::squeeze() const {
  Shape sizes;
  for (int64_t s : this->sizes())
    if (s != 1) sizes.push_back(s);
  return reshape(sizes);
}

Tensor Tensor::squeeze(int64_t d) const {
  int64_t w = wrap_dim(d, dim(), "squeeze");
  if (dim() == 0 || size(w) != 1) return view(sizes());
  Shape sizes = this->sizes();
  sizes.erase(sizes.begin() + w);
  return view(sizes);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  int64_t w = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape sizes = this->sizes();
  sizes.insert(sizes.begin() + w, 1);
  return view(sizes);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    if (dim() == 0) return reshape({1});
    int64_t s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
    EMBER_CHECK_VALUE(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
    Shape sizes(this->sizes().begin(), this->sizes().begin() + s);
    int64_t merged = 1;
    for (int64_t i = s; i <= e; ++i) merged *= size(i);
    sizes.push_back(merged);
    sizes.insert(sizes.end(), this->sizes().begin() + e + 1, this->sizes().end());
    return reshape(sizes);
  }();
  return !traced.recording() ? result : traced.done("Flatten", {*this}, result, {{"axis", start_dim < 0 ? start_dim + dim() : start_dim}, {"end", end_dim < 0 ? end_dim + dim() : end_dim}, {"shape", result.sizes()}});
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  int64_t w = wrap_dim(d, dim(), "slice");
  EMBER_CHECK_VALUE(dim() > 0, "slice: cannot slice a 0-dim tensor");
  EMBER_CHECK_VALUE(step > 0, "slice: step must be positive, found ", step);
  int64_t n = size(w);
  auto clampi = [n](int64_t i) { return std::min(std::max<int64_t>(i < 0 ? i + n : i, 0), n); };
  start = clampi(start);
  end = std::max(clampi(end), start);
  Shape sizes = this->sizes(), strides = this->strides();
  sizes[w] = (end - start + step - 1) / step;
  strides[w] *= step;
  Tensor out = make_view(*this, sizes, strides, storage_offset() + start * stride(w));
  return autograd::record("SliceBackward0", out, {*this},
                          scatter_back(*this, [w, start, end, step](const Tensor& t) {
                            return t.slice(w, start, end, step);
                          }));
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  int64_t w = wrap_dim(d, dim(), "narrow");
  if (start < 0) start += size(w);
  EMBER_CHECK_INDEX(start >= 0 && length >= 0 && start + length <= size(w), "narrow: range [",
                    start, ", ", start + length, ") is out of bounds for dim ", w, " of size ",
                    size(w));
  return slice(w, start, start + length, 1);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  EMBER_CHECK_INDEX(dim() > 0, "select: cannot index a 0-dim tensor");
  int64_t w = wrap_dim(d, dim(), "select"), n = size(w);
  EMBER_CHECK_INDEX(index >= -n && index < n, "select: index ", index,
                    " is out of bounds for dim ", w, " with size ", n);
  if (index < 0) index += n;
  Shape sizes = this->sizes(), strides = this->strides();
  sizes.erase(sizes.begin() + w);
  strides.erase(strides.begin() + w);
  Tensor out = make_view(*this, sizes, strides, storage_offset() + index * stride(w));
  return autograd::record("SelectBackward0", out, {*this},
                          scatter_back(*this, [w, index](const Tensor& t) { return t.select(w, index); }));
}

Tensor Tensor::view_as_real() const {
  EMBER_CHECK_VALUE(is_complex(dtype()), "view_as_real: expected a complex tensor, found ", dtype());
  Shape sizes = this->sizes(), strides = this->strides();
  for (int64_t& s : strides) s *= 2;  // in units of the part dtype
  sizes.push_back(2);
  strides.push_back(1);
  return Tensor::make(storage(), sizes, strides, 2 * storage_offset(), complex_part_dtype(dtype()));
}

Tensor Tensor::view_as_complex() const {
  EMBER_CHECK_VALUE(dtype() == kFloat32 || dtype() == kFloat64, "view_as_complex: expected a float32 or float64 tensor, found ", dtype());
  EMBER_CHECK_VALUE(dim() > 0 && sizes().back() == 2 && strides().back() == 1 && storage_offset() % 2 == 0,
                    "view_as_complex: expected a last dimension of size 2 and stride 1 (and an even offset), found size ", sizes(),
                    ", stride ", strides(), ", offset ", storage_offset());
  Shape sizes(this->sizes().begin(), this->sizes().end() - 1), strides;
  for (size_t i = 0; i + 1 < this->strides().size(); ++i) {
    EMBER_CHECK_VALUE(this->strides()[i] % 2 == 0, "view_as_complex: stride ", this->strides()[i], " of dim ", i, " is odd");
    strides.push_back(this->strides()[i] / 2);
  }
  return Tensor::make(storage(), sizes, strides, storage_offset() / 2, dtype() == kFloat32 ? kComplex64 : kComplex128);
}

}  // namespace ember
