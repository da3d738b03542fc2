// Tensor factories: empty/zeros/ones/full, ranges, eye, random tensors, wrapping existing memory.
#pragma once

#include <type_traits>
#include <vector>

#include "core/random/generator.h"
#include "core/tensor.h"

namespace ember {

// dtype (float32 by default), device and requires_grad for a new tensor, with chained setters:
// zeros({2, 3}, TensorOptions().dtype(kFloat64).requires_grad(true)).
struct TensorOptions {
  DType dtype_ = kFloat32;
  Device device_ = kCPU;
  bool requires_grad_ = false;
  TensorOptions() = default;
  TensorOptions(DType d) : dtype_(d) {}  // NOLINT: zeros({2}, kInt64) reads naturally
  TensorOptions& dtype(DType d) { dtype_ = d; return *this; }
  TensorOptions& device(Device d) { device_ = d; return *this; }
  TensorOptions& requires_grad(bool r = true) { requires_grad_ = r; return *this; }
};

Tensor empty(const Shape& sizes, TensorOptions opts = {});
Tensor zeros(const Shape& sizes, TensorOptions opts = {});
Tensor ones(const Shape& sizes, TensorOptions opts = {});
Tensor full(const Shape& sizes, double value, TensorOptions opts = {});
// A 0-dim tensor holding value.
Tensor scalar_tensor(double value, TensorOptions opts = {});

// [start, end) by step. The integer form defaults to int64, the floating one to float32.
Tensor arange(int64_t end, TensorOptions opts = kInt64);
Tensor arange(int64_t start, int64_t end, int64_t step = 1, TensorOptions opts = kInt64);
Tensor arange_floating(double start, double end, double step, TensorOptions opts = {});
template <class F, class = std::enable_if_t<std::is_floating_point_v<F>>>
Tensor arange(F start, F end, F step, TensorOptions opts = {}) {
  return arange_floating(start, end, step, opts);
}
// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, TensorOptions opts = {});
// n x m identity (m = n when m < 0).
Tensor eye(int64_t n, int64_t m = -1, TensorOptions opts = {});

// Random tensors from `gen` (nullptr: the default generator).
Tensor rand(const Shape& sizes, TensorOptions opts = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Shape& sizes, TensorOptions opts = {}, Generator* gen = nullptr);  // N(0, 1)
// Integers uniform in [low, high), int64 by default.
Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions opts = kInt64,
               Generator* gen = nullptr);
// A random permutation of 0..n-1 (Fisher-Yates), int64 by default.
Tensor randperm(int64_t n, TensorOptions opts = kInt64, Generator* gen = nullptr);
// 1 with probability p[i], else 0, in p's dtype (torch.bernoulli(p)).
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
// 1 (or `value`) with probability p everywhere, else 0. dropout asks for value 1/(1-p): the same
// draws as value 1, with the scaling done as they are written instead of in a second pass.
Tensor bernoulli(const Shape& sizes, double p, TensorOptions opts = {}, Generator* gen = nullptr, double value = 1.0);

// In-place random fills of an existing tensor (used by nn::init).
Tensor& uniform_(Tensor& t, double lo = 0.0, double hi = 1.0, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);

// Wraps caller-owned memory without copying; the caller keeps it alive while the tensor lives.
Tensor from_blob(void* data, const Shape& sizes, DType dtype = kFloat32);
Tensor from_blob(void* data, const Shape& sizes, const Shape& strides, DType dtype);

// Copies values into a new 1-D tensor (dtype: T's unless opts says otherwise).
template <class T>
Tensor tensor(const std::vector<T>& values, TensorOptions opts = dtype_of<T>());
// Copies values into a new tensor of `sizes` (Shape{} with one value: a 0-dim tensor).
template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& sizes, TensorOptions opts = dtype_of<T>());
// tensor({1.0, 2.0}) is float32 [2]; tensor({1, 2, 3, 4}, Shape{2, 2}, kFloat64).
Tensor tensor(std::initializer_list<double> values, TensorOptions opts = {});
Tensor tensor(std::initializer_list<double> values, const Shape& sizes, TensorOptions opts = {});

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);

}  // namespace ember
