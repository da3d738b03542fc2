// 2-D convolution as im2col + GEMM, one sample at a time; float32 layers with enough channels go
// to oneDNN's direct kernels first when the build has them (onednn_conv.h).
//
// For sample b and group g: col [C/g*KH*KW, OH*OW] holds the sample's input patches
// (patch_matrix.h), W_g [OC/g, C/g*KH*KW], and
//   forward:         Y_b,g = W_g   @ col     -> written straight into out[b, g*OC/g:, :] (NCHW)
//   backward input:  dcol  = W_g^T @ dY_b,g  -> scattered (col2im) into grad_input[b]
//   backward weight: dW_g += dY_b,g @ col^T   (and the bias gradient: dY_b's rows summed)
// A sample's col (288 x 196 floats for the cnn's second layer: 225 KB) stays in cache, and the
// products write NCHW directly: the whole-batch layout had a 29 MB col and two reordering copies
// per pass. Samples are split into one chunk per thread (sample_chunks), each with its own scratch.
#include <algorithm>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/gemm.h"
#include "core/backend/cpu/onednn_conv.h"
#include "core/backend/cpu/patch_matrix.h"
#include "core/backend/cpu/strided_loop.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

ConvGeometry geometry(const Tensor& input, const Tensor& weight, const Tensor& out, int64_t groups) {
  return {input.size(0), input.size(1), input.size(2), input.size(3), weight.size(0),
          weight.size(2), weight.size(3), out.size(2), out.size(3), groups};
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
  ConvGeometry g = geometry(input, weight, out, p.groups);
  const int64_t ohw = g.ohw(), in_plane = g.c * g.h * g.w;
  const T *x = static_cast<const T*>(input.data()), *w = static_cast<const T*>(weight.data());
  const T* bv = bias.defined() ? static_cast<const T*>(bias.data()) : nullptr;
  T* o = static_cast<T*>(out.data());
  for_each_sample_chunk(g.n, sample_chunks(g.n), [&](int64_t, int64_t b0, int64_t b1) {
    PatchMatrix<T> col(g, p);
    for (int64_t b = b0; b < b1; ++b) {
      // With a bias, the output starts as the bias and the product accumulates onto it: one pass
      // over the output instead of the GEMM's zeroing (BLAS clears C when beta = 0) and a second
      // pass adding the bias.
      if (bv)
        for (int64_t k = 0; k < g.oc; ++k) std::fill_n(o + (b * g.oc + k) * ohw, ohw, bv[k]);
      for (int64_t group = 0; group < g.groups; ++group) {
        col.gather(x + b * in_plane, group);
        gemm<T>(false, false, g.ocg(), ohw, g.patch(), w + group * g.ocg() * g.patch(), g.patch(), col.data(), ohw,
                o + (b * g.oc + group * g.ocg()) * ohw, ohw, /*accumulate=*/bv != nullptr);
      }
    }
  });
}

template <class T>
void backward_input(const Tensor& grad_input, const Tensor& grad_out, const Tensor& weight,
                    const Conv2dParams& p) {
  ConvGeometry g = geometry(grad_input, weight, grad_out, p.groups);
  const int64_t ohw = g.ohw(), in_plane = g.c * g.h * g.w;
  const T *dy = static_cast<const T*>(grad_out.data()), *w = static_cast<const T*>(weight.data());
  T* gi = static_cast<T*>(grad_input.data());
  for_each_sample_chunk(g.n, sample_chunks(g.n), [&](int64_t, int64_t b0, int64_t b1) {
    PatchMatrix<T> dcol(g, p);
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t group = 0; group < g.groups; ++group) {
        gemm<T>(true, false, g.patch(), ohw, g.ocg(), w + group * g.ocg() * g.patch(), g.patch(),
                dy + (b * g.oc + group * g.ocg()) * ohw, ohw, dcol.data(), ohw);
        dcol.scatter(gi + b * in_plane, group);
      }
  });
}

// Row r of dY_b summed in double lanes (as reduce sums floats), added to sums[r]: the bias's
// gradient, taken while the GEMM has the sample's dY in cache.
template <class T>
void add_row_sums(const T* rows, int64_t count, int64_t length, double* sums) {
  constexpr int64_t kLanes = 16;
  for (int64_t r = 0; r < count; ++r) {
    const T* row = rows + r * length;
    double lanes[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= length; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += static_cast<double>(row[i + l]);
    double total = 0;
    for (int64_t l = 0; l < kLanes; ++l) total += lanes[l];
    for (; i < length; ++i) total += static_cast<double>(row[i]);
    sums[r] += total;
  }
}

// dW = sum over samples of dY_b col_b^T: each chunk accumulates its samples in order (into
// grad_weight for the first chunk, a partial for the others), then the partials are added in
// chunk order. With grad_bias, each chunk also sums its samples' dY rows (in double), and those
// are added in chunk order too.
template <class T>
void backward_weight(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_out, const Tensor& input,
                     const Conv2dParams& p) {
  ConvGeometry g = geometry(input, grad_weight, grad_out, p.groups);
  const int64_t ohw = g.ohw(), in_plane = g.c * g.h * g.w, wsize = g.oc * g.patch();
  const T *dy = static_cast<const T*>(grad_out.data()), *x = static_cast<const T*>(input.data());
  T* gw = static_cast<T*>(grad_weight.data());
  T* gb = grad_bias.defined() ? static_cast<T*>(grad_bias.data()) : nullptr;
  if (gb) std::fill(gb, gb + g.oc, T(0));
  if (g.n == 0) return std::fill(gw, gw + wsize, T(0));
  const int64_t chunks = sample_chunks(g.n);
  std::vector<Storage> partials(static_cast<size_t>(chunks));
  for (int64_t c = 1; c < chunks; ++c) partials[c] = Storage::allocate(static_cast<size_t>(wsize) * sizeof(T));
  std::vector<double> bias_sums(gb ? static_cast<size_t>(chunks * g.oc) : 0, 0.0);
  for_each_sample_chunk(g.n, chunks, [&](int64_t c, int64_t b0, int64_t b1) {
    T* target = c == 0 ? gw : static_cast<T*>(partials[c].data());
    PatchMatrix<T> col(g, p);
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t group = 0; group < g.groups; ++group) {
        col.gather(x + b * in_plane, group);
        gemm<T>(false, true, g.ocg(), g.patch(), ohw, dy + (b * g.oc + group * g.ocg()) * ohw, ohw, col.data(), ohw,
                target + group * g.ocg() * g.patch(), g.patch(), /*accumulate=*/b != b0);
      }
      if (gb) add_row_sums(dy + b * g.oc * ohw, g.oc, ohw, bias_sums.data() + c * g.oc);
    }
  });
  for (int64_t c = 1; c < chunks; ++c) {
    const T* part = static_cast<const T*>(partials[c].data());
    for (int64_t i = 0; i < wsize; ++i) gw[i] += part[i];
  }
  if (gb)
    for (int64_t k = 0; k < g.oc; ++k) {
      double total = 0;
      for (int64_t c = 0; c < chunks; ++c) total += bias_sums[static_cast<size_t>(c * g.oc + k)];
      gb[k] = static_cast<T>(total);
    }
}

}  // namespace

void CpuBackend::conv2d(const Tensor& out, const Tensor& input, const Tensor& weight,
                        const Tensor& bias, const Conv2dParams& p) {
  if (onednn_conv2d(out, input, weight, bias, p)) return;
  visit_float(out.dtype(), "conv2d", [&](auto tag) { forward<decltype(tag)>(out, input, weight, bias, p); });
}

void CpuBackend::conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out,
                                       const Tensor& weight, const Conv2dParams& p) {
  if (onednn_conv2d_backward_input(grad_input, grad_out, weight, p)) return;
  visit_float(grad_input.dtype(), "conv2d backward", [&](auto tag) {
    backward_input<decltype(tag)>(grad_input, grad_out, weight, p);
  });
}

void CpuBackend::conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_out,
                                        const Tensor& input, const Conv2dParams& p) {
  if (onednn_conv2d_backward_weight(grad_weight, Tensor(), grad_out, input, p)) return;
  visit_float(grad_weight.dtype(), "conv2d backward", [&](auto tag) {
    backward_weight<decltype(tag)>(grad_weight, Tensor(), grad_out, input, p);
  });
}

void CpuBackend::conv2d_backward_weight_bias(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_out,
                                             const Tensor& input, const Conv2dParams& p) {
  if (onednn_conv2d_backward_weight(grad_weight, grad_bias, grad_out, input, p)) return;
  visit_float(grad_weight.dtype(), "conv2d backward", [&](auto tag) {
    backward_weight<decltype(tag)>(grad_weight, grad_bias, grad_out, input, p);
  });
}

}  // namespace ember::cpu
