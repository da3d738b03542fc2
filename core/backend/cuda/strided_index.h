// Offsets of N operands that share a shape, computed from a linear element index: the index math
// of every strided CUDA kernel (PyTorch's OffsetCalculator, in small).
//
// make_strided_index() drops size-1 dims and merges dims that are contiguous for every operand
// (the CPU's strided_loop does the same), so most tensors become one or two dims and the
// per-element division loop is short. Offsets are in elements of each operand. The struct is
// passed to kernels by value; offsets() compiles for host and device (EMBER_HD), and the CPU
// tests run it against Tensor's own strides.
#pragma once

#include <array>
#include <cstdint>

#include "core/host_device.h"
#include "core/shape.h"

namespace ember::cuda {

constexpr int kMaxDims = 12;

template <int N>
struct StridedIndex {
  int ndim = 0;                       // after merging; 0 means every operand is one element
  int64_t sizes[kMaxDims] = {};       // innermost last
  int64_t strides[N][kMaxDims] = {};  // in elements

  EMBER_HD void offsets(int64_t linear, int64_t (&out)[N]) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t c = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += c * strides[k][d];
    }
  }
  // True when every operand's offset equals the linear index (no merging left, unit strides).
  bool contiguous() const {
    if (ndim > 1) return false;
    for (int k = 0; k < N && ndim == 1; ++k)
      if (strides[k][0] != 1) return false;
    return true;
  }
};

// The index of `sizes` for operands with the given element strides (each of sizes' rank; 0 on
// broadcast dims). Throws ValueError if more than kMaxDims dims remain after merging.
template <int N>
StridedIndex<N> make_strided_index(const Shape& sizes, const std::array<Shape, N>& strides);

}  // namespace ember::cuda

#include "core/backend/cuda/strided_index_impl.h"
