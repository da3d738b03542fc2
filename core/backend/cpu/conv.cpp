// 2-D convolution as im2col + GEMM, one sample at a time.
//
// For sample b and group g: col [C/g*KH*KW, OH*OW] holds the sample's input patches,
// W_g [OC/g, C/g*KH*KW], and
//   forward:         Y_b,g = W_g   @ col     -> written straight into out[b, g*OC/g:, :] (NCHW)
//   backward input:  dcol  = W_g^T @ dY_b,g  -> col2im into grad_input[b]
//   backward weight: dW_g += dY_b,g @ col^T
// A sample's col (288 x 196 floats for the cnn's second layer: 225 KB) stays in cache, and the
// products write NCHW directly: the whole-batch layout had a 29 MB col and two reordering copies
// per pass. Samples are split into one chunk per thread (sample_chunks), each with its own scratch.
#include <vector>

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

// The batch split into at most get_num_threads() chunks of consecutive samples, f(chunk, b0, b1)
// each on one thread with its own scratch: the split, and so every sum, depends only on the
// shapes and the thread count.
int64_t sample_chunks(int64_t n) { return std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), n)); }

template <class F>
void for_each_sample_chunk(int64_t n, int64_t chunks, const F& f) {
  parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) f(c, n * c / chunks, n * (c + 1) / chunks);
  });
}

template <class T>
void forward(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
             const Conv2dParams& p) {
  Geometry g = geometry(input, weight, out, p.groups), one = g;
  one.n = 1;
  const int64_t ohw = g.oh * g.ow, in_plane = g.c * g.h * g.w;
  const T *x = static_cast<const T*>(input.data()), *w = static_cast<const T*>(weight.data());
  const T* bv = bias.defined() ? static_cast<const T*>(bias.data()) : nullptr;
  T* o = static_cast<T*>(out.data());
  for_each_sample_chunk(g.n, sample_chunks(g.n), [&](int64_t, int64_t b0, int64_t b1) {
    Scratch<T> col(one.patch(), ohw);
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t group = 0; group < g.groups; ++group) {
        im2col(x + b * in_plane, one, p, group, col.data());
        gemm<T>(false, false, g.ocg(), ohw, g.patch(), w + group * g.ocg() * g.patch(), g.patch(), col.data(), ohw,
                o + (b * g.oc + group * g.ocg()) * ohw, ohw);
      }
      if (bv)
        for (int64_t k = 0; k < g.oc; ++k) {
          T* row = o + (b * g.oc + k) * ohw;
          for (int64_t i = 0; i < ohw; ++i) row[i] += bv[k];
        }
    }
  });
}

template <class T>
void backward_input(const Tensor& grad_input, const Tensor& grad_out, const Tensor& weight,
                    const Conv2dParams& p) {
  Geometry g = geometry(grad_input, weight, grad_out, p.groups), one = g;
  one.n = 1;
  const int64_t ohw = g.oh * g.ow, in_plane = g.c * g.h * g.w;
  const T *dy = static_cast<const T*>(grad_out.data()), *w = static_cast<const T*>(weight.data());
  T* gi = static_cast<T*>(grad_input.data());
  for_each_sample_chunk(g.n, sample_chunks(g.n), [&](int64_t, int64_t b0, int64_t b1) {
    Scratch<T> dcol(one.patch(), ohw);
    for (int64_t b = b0; b < b1; ++b) {
      std::fill(gi + b * in_plane, gi + (b + 1) * in_plane, T(0));
      for (int64_t group = 0; group < g.groups; ++group) {
        gemm<T>(true, false, g.patch(), ohw, g.ocg(), w + group * g.ocg() * g.patch(), g.patch(),
                dy + (b * g.oc + group * g.ocg()) * ohw, ohw, dcol.data(), ohw);
        col2im(dcol.data(), one, p, group, gi + b * in_plane);
      }
    }
  });
}

// dW = sum over samples of dY_b col_b^T: each chunk accumulates its samples in order (into
// grad_weight for the first chunk, a partial for the others), then the partials are added in
// chunk order.
template <class T>
void backward_weight(const Tensor& grad_weight, const Tensor& grad_out, const Tensor& input,
                     const Conv2dParams& p) {
  Geometry g = geometry(input, grad_weight, grad_out, p.groups), one = g;
  one.n = 1;
  const int64_t ohw = g.oh * g.ow, in_plane = g.c * g.h * g.w, wsize = g.oc * g.patch();
  const T *dy = static_cast<const T*>(grad_out.data()), *x = static_cast<const T*>(input.data());
  T* gw = static_cast<T*>(grad_weight.data());
  if (g.n == 0) return std::fill(gw, gw + wsize, T(0));
  const int64_t chunks = sample_chunks(g.n);
  std::vector<Storage> partials(static_cast<size_t>(chunks));
  for (int64_t c = 1; c < chunks; ++c) partials[c] = Storage::allocate(static_cast<size_t>(wsize) * sizeof(T));
  for_each_sample_chunk(g.n, chunks, [&](int64_t c, int64_t b0, int64_t b1) {
    T* target = c == 0 ? gw : static_cast<T*>(partials[c].data());
    Scratch<T> col(one.patch(), ohw);
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t group = 0; group < g.groups; ++group) {
        im2col(x + b * in_plane, one, p, group, col.data());
        gemm<T>(false, true, g.ocg(), g.patch(), ohw, dy + (b * g.oc + group * g.ocg()) * ohw, ohw, col.data(), ohw,
                target + group * g.ocg() * g.patch(), g.patch(), /*accumulate=*/b != b0);
      }
  });
  for (int64_t c = 1; c < chunks; ++c) {
    const T* part = static_cast<const T*>(partials[c].data());
    for (int64_t i = 0; i < wsize; ++i) gw[i] += part[i];
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
