#include "core/ops/factories.h"

#include <algorithm>
#include <cmath>

#include "core/backend/backend.h"
#include "core/ops/compare.h"
#include "core/ops/copy.h"
#include "core/random/philox.h"

namespace ember {

namespace {

Tensor finish(Tensor t, const TensorOptions& opts) {
  if (opts.requires_grad_) t.requires_grad_(true);
  return t;
}

Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }

}  // namespace

Tensor empty(const Shape& sizes, TensorOptions opts) {
  // The strides multiply the sizes with zeros taken as ones, and the byte count multiplies in the
  // element size: sizes read from a hostile file must not wrap either round to a small allocation.
  int64_t span = static_cast<int64_t>(element_size(opts.dtype_));
  for (int64_t s : sizes) {
    EMBER_CHECK_VALUE(s >= 0, "empty: expected non-negative sizes, found ", sizes);
    EMBER_CHECK_VALUE(!__builtin_mul_overflow(span, std::max<int64_t>(s, 1), &span), "empty: sizes ", sizes, " of ", opts.dtype_,
                      ": their strides or byte count (zeros counted as ones) would exceed 2^63 bytes");
  }
  int64_t n = numel_of(sizes);
  Storage storage = Storage::allocate(static_cast<size_t>(n) * element_size(opts.dtype_), opts.device_);
  return finish(Tensor::make(storage, sizes, contiguous_strides(sizes), 0, opts.dtype_), opts);
}

Tensor full(const Shape& sizes, double value, TensorOptions opts) {
  Tensor t = empty(sizes, TensorOptions(opts).requires_grad(false));
  t.fill_(value);
  return finish(t, opts);
}
Tensor zeros(const Shape& sizes, TensorOptions opts) { return full(sizes, 0.0, opts); }
Tensor ones(const Shape& sizes, TensorOptions opts) { return full(sizes, 1.0, opts); }
Tensor scalar_tensor(double value, TensorOptions opts) { return full({}, value, opts); }

Tensor arange(int64_t end, TensorOptions opts) { return arange(int64_t{0}, end, 1, opts); }

Tensor arange(int64_t start, int64_t end, int64_t step, TensorOptions opts) {
  EMBER_CHECK_VALUE(step != 0, "arange: step must be nonzero");
  EMBER_CHECK_VALUE((end - start) * step >= 0, "arange: upper bound and step sign are inconsistent (start ",
                    start, ", end ", end, ", step ", step, ")");
  int64_t n = (end - start + step + (step > 0 ? -1 : 1)) / step;
  std::vector<double> values(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<double>(start + i * step);
  return tensor(values, opts);
}

Tensor arange_floating(double start, double end, double step, TensorOptions opts) {
  EMBER_CHECK_VALUE(step != 0, "arange: step must be nonzero");
  int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  EMBER_CHECK_VALUE(n >= 0, "arange: upper bound and step sign are inconsistent (start ", start,
                    ", end ", end, ", step ", step, ")");
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[i] = start + static_cast<double>(i) * step;
  return tensor(values, opts);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions opts) {
  EMBER_CHECK_VALUE(steps >= 0, "linspace: number of steps must be non-negative, found ", steps);
  std::vector<double> values(static_cast<size_t>(steps));
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Like PyTorch, fill from both ends so the last value is exactly `end`.
  int64_t half = steps / 2;
  for (int64_t i = 0; i < steps; ++i)
    values[i] = i < half ? start + step * static_cast<double>(i)
                         : end - step * static_cast<double>(steps - i - 1);
  return tensor(values, opts);
}

Tensor eye(int64_t n, int64_t m, TensorOptions opts) {
  if (m < 0) m = n;
  Tensor t = zeros({n, m}, TensorOptions(opts).requires_grad(false));
  for (int64_t i = 0; i < std::min(n, m); ++i) t.select(0, i).select(0, i).fill_(1.0);
  return finish(t, opts);
}

Tensor& uniform_(Tensor& t, double lo, double hi, Generator* gen) {
  check_inplace(t, "uniform_");
  Tensor dst = t.is_contiguous() ? t : empty_like(t);
  uint64_t offset = pick(gen).reserve(static_cast<uint64_t>(t.numel()));
  backend_of(dst).uniform(dst, lo, hi, pick(gen).seed(), offset);
  if (!dst.is_same(t)) t.copy_(dst);
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* gen) {
  check_inplace(t, "normal_");
  Tensor dst = t.is_contiguous() ? t : empty_like(t);
  uint64_t offset = pick(gen).reserve(static_cast<uint64_t>(t.numel()));
  backend_of(dst).normal(dst, mean, std, pick(gen).seed(), offset);
  if (!dst.is_same(t)) t.copy_(dst);
  return t;
}

Tensor rand(const Shape& sizes, TensorOptions opts, Generator* gen) {
  EMBER_CHECK_VALUE(is_floating(opts.dtype_), "rand: expected a floating dtype, found ", opts.dtype_);
  Tensor t = empty(sizes, TensorOptions(opts).requires_grad(false));
  return finish(uniform_(t, 0.0, 1.0, gen), opts);
}

Tensor randn(const Shape& sizes, TensorOptions opts, Generator* gen) {
  EMBER_CHECK_VALUE(is_floating(opts.dtype_), "randn: expected a floating dtype, found ", opts.dtype_);
  Tensor t = empty(sizes, TensorOptions(opts).requires_grad(false));
  return finish(normal_(t, 0.0, 1.0, gen), opts);
}

Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions opts, Generator* gen) {
  EMBER_CHECK_VALUE(low < high, "randint: expected low < high, found low ", low, ", high ", high);
  Tensor u = empty(sizes, kFloat64);
  uniform_(u, 0.0, 1.0, gen);
  std::vector<double> v = u.to_vector<double>();
  for (double& x : v) x = static_cast<double>(low + static_cast<int64_t>(std::floor(x * static_cast<double>(high - low))));
  return tensor(v, sizes, opts);
}

Tensor randperm(int64_t n, TensorOptions opts, Generator* gen) {
  EMBER_CHECK_VALUE(n >= 0, "randperm: expected n >= 0, found ", n);
  Generator& g = pick(gen);
  uint64_t offset = g.reserve(static_cast<uint64_t>(n)), seed = g.seed();
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    uint64_t r = philox::bits64(philox::block(offset + static_cast<uint64_t>(i), seed));
    std::swap(perm[i], perm[r % static_cast<uint64_t>(i + 1)]);
  }
  return tensor(perm, opts);
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  Tensor u = rand(p.sizes(), TensorOptions(is_floating(p.dtype()) ? p.dtype() : kFloat32).device(p.device()), gen);
  return lt(u, p.detach()).to(p.dtype());
}

Tensor bernoulli(const Shape& sizes, double p, TensorOptions opts, Generator* gen, double value) {
  EMBER_CHECK_VALUE(p >= 0.0 && p <= 1.0, "bernoulli: expected 0 <= p <= 1, found ", p);
  Tensor t = empty(sizes, TensorOptions(opts).requires_grad(false));
  Generator& g = pick(gen);
  uint64_t offset = g.reserve(static_cast<uint64_t>(t.numel()));
  backend_of(t).bernoulli(t, p, g.seed(), offset, value);
  return t;
}

Tensor from_blob(void* data, const Shape& sizes, DType dtype) {
  return from_blob(data, sizes, contiguous_strides(sizes), dtype);
}

Tensor from_blob(void* data, const Shape& sizes, const Shape& strides, DType dtype) {
  int64_t span = 1;
  for (size_t i = 0; i < sizes.size(); ++i) span += (sizes[i] - 1) * strides[i];
  size_t nbytes = numel_of(sizes) == 0 ? 0 : static_cast<size_t>(span) * element_size(dtype);
  return Tensor::make(Storage::borrow(data, nbytes, kCPU, nullptr), sizes, strides, 0, dtype);
}

template <class T>
Tensor tensor(const std::vector<T>& values, TensorOptions opts) {
  return tensor(values, Shape{static_cast<int64_t>(values.size())}, opts);
}

template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& sizes, TensorOptions opts) {
  EMBER_CHECK_VALUE(numel_of(sizes) == static_cast<int64_t>(values.size()), "tensor: ",
                    values.size(), " values do not fill shape ", sizes);
  Tensor t = empty(sizes, TensorOptions(opts).requires_grad(false).device(kCPU));
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(values.begin(), values.end());
    convert_elements(bytes.data(), kBool, t.data(), t.dtype(), t.numel());
  } else {
    convert_elements(values.data(), dtype_of<T>(), t.data(), t.dtype(), t.numel());
  }
  if (!opts.device_.is_cpu()) t = t.to(opts.device_);  // values start on the host
  return finish(t, opts);
}

#define EMBER_INSTANTIATE_TENSOR(T)                                        \
  template Tensor tensor(const std::vector<T>&, TensorOptions);            \
  template Tensor tensor(const std::vector<T>&, const Shape&, TensorOptions);
EMBER_INSTANTIATE_TENSOR(float)
EMBER_INSTANTIATE_TENSOR(double)
EMBER_INSTANTIATE_TENSOR(int64_t)
EMBER_INSTANTIATE_TENSOR(int32_t)
EMBER_INSTANTIATE_TENSOR(uint8_t)
EMBER_INSTANTIATE_TENSOR(bool)
#undef EMBER_INSTANTIATE_TENSOR

Tensor tensor(std::initializer_list<double> values, TensorOptions opts) {
  return tensor(std::vector<double>(values), opts);
}
Tensor tensor(std::initializer_list<double> values, const Shape& sizes, TensorOptions opts) {
  return tensor(std::vector<double>(values), sizes, opts);
}

Tensor empty_like(const Tensor& t) { return empty(t.sizes(), TensorOptions(t.dtype()).device(t.device())); }
Tensor zeros_like(const Tensor& t) { return zeros(t.sizes(), TensorOptions(t.dtype()).device(t.device())); }
Tensor ones_like(const Tensor& t) { return ones(t.sizes(), TensorOptions(t.dtype()).device(t.device())); }
Tensor full_like(const Tensor& t, double value) {
  return full(t.sizes(), value, TensorOptions(t.dtype()).device(t.device()));
}
Tensor rand_like(const Tensor& t, Generator* gen) {
  return rand(t.sizes(), TensorOptions(t.dtype()).device(t.device()), gen);
}
Tensor randn_like(const Tensor& t, Generator* gen) {
  return randn(t.sizes(), TensorOptions(t.dtype()).device(t.device()), gen);
}

}  // namespace ember
