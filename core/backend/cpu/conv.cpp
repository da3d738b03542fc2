// 2-D convolution as im2col + one GEMM per group over the whole batch.
//
// For group g: col [C/g*KH*KW, N*OH*OW] holds the input patches, W_g [OC/g, C/g*KH*KW], and
//   forward:         Y_g  = W_g   @ col      -> out[n, g*OC/g + o, p]
//   backward input:  dcol = W_g^T @ dY_g     -> col2im, summed into grad_input
//   backward weight: dW_g = dY_g  @ col^T
// One large GEMM (cpu::gemm: OpenBLAS or Eigen) keeps the engine's blocking efficient and lets it
// use every thread.
#include <algorithm>

#include <Eigen/Core>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/gemm.h"
#include "core/backend/cpu/strided_loop.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapMat = Eigen::Map<Mat<T>>;

// A rows x cols scratch matrix from ember's caching allocator (Eigen's own would fault in fresh
// pages on every call).
template <class T>
struct Scratch {
  Storage storage;
  MapMat<T> m;
  Scratch(int64_t rows, int64_t cols)
      : storage(Storage::allocate(static_cast<size_t>(rows * cols) * sizeof(T))),
        m(static_cast<T*>(storage.data()), rows, cols) {}
  T* data() { return m.data(); }
};

struct Geometry {
  int64_t n, c, h, w, oc, kh, kw, oh, ow, groups;
  int64_t cg() const { return c / groups; }
  int64_t ocg() const { return oc / groups; }
  int64_t patch() const { return cg() * kh * kw; }  // rows of col
  int64_t cols() const { return n * oh * ow; }
};

Geometry geometry(const Tensor& input, const Tensor& weight, const Tensor& out, int64_t groups) {
  return {input.size(0), input.size(1), input.size(2), input.size(3), weight.size(0),
          weight.size(2), weight.size(3), out.size(2), out.size(3), groups};
}

// The output columns x whose input column x * stride - pad + k * dilation lies inside [0, w):
// [lo, hi). Inner loops then run without bounds checks (and vectorize at stride 1).
struct Span {
  int64_t lo, hi, offset;  // input column = x * stride + offset
};
Span valid_span(int64_t k, int64_t stride, int64_t pad, int64_t dilation, int64_t in, int64_t out) {
  auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  int64_t offset = k * dilation - pad;
  int64_t lo = std::max<int64_t>(0, ceil_div(-offset, stride)), hi = std::min(out, ceil_div(in - offset, stride));
  return {lo, std::max(lo, hi), offset};
}

// col[row, n*OH*OW + p] = input patch value (0 in the padding), for the channels of group g.
template <class T>
void im2col(const T* in, const Geometry& g, const Conv2dParams& p, int64_t group, T* col) {
  const int64_t ohw = g.oh * g.ow;
  parallel_for(0, g.patch(), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      int64_t c = row / (g.kh * g.kw), ki = (row / g.kw) % g.kh, kj = row % g.kw;
      Span ys = valid_span(ki, p.stride_h, p.pad_h, p.dilation_h, g.h, g.oh);
      Span xs = valid_span(kj, p.stride_w, p.pad_w, p.dilation_w, g.w, g.ow);
      T* dst = col + row * g.cols();
      for (int64_t b = 0; b < g.n; ++b) {
        const T* plane = in + ((b * g.c) + group * g.cg() + c) * g.h * g.w;
        T* out_plane = dst + b * ohw;
        std::fill(out_plane, out_plane + ys.lo * g.ow, T(0));
        for (int64_t y = ys.lo; y < ys.hi; ++y) {
          const T* src = plane + (y * p.stride_h + ys.offset) * g.w + xs.offset;
          T* out_row = out_plane + y * g.ow;
          std::fill(out_row, out_row + xs.lo, T(0));
          if (p.stride_w == 1)
            std::copy(src + xs.lo, src + xs.hi, out_row + xs.lo);
          else
            for (int64_t x = xs.lo; x < xs.hi; ++x) out_row[x] = src[x * p.stride_w];
          std::fill(out_row + xs.hi, out_row + g.ow, T(0));
        }
        std::fill(out_plane + ys.hi * g.ow, out_plane + ohw, T(0));
      }
    }
  });
}

// grad_input[b, c, :, :] += every col entry that reads it; one thread per (b, c) plane.
template <class T>
void col2im(const T* col, const Geometry& g, const Conv2dParams& p, int64_t group, T* grad_in) {
  const int64_t ohw = g.oh * g.ow;
  parallel_for(0, g.n * g.cg(), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t plane_id = lo; plane_id < hi; ++plane_id) {
      int64_t b = plane_id / g.cg(), c = plane_id % g.cg();
      T* plane = grad_in + ((b * g.c) + group * g.cg() + c) * g.h * g.w;
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        Span ys = valid_span(ki, p.stride_h, p.pad_h, p.dilation_h, g.h, g.oh);
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          Span xs = valid_span(kj, p.stride_w, p.pad_w, p.dilation_w, g.w, g.ow);
          const T* src = col + ((c * g.kh + ki) * g.kw + kj) * g.cols() + b * ohw;
          for (int64_t y = ys.lo; y < ys.hi; ++y) {
            T* dst = plane + (y * p.stride_h + ys.offset) * g.w + xs.offset;
            const T* src_row = src + y * g.ow;
            if (p.stride_w == 1)
              for (int64_t x = xs.lo; x < xs.hi; ++x) dst[x] += src_row[x];
            else
              for (int64_t x = xs.lo; x < xs.hi; ++x) dst[x * p.stride_w] += src_row[x];
          }
        }
      }
    }
  });
}

// Moves between [N, OC, P] (NCHW) and the group's [OC/g, N*P] GEMM layout.
template <class T>
void to_gemm_layout(const T* nchw, const Geometry& g, int64_t group, T* gemm) {
  const int64_t ohw = g.oh * g.ow;
  parallel_for(0, g.ocg() * g.n, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      int64_t o = k / g.n, b = k % g.n;
      const T* src = nchw + (b * g.oc + group * g.ocg() + o) * ohw;
      std::copy(src, src + ohw, gemm + o * g.cols() + b * ohw);
    }
  });
}
template <class T>
void from_gemm_layout(const T* gemm, const Geometry& g, int64_t group, T* nchw) {
  const int64_t ohw = g.oh * g.ow;
  parallel_for(0, g.ocg() * g.n, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      int64_t o = k / g.n, b = k % g.n;
      const T* src = gemm + o * g.cols() + b * ohw;
      std::copy(src, src + ohw, nchw + (b * g.oc + group * g.ocg() + o) * ohw);
    }
  });
}

template <class T>
void forward(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
             const Conv2dParams& p) {
  Geometry g = geometry(input, weight, out, p.groups);
  Scratch<T> col(g.patch(), g.cols()), y(g.ocg(), g.cols());
  const T* w = static_cast<const T*>(weight.data());
  for (int64_t group = 0; group < g.groups; ++group) {
    im2col(static_cast<const T*>(input.data()), g, p, group, col.data());
    gemm<T>(false, false, g.ocg(), g.cols(), g.patch(), w + group * g.ocg() * g.patch(), g.patch(), col.data(), g.cols(), y.data(),
            g.cols());
    from_gemm_layout(y.data(), g, group, static_cast<T*>(out.data()));
  }
  if (bias.defined()) {
    const T* bv = static_cast<const T*>(bias.data());
    T* o = static_cast<T*>(out.data());
    const int64_t ohw = g.oh * g.ow;
    parallel_for(0, g.n * g.oc, 8, [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k)
        for (int64_t i = 0; i < ohw; ++i) o[k * ohw + i] += bv[k % g.oc];
    });
  }
}

template <class T>
void backward_input(const Tensor& grad_input, const Tensor& grad_out, const Tensor& weight,
                    const Conv2dParams& p) {
  Geometry g = geometry(grad_input, weight, grad_out, p.groups);
  Scratch<T> dy(g.ocg(), g.cols()), dcol(g.patch(), g.cols());
  T* gi = static_cast<T*>(grad_input.data());
  std::fill(gi, gi + grad_input.numel(), T(0));
  const T* w = static_cast<const T*>(weight.data());
  for (int64_t group = 0; group < g.groups; ++group) {
    to_gemm_layout(static_cast<const T*>(grad_out.data()), g, group, dy.data());
    gemm<T>(true, false, g.patch(), g.cols(), g.ocg(), w + group * g.ocg() * g.patch(), g.patch(), dy.data(), g.cols(), dcol.data(),
            g.cols());
    col2im(dcol.data(), g, p, group, gi);
  }
}

template <class T>
void backward_weight(const Tensor& grad_weight, const Tensor& grad_out, const Tensor& input,
                     const Conv2dParams& p) {
  Geometry g = geometry(input, grad_weight, grad_out, p.groups);
  Scratch<T> dy(g.ocg(), g.cols()), col(g.patch(), g.cols());
  T* gw = static_cast<T*>(grad_weight.data());
  for (int64_t group = 0; group < g.groups; ++group) {
    to_gemm_layout(static_cast<const T*>(grad_out.data()), g, group, dy.data());
    im2col(static_cast<const T*>(input.data()), g, p, group, col.data());
    gemm<T>(false, true, g.ocg(), g.patch(), g.cols(), dy.data(), g.cols(), col.data(), g.cols(), gw + group * g.ocg() * g.patch(),
            g.patch());
  }
}


}  // namespace

void CpuBackend::conv2d(const Tensor& out, const Tensor& input, const Tensor& weight,
                        const Tensor& bias, const Conv2dParams& p) {
  visit_float(out.dtype(), "conv2d", [&](auto tag) { forward<decltype(tag)>(out, input, weight, bias, p); });
}

void CpuBackend::conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out,
                                       const Tensor& weight, const Conv2dParams& p) {
  visit_float(grad_input.dtype(), "conv2d backward", [&](auto tag) {
    backward_input<decltype(tag)>(grad_input, grad_out, weight, p);
  });
}

void CpuBackend::conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_out,
                                        const Tensor& input, const Conv2dParams& p) {
  visit_float(grad_weight.dtype(), "conv2d backward", [&](auto tag) {
    backward_weight<decltype(tag)>(grad_weight, grad_out, input, p);
  });
}

}  // namespace ember::cpu
