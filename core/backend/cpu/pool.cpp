// Max and average pooling over NCHW planes; each (n, c) plane is independent, so planes are the
// unit of parallel work and results do not depend on the thread count.
#include <limits>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/max_pool_plane.h"
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
      parallel_for(0, g.count, 4, [&](int64_t lo, int64_t hi) {
        for (int64_t pl = lo; pl < hi; ++pl)
          max_pool_2x2_plane(in + pl * g.h * g.w, g.w, g.oh, g.ow, o + pl * g.oh * g.ow, ix + pl * g.oh * g.ow,
                             [](T v) { return v; });
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
      const int64_t size = g.h * g.w, count = g.oh * g.ow;
      for (int64_t pl = lo; pl < hi; ++pl)
        max_pool_backward_plane(gi + pl * size, size, go + pl * count, ix + pl * count, count);
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
