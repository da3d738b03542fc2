// Max and average pooling over NCHW planes on a device. Forward: a thread per output. Backward: a
// thread per input element, gathering from the outputs whose windows hold it, in the order the
// CPU scatters them, so the sums are the CPU's bit for bit and no atomics are needed.
#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"

namespace ember::cuda {

namespace {

struct Planes {
  int64_t count, h, w, oh, ow;
};
Planes planes(const Tensor& in, const Tensor& out) {
  return {in.size(0) * in.size(1), in.size(2), in.size(3), out.size(2), out.size(3)};
}

// The CPU's window of output (y, x) clipped to the input, and the count_include_pad divisor.
struct Window {
  int64_t h0, h1, w0, w1, padded_count;
};
__device__ Window window(const Pool2dParams& p, const Planes& g, int64_t y, int64_t x) {
  int64_t h0 = y * p.stride_h - p.pad_h, w0 = x * p.stride_w - p.pad_w;
  int64_t h1 = min(h0 + p.kernel_h, g.h + p.pad_h), w1 = min(w0 + p.kernel_w, g.w + p.pad_w);
  int64_t padded = (h1 - h0) * (w1 - w0);
  return {max(h0, int64_t{0}), min(h1, g.h), max(w0, int64_t{0}), min(w1, g.w), padded};
}

__device__ int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

template <class T>
__global__ void max_pool_kernel(T* out, int64_t* indices, const T* in, Planes g, Pool2dParams p, bool two_by_two) {
  int64_t total = g.count * g.oh * g.ow;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total; e += int64_t{gridDim.x} * blockDim.x) {
    int64_t x = e % g.ow, y = (e / g.ow) % g.oh, pl = e / (g.ow * g.oh);
    const T* plane = in + pl * g.h * g.w;
    T best;
    int64_t best_at;
    if (two_by_two) {  // the CPU's fast path: first maximum wins, the first NaN wins
      int64_t at[4] = {2 * y * g.w + 2 * x, 2 * y * g.w + 2 * x + 1, (2 * y + 1) * g.w + 2 * x,
                       (2 * y + 1) * g.w + 2 * x + 1};
      best_at = at[0];
      for (int k = 1; k < 4; ++k) {
        T v = plane[at[k]], cur = plane[best_at];
        if (cur != cur) break;
        if (v > cur || v != v) best_at = at[k];
      }
      best = plane[best_at];
    } else {
      best = -INFINITY;
      best_at = -1;
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
    }
    out[e] = best;
    indices[e] = best_at;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(T* grad_in, const T* grad_out, const int64_t* indices, Planes g, Pool2dParams p) {
  int64_t total = g.count * g.h * g.w;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total; e += int64_t{gridDim.x} * blockDim.x) {
    int64_t iw = e % g.w, iy = (e / g.w) % g.h, pl = e / (g.w * g.h), here = iy * g.w + iw;
    // Outputs whose window can reach (iy, iw); the index decides whether it did.
    int64_t y0 = max(int64_t{0}, floor_div(iy + p.pad_h - (p.kernel_h - 1) * p.dilation_h, p.stride_h));
    int64_t y1 = min(g.oh - 1, floor_div(iy + p.pad_h, p.stride_h));
    int64_t x0 = max(int64_t{0}, floor_div(iw + p.pad_w - (p.kernel_w - 1) * p.dilation_w, p.stride_w));
    int64_t x1 = min(g.ow - 1, floor_div(iw + p.pad_w, p.stride_w));
    T sum = 0;
    const int64_t base = pl * g.oh * g.ow;
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x)
        if (indices[base + y * g.ow + x] == here) sum += grad_out[base + y * g.ow + x];
    grad_in[e] = sum;
  }
}

template <class T>
__global__ void avg_pool_kernel(T* out, const T* in, Planes g, Pool2dParams p) {
  int64_t total = g.count * g.oh * g.ow;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total; e += int64_t{gridDim.x} * blockDim.x) {
    int64_t x = e % g.ow, y = (e / g.ow) % g.oh, pl = e / (g.ow * g.oh);
    Window win = window(p, g, y, x);
    T sum = 0;
    for (int64_t iy = win.h0; iy < win.h1; ++iy)
      for (int64_t iw = win.w0; iw < win.w1; ++iw) sum += in[(pl * g.h + iy) * g.w + iw];
    int64_t count = p.count_include_pad ? win.padded_count : (win.h1 - win.h0) * (win.w1 - win.w0);
    out[e] = count > 0 ? sum / static_cast<T>(count) : T(0);
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(T* grad_in, const T* grad_out, Planes g, Pool2dParams p) {
  int64_t total = g.count * g.h * g.w;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total; e += int64_t{gridDim.x} * blockDim.x) {
    int64_t iw = e % g.w, iy = (e / g.w) % g.h, pl = e / (g.w * g.h);
    int64_t y0 = max(int64_t{0}, floor_div(iy + p.pad_h - p.kernel_h + 1, p.stride_h));
    int64_t y1 = min(g.oh - 1, floor_div(iy + p.pad_h, p.stride_h));
    int64_t x0 = max(int64_t{0}, floor_div(iw + p.pad_w - p.kernel_w + 1, p.stride_w));
    int64_t x1 = min(g.ow - 1, floor_div(iw + p.pad_w, p.stride_w));
    T sum = 0;
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x) {
        Window win = window(p, g, y, x);
        if (iy < win.h0 || iy >= win.h1 || iw < win.w0 || iw >= win.w1) continue;
        int64_t count = p.count_include_pad ? win.padded_count : (win.h1 - win.h0) * (win.w1 - win.w0);
        if (count == 0) continue;
        sum += grad_out[(pl * g.oh + y) * g.ow + x] / static_cast<T>(count);
      }
    grad_in[e] = sum;
  }
}

}  // namespace

void CudaBackend::max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input, const Pool2dParams& p) {
  Planes g = planes(input, out);
  if (out.numel() == 0) return;
  bool two_by_two = p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_h == 0 &&
                    p.pad_w == 0 && p.dilation_h == 1 && p.dilation_w == 1 && g.oh * 2 <= g.h && g.ow * 2 <= g.w;
  EMBER_CUDA_SWITCH_FLOAT(input.dtype(), "max_pool2d",
                          max_pool_kernel<T><<<grid_for(out.numel()), kThreads, 0, stream_of(out)>>>(
                              ptr<T>(out), ptr<int64_t>(indices), ptr<const T>(input), g, p, two_by_two));
  check_launch("max_pool2d");
}

void CudaBackend::max_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& indices,
                                      const Pool2dParams& p) {
  Planes g = planes(grad_input, grad_out);
  if (grad_input.numel() == 0) return;
  EMBER_CUDA_SWITCH_FLOAT(grad_input.dtype(), "max_pool2d backward",
                          max_pool_backward_kernel<T><<<grid_for(grad_input.numel()), kThreads, 0, stream_of(grad_input)>>>(
                              ptr<T>(grad_input), ptr<const T>(grad_out), ptr<const int64_t>(indices), g, p));
  check_launch("max_pool2d backward");
}

void CudaBackend::avg_pool2d(const Tensor& out, const Tensor& input, const Pool2dParams& p) {
  Planes g = planes(input, out);
  if (out.numel() == 0) return;
  EMBER_CUDA_SWITCH_FLOAT(input.dtype(), "avg_pool2d",
                          avg_pool_kernel<T><<<grid_for(out.numel()), kThreads, 0, stream_of(out)>>>(
                              ptr<T>(out), ptr<const T>(input), g, p));
  check_launch("avg_pool2d");
}

void CudaBackend::avg_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out, const Pool2dParams& p) {
  Planes g = planes(grad_input, grad_out);
  if (grad_input.numel() == 0) return;
  EMBER_CUDA_SWITCH_FLOAT(grad_input.dtype(), "avg_pool2d backward",
                          avg_pool_backward_kernel<T><<<grid_for(grad_input.numel()), kThreads, 0, stream_of(grad_input)>>>(
                              ptr<T>(grad_input), ptr<const T>(grad_out), g, p));
  check_launch("avg_pool2d backward");
}

}  // namespace ember::cuda
