// Max pooling of one plane, the pieces max_pool2d and the fused batch_norm_relu_max_pool2x2
// (normalization.cpp) share: the 2x2, stride-2, unpadded forward, with each input value passed
// through `load` as it is read (the identity for max_pool2d; the batch norm's affine map and ReLU
// for the fused op, whose activations are then never written out), and the backward's scatter of
// the pooled gradient by its indices. Included by those two files only.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ember::cpu {

// A tile at a time: whole output rows [y0, y0 + rows) when rows are short (the cnn's are 14 and
// 7 wide, shorter than a vector loop's unrolled body: tiles of one row ran scalar), else columns
// [x0, x0 + n) of one row. `out` and `idx` point at output (y0, x0);
// the tile's outputs are out[0, rows * n), rows of ow == n when rows > 1. The candidates of each
// window are a, b (top row), c, e (bottom row), in PyTorch's order: the first maximum wins and a
// NaN, once seen, wins. Without NaN that is the maximum and the first candidate equal to it, which
// the compiler vectorizes; a tile holding a NaN takes the sequential rule instead.
//
// The tile's input is passed through `load` first, into `act`, in loops as long as the layout
// allows (the whole input rows at once when the tile holds whole rows): run inside the short
// window loops, the load and the NaN test vectorized badly and the pool took a third of the fused
// batch norm's time.
constexpr int64_t kPoolTile = 256;

template <class T, class Load>
void max_pool_2x2_tile(const T* plane, int64_t w, int64_t y0, int64_t rows, int64_t x0, int64_t n, T* out, int64_t* idx,
                       const Load& load) {
  constexpr int64_t kStaged = 6 * kPoolTile;  // 2 * rows * w <= 2 * rows * (2 * n + 1) <= 6 * rows * n
  T act[kStaged];
  int64_t stride;  // between the staged input rows
  if (rows > 1 && 2 * rows * w <= kStaged) {
    stride = w;
    const T* from = plane + 2 * y0 * w;
    for (int64_t i = 0; i < 2 * rows * w; ++i) act[i] = load(from[i]);
  } else {
    stride = 2 * n;
    for (int64_t r = 0; r < 2 * rows; ++r) {
      const T* from = plane + (2 * y0 + r) * w + 2 * x0;
      for (int64_t i = 0; i < 2 * n; ++i) act[r * stride + i] = load(from[i]);
    }
  }
  int32_t nan = 0;
  for (int64_t i = 0; i < 2 * rows * stride; ++i) nan |= act[i] != act[i];
  T a[kPoolTile], b[kPoolTile], c[kPoolTile], e[kPoolTile];
  int64_t corner[kPoolTile];  // the window's top-left element in the plane
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t top = 2 * (y0 + r) * w + 2 * x0, q0 = r * n;
    const T *r0 = act + 2 * r * stride, *r1 = r0 + stride;
    for (int64_t x = 0; x < n; ++x) {
      const int64_t q = q0 + x;
      a[q] = r0[2 * x], b[q] = r0[2 * x + 1], c[q] = r1[2 * x], e[q] = r1[2 * x + 1];
      corner[q] = top + 2 * x;
    }
  }
  const int64_t count = rows * n;
  if (nan) {
    for (int64_t q = 0; q < count; ++q) {
      const int64_t at[4] = {corner[q], corner[q] + 1, corner[q] + w, corner[q] + w + 1};
      const T v[4] = {a[q], b[q], c[q], e[q]};
      int k = 0;
      for (int j = 1; j < 4 && v[k] == v[k]; ++j)
        if (v[j] > v[k] || v[j] != v[j]) k = j;
      out[q] = v[k];
      idx[q] = at[k];
    }
    return;
  }
  int32_t pick[kPoolTile];
  for (int64_t q = 0; q < count; ++q) {
    T m = a[q];
    m = b[q] > m ? b[q] : m;
    m = c[q] > m ? c[q] : m;
    m = e[q] > m ? e[q] : m;
    const int32_t not_a = a[q] != m, not_b = b[q] != m, not_c = c[q] != m;
    out[q] = m;
    pick[q] = not_a * (1 + not_b * (1 + not_c));  // the first candidate equal to the maximum
  }
  // + w for the bottom row's picks (2 and 3) by a mask, not a 64-bit multiply.
  for (int64_t q = 0; q < count; ++q) idx[q] = corner[q] + (pick[q] & 1) + (-static_cast<int64_t>(pick[q] >> 1) & w);
}

// Output rows [0, oh) of a plane w wide (h >= 2 * oh, w >= 2 * ow): out and idx hold oh * ow.
template <class T, class Load>
void max_pool_2x2_plane(const T* plane, int64_t w, int64_t oh, int64_t ow, T* out, int64_t* idx, const Load& load) {
  const int64_t rows_per_tile = ow <= kPoolTile ? kPoolTile / ow : 1;
  if (rows_per_tile > 1) {
    for (int64_t y0 = 0; y0 < oh; y0 += rows_per_tile)
      max_pool_2x2_tile(plane, w, y0, std::min(rows_per_tile, oh - y0), 0, ow, out + y0 * ow, idx + y0 * ow, load);
    return;
  }
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x0 = 0; x0 < ow; x0 += kPoolTile)
      max_pool_2x2_tile(plane, w, y, 1, x0, std::min(kPoolTile, ow - x0), out + y * ow + x0, idx + y * ow + x0, load);
}

// The input gradient of one plane of `size` elements from its `count` pooled gradients and their
// indices (-1: a window with nothing in it): zeros, then each gradient added at its maximum.
template <class T>
void max_pool_backward_plane(T* plane, int64_t size, const T* grad, const int64_t* indices, int64_t count) {
  std::fill(plane, plane + size, T(0));
  for (int64_t k = 0; k < count; ++k)
    if (indices[k] >= 0) plane[indices[k]] += grad[k];
}

// max_pool_backward_plane for the 2x2, stride-2 windows of max_pool_2x2_plane, whose indices are
// all in the plane: the windows do not overlap, so each element receives at most one gradient and
// is written rather than accumulated — 0 + g, the bits the accumulation gives (-0 included), with
// no read of the plane the store must wait for.
template <class T>
void max_pool_2x2_backward_plane(T* plane, int64_t size, const T* grad, const int64_t* indices, int64_t count) {
  std::fill(plane, plane + size, T(0));
  for (int64_t k = 0; k < count; ++k) plane[indices[k]] = T(0) + grad[k];
}

}  // namespace ember::cpu
