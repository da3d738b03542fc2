// Max and average pooling over NCHW planes; each (n, c) plane is independent, so planes are the
// unit of parallel work and results do not depend on the thread count.
#include <limits>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/strided_loop.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {


struct Planes {
  int64_t count, h, w, oh, ow;
};
Planes planes(const Tensor& in, const Tensor& out) {
  return {in.size(0) * in.size(1), in.size(2), in.size(3), out.size(2), out.size(3)};
}

// The window of output (y, x) clipped to the input: [h0, h1) x [w0, w1), plus the
// count_include_pad divisor (window clipped to the padded input instead).
struct Window {
  int64_t h0, h1, w0, w1, padded_count;
};
Window window(const Pool2dParams& p, const Planes& g, int64_t y, int64_t x) {
  int64_t h0 = y * p.stride_h - p.pad_h, w0 = x * p.stride_w - p.pad_w;
  int64_t h1 = std::min(h0 + p.kernel_h, g.h + p.pad_h), w1 = std::min(w0 + p.kernel_w, g.w + p.pad_w);
  int64_t padded = (h1 - h0) * (w1 - w0);
  return {std::max<int64_t>(h0, 0), std::min(h1, g.h), std::max<int64_t>(w0, 0), std::min(w1, g.w),
          padded};
}

// 2x2, stride 2, no padding, a tile at a time: whole output rows [y0, y0 + rows) when rows are
// short (the cnn's are 14 and 7 wide, shorter than a vector loop's unrolled body: tiles of one
// row ran scalar), else columns [x0, x0 + n) of one row. `out` and `idx` point at output (y0, x0);
// the tile's outputs are out[0, rows * n), rows of ow == n when rows > 1. The candidates of each
// window are a, b (top row), c, e (bottom row), in PyTorch's order: the first maximum wins and a
// NaN, once seen, wins. Without NaN that is the maximum and the first candidate equal to it, which
// the compiler vectorizes (de-interleaved into four arrays first); a tile holding a NaN takes the
// sequential rule instead.
constexpr int64_t kPoolTile = 256;

template <class T>
void max_pool_2x2_tile(const T* plane, int64_t w, int64_t y0, int64_t rows, int64_t x0, int64_t n, T* out, int64_t* idx) {
  T a[kPoolTile], b[kPoolTile], c[kPoolTile], e[kPoolTile];
  int64_t corner[kPoolTile];  // the window's top-left element in the plane
  int32_t nan = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t top = 2 * (y0 + r) * w + 2 * x0, q0 = r * n;
    const T *r0 = plane + top, *r1 = r0 + w;
    for (int64_t x = 0; x < n; ++x) {
      const int64_t q = q0 + x;
      a[q] = r0[2 * x], b[q] = r0[2 * x + 1], c[q] = r1[2 * x], e[q] = r1[2 * x + 1];
      corner[q] = top + 2 * x;
      nan |= (a[q] != a[q]) | (b[q] != b[q]) | (c[q] != c[q]) | (e[q] != e[q]);
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
  for (int64_t q = 0; q < count; ++q) idx[q] = corner[q] + (pick[q] & 1) + (pick[q] >> 1) * w;
}

}  // namespace

void CpuBackend::max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                            const Pool2dParams& p) {
  visit_float(input.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    Planes g = planes(input, out);
    const T* in = static_cast<const T*>(input.data());
    T* o = static_cast<T*>(out.data());
    int64_t* ix = static_cast<int64_t*>(indices.data());
    bool two_by_two = p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_h == 0 &&
                      p.pad_w == 0 && p.dilation_h == 1 && p.dilation_w == 1 && g.oh * 2 <= g.h && g.ow * 2 <= g.w;
    if (two_by_two) {
      const int64_t rows_per_tile = g.ow <= kPoolTile ? kPoolTile / g.ow : 1;
      parallel_for(0, g.count, 4, [&](int64_t lo, int64_t hi) {
        for (int64_t pl = lo; pl < hi; ++pl) {
          const T* plane = in + pl * g.h * g.w;
          T* oplane = o + pl * g.oh * g.ow;
          int64_t* iplane = ix + pl * g.oh * g.ow;
          if (rows_per_tile > 1) {
            for (int64_t y0 = 0; y0 < g.oh; y0 += rows_per_tile)
              max_pool_2x2_tile(plane, g.w, y0, std::min(rows_per_tile, g.oh - y0), 0, g.ow, oplane + y0 * g.ow, iplane + y0 * g.ow);
            continue;
          }
          for (int64_t y = 0; y < g.oh; ++y)
            for (int64_t x0 = 0; x0 < g.ow; x0 += kPoolTile)
              max_pool_2x2_tile(plane, g.w, y, 1, x0, std::min(kPoolTile, g.ow - x0), oplane + y * g.ow + x0,
                                iplane + y * g.ow + x0);
        }
      });
      return;
    }
    parallel_for(0, g.count, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t pl = lo; pl < hi; ++pl) {
        const T* plane = in + pl * g.h * g.w;
        for (int64_t y = 0; y < g.oh; ++y)
          for (int64_t x = 0; x < g.ow; ++x) {
            T best = -std::numeric_limits<T>::infinity();
            int64_t best_at = -1;
            for (int64_t ki = 0; ki < p.kernel_h; ++ki) {
              int64_t iy = y * p.stride_h - p.pad_h + ki * p.dilation_h;
              if (iy < 0 || iy >= g.h) continue;
              for (int64_t kj = 0; kj < p.kernel_w; ++kj) {
                int64_t iw = x * p.stride_w - p.pad_w + kj * p.dilation_w;
                if (iw < 0 || iw >= g.w) continue;
                T v = plane[iy * g.w + iw];
                if (best_at < 0 || v > best || v != v) {
                  best = v;
                  best_at = iy * g.w + iw;
                  if (v != v) break;
                }
              }
            }
            o[(pl * g.oh + y) * g.ow + x] = best;
            ix[(pl * g.oh + y) * g.ow + x] = best_at;
          }
      }
    });
  });
}

void CpuBackend::max_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out,
                                     const Tensor& indices, const Pool2dParams&) {
  visit_float(grad_input.dtype(), "max_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    Planes g = planes(grad_input, grad_out);
    T* gi = static_cast<T*>(grad_input.data());
    const T* go = static_cast<const T*>(grad_out.data());
    const int64_t* ix = static_cast<const int64_t*>(indices.data());
    parallel_for(0, g.count, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t pl = lo; pl < hi; ++pl) {
        T* plane = gi + pl * g.h * g.w;
        std::fill(plane, plane + g.h * g.w, T(0));
        for (int64_t k = 0; k < g.oh * g.ow; ++k) {
          int64_t at = ix[pl * g.oh * g.ow + k];
          if (at >= 0) plane[at] += go[pl * g.oh * g.ow + k];
        }
      }
    });
  });
}

void CpuBackend::avg_pool2d(const Tensor& out, const Tensor& input, const Pool2dParams& p) {
  visit_float(input.dtype(), "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    Planes g = planes(input, out);
    const T* in = static_cast<const T*>(input.data());
    T* o = static_cast<T*>(out.data());
    parallel_for(0, g.count, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t pl = lo; pl < hi; ++pl)
        for (int64_t y = 0; y < g.oh; ++y)
          for (int64_t x = 0; x < g.ow; ++x) {
            Window win = window(p, g, y, x);
            T sum = 0;
            for (int64_t iy = win.h0; iy < win.h1; ++iy)
              for (int64_t iw = win.w0; iw < win.w1; ++iw) sum += in[(pl * g.h + iy) * g.w + iw];
            int64_t count = p.count_include_pad ? win.padded_count : (win.h1 - win.h0) * (win.w1 - win.w0);
            o[(pl * g.oh + y) * g.ow + x] = count > 0 ? sum / static_cast<T>(count) : T(0);
          }
    });
  });
}

void CpuBackend::avg_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out,
                                     const Pool2dParams& p) {
  visit_float(grad_input.dtype(), "avg_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    Planes g = planes(grad_input, grad_out);
    T* gi = static_cast<T*>(grad_input.data());
    const T* go = static_cast<const T*>(grad_out.data());
    parallel_for(0, g.count, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t pl = lo; pl < hi; ++pl) {
        T* plane = gi + pl * g.h * g.w;
        std::fill(plane, plane + g.h * g.w, T(0));
        for (int64_t y = 0; y < g.oh; ++y)
          for (int64_t x = 0; x < g.ow; ++x) {
            Window win = window(p, g, y, x);
            int64_t count = p.count_include_pad ? win.padded_count : (win.h1 - win.h0) * (win.w1 - win.w0);
            if (count == 0) continue;
            T share = go[(pl * g.oh + y) * g.ow + x] / static_cast<T>(count);
            for (int64_t iy = win.h0; iy < win.h1; ++iy)
              for (int64_t iw = win.w0; iw < win.w1; ++iw) plane[iy * g.w + iw] += share;
          }
      }
    });
  });
}

}  // namespace ember::cpu
