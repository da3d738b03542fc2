// The iteration every elementwise CPU kernel shares.
//
// strided_loop visits all elements of `sizes` for N operands given by base pointers and byte
// strides. It drops size-1 dims, merges dims that are contiguous for every operand, and calls
//   body(std::array<char*, N> ptrs, std::array<int64_t, N> inner_strides, int64_t n)
// for runs along the innermost remaining dim, in parallel chunks. When every operand is
// contiguous the whole tensor is one run (split between threads), which the kernels vectorize.
#pragma once

#include <array>
#include <vector>

#include "core/shape.h"
#include "core/tensor.h"
#include "core/threads.h"

namespace ember::cpu {

template <size_t N>
struct Operands {
  std::array<char*, N> ptrs;
  std::array<Shape, N> byte_strides;
};

// Byte strides of t read as shape `target` (broadcast dims get stride 0).
inline Shape byte_strides_for(const Tensor& t, const Shape& target) {
  Shape s = broadcast_strides(t.sizes(), t.strides(), target);
  for (auto& v : s) v *= static_cast<int64_t>(t.element_size());
  return s;
}

template <size_t N, class Body>
void strided_loop(const Shape& sizes, const Operands<N>& ops, Body body, int64_t grain = 16384) {
  // Keep non-trivial dims, then merge neighbours that are contiguous for all operands.
  std::vector<int64_t> dims;
  std::array<std::vector<int64_t>, N> strides;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 0) return;
    if (sizes[d] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < N && merge; ++k)
      merge = strides[k].back() == ops.byte_strides[k][d] * sizes[d];
    if (merge) {
      dims.back() *= sizes[d];
      for (size_t k = 0; k < N; ++k) strides[k].back() = ops.byte_strides[k][d];
    } else {
      dims.push_back(sizes[d]);
      for (size_t k = 0; k < N; ++k) strides[k].push_back(ops.byte_strides[k][d]);
    }
  }
  if (dims.empty()) {  // a single element
    std::array<int64_t, N> zero{};
    body(ops.ptrs, zero, 1);
    return;
  }
  const size_t nd = dims.size();
  const int64_t inner = dims[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = strides[k][nd - 1];
  const int64_t total = numel_of(Shape(dims.begin(), dims.end()));

  parallel_for(0, total, grain, [&](int64_t lo, int64_t hi) {
    int64_t i = lo;
    while (i < hi) {
      int64_t run = i / inner, pos = i % inner;
      std::array<char*, N> p = ops.ptrs;
      for (size_t d = nd - 1; d-- > 0;) {  // multi-index of the run over the outer dims
        int64_t idx = run % dims[d];
        run /= dims[d];
        for (size_t k = 0; k < N; ++k) p[k] += idx * strides[k][d];
      }
      for (size_t k = 0; k < N; ++k) p[k] += pos * inner_strides[k];
      int64_t n = std::min(inner - pos, hi - i);
      body(p, inner_strides, n);
      i += n;
    }
  });
}

// Calls f(T{}) for the dtypes CPU kernels compute in; throws for the others.
template <class F>
decltype(auto) visit_compute(DType t, const char* what, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(int64_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int16: return f(int16_t{});
    case DType::Int8: return f(int8_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
    default:
      throw ValueError(str(what, ": dtype ", t, " is not supported by CPU kernels"));
  }
}

// Calls f(float{}) or f(double{}); throws naming `op` for any other dtype.
template <class F>
void visit_float(DType t, const char* op, F&& f) {
  if (t == kFloat32) return f(float{});
  if (t == kFloat64) return f(double{});
  throw ValueError(str(op, ": expected a float32 or float64 tensor, found ", t));
}

}  // namespace ember::cpu
