// Batch normalization on contiguous [N, C, S] tensors, fused: statistics in one pass (sums shifted
// by a value of each channel; two more, mean then squared deviations, for a channel the shift does
// not suit), the affine map in one, and the backward in two (per-channel sums of dy and
// dy * (x - mean) together, then dx). The composite version it replaces made a
// dozen passes and as many temporaries. With a ReLU after it (batch_norm_relu), the ReLU rides
// along: applied as the output is written, which saves a pass over the activations; and its mask
// recomputed inside the two backward passes from the input they read anyway (with the forward's
// own arithmetic, so the same bits), which saves reading the output: three tensors read instead of
// four in the backward's second pass, two instead of three in its first.
//
// Channels are the unit of parallel work and every channel sums in a fixed order, so results do
// not depend on the thread count. Sums run in 16 independent lanes of T per row (which the
// compiler vectorizes) and add up in double across rows.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/backend/cpu/batch_norm_elements.h"
#include "core/backend/cpu/channel_passes.h"
#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/max_pool_plane.h"
#include "core/backend/cpu/strided_loop.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

template <class T, bool Relu>
void apply(const Dims& d, T* out, const T* x, const T* mean, const T* scale, const T* shift) {
  channel_map<T>(d, out, [=](int64_t ch, int64_t r) {
    const T* xr = x + r * d.s;
    const T mean_c = mean[ch], scale_c = scale[ch], shift_c = shift[ch];
    return [=](int64_t j) { return activation<T, Relu>(xr[j], mean_c, scale_c, shift_c); };
  });
}

// Where the backward reads its incoming gradient, a row at a time: grad_out itself (DenseGrad),
// or, behind a fused 2x2 max pool, the pool's gradient scattered by its indices into a plane-sized
// buffer of the calling thread (PooledGrad: max_pool2d_backward's own max_pool_backward_plane, so
// the same values) — which the dense gradient never round-trips through memory. A row stays valid
// until the thread's next. Two types, not one with a branch: the [N, C] passes fetch a row per
// element, and only a plain pointer offset there lets them vectorize (the branch and the
// thread-local buffer behind it made the mlp's batch norm backward ten times slower).
template <class T>
struct DenseGrad {
  const T* dy;  // [N, C, S]
  int64_t s;
  const T* row(int64_t r) const { return dy + r * s; }
};

template <class T>
struct PooledGrad {
  const T* pooled;  // [N, C, P], each entry's window maximum at indices' offset in its row
  const int64_t* indices;
  int64_t s, p;
  const T* row(int64_t r) const {
    thread_local std::vector<T> plane;
    plane.resize(static_cast<size_t>(s));
    max_pool_2x2_backward_plane(plane.data(), s, pooled + r * p, indices + r * p, p);
    return plane.data();
  }
};

}  // namespace

void CpuBackend::batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& input) {
  visit_float(input.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    Dims d = dims_of(input);
    const T* x = static_cast<const T*>(input.data());
    const double count = static_cast<double>(d.n * d.s);
    T* m = static_cast<T*>(mean.data());
    T* v = static_cast<T*>(var.data());
    // One pass over the data: sums of (x - K) and (x - K)^2 with K a value of the channel (its
    // first), then var = E[(x-K)^2] - E[x-K]^2, which cancels at most ~16 ulp of the sums while
    // the mean lies within 4 spreads of K. A channel where it does not (an outlier first, whose
    // subtraction also rounds away the others' low bits) is summed again as before the shift
    // existed: its mean, then its variance around that mean.
    std::vector<T> shift(static_cast<size_t>(d.c));
    for (int64_t ch = 0; ch < d.c; ++ch) shift[ch] = d.n * d.s > 0 ? x[ch * d.s] : T(0);
    const T* k = shift.data();
    std::vector<double> s1(static_cast<size_t>(d.c)), s2(static_cast<size_t>(d.c));
    channel_sums<T, 2>(d, {s1.data(), s2.data()}, [x, k, d](int64_t ch, int64_t r) {
      const T *xr = x + r * d.s, kc = k[ch];
      return [xr, kc](int64_t j) {
        T dev = xr[j] - kc;
        return std::array<T, 2>{dev, dev * dev};
      };
    });
    std::vector<char> redo(static_cast<size_t>(d.c));
    bool any = false;
    for (int64_t ch = 0; ch < d.c; ++ch) {
      double offset = s1[ch] / count, spread = s2[ch] / count - offset * offset;
      m[ch] = static_cast<T>(static_cast<double>(k[ch]) + offset);
      v[ch] = static_cast<T>(std::max(spread, 0.0));
      redo[ch] = !(offset * offset <= 16 * spread);  // also NaN and inf
      any = any || redo[ch];
    }
    if (!any) return;
    channel_sums<T, 1>(d, {s1.data()}, [x, d](int64_t, int64_t r) {
      const T* xr = x + r * d.s;
      return [xr](int64_t j) { return std::array<T, 1>{xr[j]}; };
    });
    for (int64_t ch = 0; ch < d.c; ++ch)
      if (redo[ch]) m[ch] = static_cast<T>(s1[ch] / count);
    channel_sums<T, 1>(d, {s2.data()}, [x, m, d](int64_t ch, int64_t r) {
      const T *xr = x + r * d.s, mc = m[ch];
      return [xr, mc](int64_t j) {
        T dev = xr[j] - mc;
        return std::array<T, 1>{dev * dev};
      };
    });
    for (int64_t ch = 0; ch < d.c; ++ch)
      if (redo[ch]) v[ch] = static_cast<T>(s2[ch] / count);
  });
}

namespace {

// y = (x - mean) * (invstd * w) + b (relu'd with Relu).
template <bool Relu>
void apply_tensors(const Tensor& out, const Tensor& input, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                   const Tensor& bias) {
  visit_float(input.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    Dims d = dims_of(input);
    Affine<T> affine(d.c, invstd, weight, bias);
    apply<T, Relu>(d, static_cast<T*>(out.data()), static_cast<const T*>(input.data()), optional_data<T>(mean),
                   affine.scale.data(), affine.shift.data());
  });
}

// The backward's two passes, reading the incoming gradient from `grads` (DenseGrad or PooledGrad).
template <class T, bool Gated, class Grads>
void backward_rows(const Dims& d, const Grads& grads, const Tensor& grad_input, const Tensor& grad_weight,
                   const Tensor& grad_bias, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                   const Tensor& weight, const Tensor& bias, bool training) {
  const T* x = optional_data<T>(input);
  const T *m = optional_data<T>(mean), *is = optional_data<T>(invstd), *w = optional_data<T>(weight);
  Affine<T> affine(Gated ? d.c : 0, invstd, weight, bias);
  const T *norm_scale = affine.scale.data(), *norm_shift = affine.shift.data();
  // Row r's terms: its input, centring mean, gradient, and (Gated) the affine map that gates it.
  auto row_terms = [=](int64_t ch, int64_t r) {
    struct Row {
      const T *x, *dy;
      T mean, scale, shift;
    };
    return Row{x + r * d.s, grads.row(r), m[ch], Gated ? norm_scale[ch] : T(0), Gated ? norm_shift[ch] : T(0)};
  };
  std::vector<double> sum_dy(static_cast<size_t>(d.c)), sum_dy_xmu(static_cast<size_t>(d.c));
  channel_sums<T, 2>(d, {sum_dy.data(), sum_dy_xmu.data()}, [=](int64_t ch, int64_t r) {
    const auto row = row_terms(ch, r);
    return [row](int64_t j) {
      const T centred = row.x[j] - row.mean;
      T g = gated<T, Gated>(row.dy[j], centred, row.scale, row.shift);
      return std::array<T, 2>{g, g * centred};
    };
  });
  if (grad_weight.defined()) {
    T* gw = static_cast<T*>(grad_weight.data());
    for (int64_t ch = 0; ch < d.c; ++ch) gw[ch] = static_cast<T>(sum_dy_xmu[ch] * is[ch]);
  }
  if (grad_bias.defined()) {
    T* gb = static_cast<T*>(grad_bias.data());
    for (int64_t ch = 0; ch < d.c; ++ch) gb[ch] = static_cast<T>(sum_dy[ch]);
  }
  if (!grad_input.defined()) return;
  // dx = scale * (dy - [training] (mean(dy) + (x - mean) * invstd^2 * mean(dy * (x - mean))))
  //    = a * (x - mean) + b * dy + k, per channel.
  const double count = static_cast<double>(d.n * d.s);
  std::vector<T> a(static_cast<size_t>(d.c)), b(static_cast<size_t>(d.c)), k(static_cast<size_t>(d.c));
  for (int64_t ch = 0; ch < d.c; ++ch) {
    double inv = static_cast<double>(is[ch]), scale = inv * (w ? static_cast<double>(w[ch]) : 1.0);
    a[ch] = static_cast<T>(training ? -scale * inv * inv * sum_dy_xmu[ch] / count : 0.0);
    b[ch] = static_cast<T>(scale);
    k[ch] = static_cast<T>(training ? -scale * sum_dy[ch] / count : 0.0);
  }
  const T *ap = a.data(), *bp = b.data(), *kp = k.data();
  channel_map<T>(d, static_cast<T*>(grad_input.data()), [=](int64_t ch, int64_t r) {
    const auto row = row_terms(ch, r);
    const T ac = ap[ch], bc = bp[ch], kc = kp[ch];
    return [row, ac, bc, kc](int64_t j) {
      const T centred = row.x[j] - row.mean;
      return ac * centred + bc * gated<T, Gated>(row.dy[j], centred, row.scale, row.shift) + kc;
    };
  });
}

// The backward for grad_out (Gated: through the ReLU that followed, with `bias` the forward's).
// With pool_indices, grad_out is the gradient of a 2x2 max pool of the ReLU's output instead,
// [N, C, P] with those indices (batch_norm_relu_max_pool2x2's backward).
template <bool Gated>
void backward_tensors(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_out,
                      const Tensor& pool_indices, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                      const Tensor& weight, const Tensor& bias, bool training) {
  visit_float(input.dtype(), "batch_norm backward", [&](auto tag) {
    using T = decltype(tag);
    Dims d = dims_of(input);
    if (pool_indices.defined()) {
      const int64_t p = d.n * d.c > 0 ? grad_out.numel() / (d.n * d.c) : 0;
      backward_rows<T, Gated>(d, PooledGrad<T>{optional_data<T>(grad_out), static_cast<const int64_t*>(pool_indices.data()), d.s, p},
                              grad_input, grad_weight, grad_bias, input, mean, invstd, weight, bias, training);
    } else {
      backward_rows<T, Gated>(d, DenseGrad<T>{optional_data<T>(grad_out), d.s}, grad_input, grad_weight, grad_bias, input, mean,
                              invstd, weight, bias, training);
    }
  });
}


}  // namespace

void CpuBackend::batch_norm_apply(const Tensor& out, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                  const Tensor& weight, const Tensor& bias) {
  apply_tensors<false>(out, input, mean, invstd, weight, bias);
}

void CpuBackend::batch_norm_apply_relu(const Tensor& out, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                       const Tensor& weight, const Tensor& bias) {
  apply_tensors<true>(out, input, mean, invstd, weight, bias);
}

void CpuBackend::batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                                     const Tensor& grad_out, const Tensor& input, const Tensor& mean,
                                     const Tensor& invstd, const Tensor& weight, bool training) {
  backward_tensors<false>(grad_input, grad_weight, grad_bias, grad_out, Tensor(), input, mean, invstd, weight, Tensor(), training);
}

void CpuBackend::batch_norm_relu_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                                          const Tensor& grad_out, const Tensor&, const Tensor& input,
                                          const Tensor& mean, const Tensor& invstd, const Tensor& weight, const Tensor& bias,
                                          bool training) {
  // The mask is recomputed from the input (see the top of this file): the output is not read.
  backward_tensors<true>(grad_input, grad_weight, grad_bias, grad_out, Tensor(), input, mean, invstd, weight, bias, training);
}

// The pool's gradient feeds the batch norm's two passes directly, expanded a plane at a time in
// cache (GradRows): the dense gradient of the activations is never written or read.
void CpuBackend::batch_norm_relu_max_pool2x2_backward(const Tensor& grad_input, const Tensor& grad_weight,
                                                      const Tensor& grad_bias, const Tensor& grad_pooled,
                                                      const Tensor& indices, const Tensor&, const Tensor& input,
                                                      const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                                                      const Tensor& bias, bool training) {
  const int64_t n = input.size(0), c = input.size(1), s = input.size(2) * input.size(3);
  backward_tensors<true>(grad_input.defined() ? grad_input.view({n, c, s}) : Tensor(), grad_weight, grad_bias, grad_pooled,
                         indices, input.view({n, c, s}), mean, invstd, weight, bias, training);
}

// Each plane pooled as its activations are computed, with apply's own arithmetic (this file's
// -ffp-contract=off included), so pooled values and indices are the two ops' bits while the
// activations are never written: a pass over them fewer each way, and no tensor of their size.
void CpuBackend::batch_norm_relu_max_pool2x2(const Tensor& pooled, const Tensor& indices, const Tensor& output,
                                             const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                             const Tensor& weight, const Tensor& bias) {
  if (output.defined()) return Backend::batch_norm_relu_max_pool2x2(pooled, indices, output, input, mean, invstd, weight, bias);
  visit_float(input.dtype(), "batch_norm_relu_max_pool2x2", [&](auto tag) {
    using T = decltype(tag);
    const int64_t c = input.size(1), h = input.size(2), w = input.size(3), oh = pooled.size(2), ow = pooled.size(3);
    Affine<T> affine(c, invstd, weight, bias);
    const T *x = static_cast<const T*>(input.data()), *m = optional_data<T>(mean);
    const T *scale = affine.scale.data(), *shift = affine.shift.data();
    T* out = static_cast<T*>(pooled.data());
    int64_t* idx = static_cast<int64_t*>(indices.data());
    parallel_for(0, input.size(0) * c, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        const int64_t ch = plane % c;
        const T mean_c = m[ch], scale_c = scale[ch], shift_c = shift[ch];
        max_pool_2x2_plane(x + plane * h * w, w, oh, ow, out + plane * oh * ow, idx + plane * oh * ow,
                           [=](T v) { return activation<T, true>(v, mean_c, scale_c, shift_c); });
      }
    });
  });
}

}  // namespace ember::cpu
