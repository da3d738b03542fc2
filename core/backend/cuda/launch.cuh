// What every CUDA kernel file shares: launching a functor over n elements (flat or strided),
// operand strides read as a target shape, and the dtype switch that picks a kernel's element type.
//
// Kernels here are functors rather than device lambdas: a functor is an ordinary class template,
// so the type switch can instantiate it without nvcc's extended-lambda rules.
#pragma once

#include <array>
#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "core/backend/cuda/context.h"
#include "core/backend/cuda/strided_index.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace ember::cuda {

constexpr int kThreads = 256;

inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < (int64_t{1} << 30) ? blocks : (int64_t{1} << 30));
}

inline cudaStream_t stream_of(const Tensor& t) { return context_of(t).stream; }

// Element strides of t read as `target` (broadcast dims get stride 0).
inline Shape strides_as(const Tensor& t, const Shape& target) {
  return broadcast_strides(t.sizes(), t.strides(), target);
}

template <class T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.data());
}

template <int N, class F>
__global__ void strided_kernel(int64_t n, StridedIndex<N> ix, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t off[N];
    ix.offsets(i, off);
    f(off);
  }
}

template <int N, class F>
__global__ void flat_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t off[N];
    for (int k = 0; k < N; ++k) off[k] = i;
    f(off);
  }
}

// Calls f(off) for every element of `shape`, off[k] being the element offset of operand k (whose
// pointer f holds). Operands are read as `shape` through their strides; the first one decides
// the device and stream.
template <int N, class F>
void for_each_element(const Shape& shape, const std::array<const Tensor*, N>& ts, F f, const char* name) {
  int64_t n = numel_of(shape);
  if (n == 0) return;
  std::array<Shape, N> strides;
  for (int k = 0; k < N; ++k) strides[k] = strides_as(*ts[k], shape);
  StridedIndex<N> ix = make_strided_index<N>(shape, strides);
  cudaStream_t s = stream_of(*ts[0]);
  if (ix.contiguous() || ix.ndim == 0)
    flat_kernel<N><<<grid_for(n), kThreads, 0, s>>>(n, f);
  else
    strided_kernel<N><<<grid_for(n), kThreads, 0, s>>>(n, ix, f);
  check_launch(name);
}

// Raw elements of 16 bytes (complex128), for kernels that only move elements.
struct alignas(16) Bits128 {
  uint64_t lo, hi;
};

// Calls f(B{}) with B an unsigned type of `size` bytes: kernels that move elements without
// looking at them need one instantiation per size, not per dtype.
template <class F>
void by_element_size(size_t size, const char* what, F f) {
  switch (size) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    case 16: return f(Bits128{});
    default: throw ValueError(str(what, ": unsupported element size ", size));
  }
}

// Runs BODY with T bound to the compute type of `dtype` (the CPU backend's visit_compute types).
#define EMBER_CUDA_SWITCH_COMPUTE(dtype, what, ...)                                                        \
  switch (dtype) {                                                                                         \
    case ::ember::DType::Float32: { using T = float; __VA_ARGS__; break; }                                 \
    case ::ember::DType::Float64: { using T = double; __VA_ARGS__; break; }                                \
    case ::ember::DType::Int64: { using T = int64_t; __VA_ARGS__; break; }                                 \
    case ::ember::DType::Int32: { using T = int32_t; __VA_ARGS__; break; }                                 \
    case ::ember::DType::Int16: { using T = int16_t; __VA_ARGS__; break; }                                 \
    case ::ember::DType::Int8: { using T = int8_t; __VA_ARGS__; break; }                                   \
    case ::ember::DType::UInt8: { using T = uint8_t; __VA_ARGS__; break; }                                 \
    case ::ember::DType::Bool: { using T = bool; __VA_ARGS__; break; }                                     \
    default:                                                                                               \
      throw ::ember::ValueError(::ember::str(what, ": dtype ", dtype, " is not supported by CUDA kernels")); \
  }

// float32 or float64 only.
#define EMBER_CUDA_SWITCH_FLOAT(dtype, what, ...)                                                 \
  switch (dtype) {                                                                                \
    case ::ember::DType::Float32: { using T = float; __VA_ARGS__; break; }                        \
    case ::ember::DType::Float64: { using T = double; __VA_ARGS__; break; }                       \
    default:                                                                                      \
      throw ::ember::ValueError(::ember::str(what, ": expected a float32 or float64 tensor, found ", dtype)); \
  }

// Accumulator type of a sum: double for floats (as the CPU backend), int64 for integers.
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
__device__ inline bool is_nan(T v) {
  return v != v;
}

}  // namespace ember::cuda
