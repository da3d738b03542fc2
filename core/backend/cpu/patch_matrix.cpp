#include "core/backend/cpu/patch_matrix.h"

#include <algorithm>
#include <cstring>

namespace ember::cpu {

namespace {

// Runs are copied in whole 64-byte blocks, reading and writing up to a block past their end (a
// 3x3 convolution's runs are 14 or 28 values: one or two vector moves instead of a memcpy call
// each). Writing past the end is harmless because runs are written in increasing address order,
// so the next run overwrites it; both buffers carry one block of slack for the last run.
template <class T>
constexpr int64_t kBlock = 64 / sizeof(T);

template <class T>
inline void copy_run(T* dst, const T* src, int64_t n) {
  for (int64_t i = 0; i < n; i += kBlock<T>) std::memcpy(dst + i, src + i, 64);
}

// The output positions x whose input position x * stride + offset (offset = k * dilation - pad)
// lies in [0, in): [lo, hi).
struct Span {
  int64_t lo, hi, offset;
};
Span valid_span(int64_t k, int64_t stride, int64_t pad, int64_t dilation, int64_t in, int64_t out) {
  auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  int64_t offset = k * dilation - pad;
  int64_t lo = std::max<int64_t>(0, ceil_div(-offset, stride)), hi = std::min(out, ceil_div(in - offset, stride));
  return {lo, std::max(lo, hi), offset};
}

}  // namespace

template <class T>
PatchMatrix<T>::PatchMatrix(const ConvGeometry& g, const Conv2dParams& p)
    : g_(g), p_(p), col_storage_(Storage::allocate(static_cast<size_t>(g.patch() * g.ohw() + kBlock<T>) * sizeof(T))) {
  col_ = static_cast<T*>(col_storage_.data());
  if (padded_path()) {
    padded_storage_ = Storage::allocate(static_cast<size_t>(g.cg() * padded_plane() + kBlock<T>) * sizeof(T));
    padded_ = static_cast<T*>(padded_storage_.data());
  }
}

template <class T>
void PatchMatrix<T>::gather(const T* sample, int64_t group) {
  const int64_t ohw = g_.ohw(), plane = g_.h * g_.w;
  const T* channels = sample + group * g_.cg() * plane;
  if (padded_path()) {
    const int64_t pw = padded_w(), pp = padded_plane();
    if (!borders_zero_) std::fill(padded_, padded_ + g_.cg() * pp + kBlock<T>, T(0));
    borders_zero_ = true;
    for (int64_t c = 0; c < g_.cg(); ++c)
      for (int64_t y = 0; y < g_.h; ++y) {
        const T* src = channels + c * plane + y * g_.w;
        std::copy(src, src + g_.w, padded_ + c * pp + (y + p_.pad_h) * pw + p_.pad_w);
      }
    for (int64_t c = 0; c < g_.cg(); ++c)
      for (int64_t ki = 0; ki < g_.kh; ++ki)
        for (int64_t kj = 0; kj < g_.kw; ++kj) {
          T* row = col_ + ((c * g_.kh + ki) * g_.kw + kj) * ohw;
          const T* base = padded_ + c * pp + ki * p_.dilation_h * pw + kj * p_.dilation_w;
          for (int64_t y = 0; y < g_.oh; ++y) copy_run(row + y * g_.ow, base + y * p_.stride_h * pw, g_.ow);
        }
    return;
  }
  for (int64_t row = 0; row < g_.patch(); ++row) {
    int64_t c = row / (g_.kh * g_.kw), ki = (row / g_.kw) % g_.kh, kj = row % g_.kw;
    Span ys = valid_span(ki, p_.stride_h, p_.pad_h, p_.dilation_h, g_.h, g_.oh);
    Span xs = valid_span(kj, p_.stride_w, p_.pad_w, p_.dilation_w, g_.w, g_.ow);
    const T* in = channels + c * plane;
    T* out = col_ + row * ohw;
    std::fill(out, out + ys.lo * g_.ow, T(0));
    for (int64_t y = ys.lo; y < ys.hi; ++y) {
      const T* src = in + (y * p_.stride_h + ys.offset) * g_.w + xs.offset;
      T* out_row = out + y * g_.ow;
      std::fill(out_row, out_row + xs.lo, T(0));
      for (int64_t x = xs.lo; x < xs.hi; ++x) out_row[x] = src[x * p_.stride_w];
      std::fill(out_row + xs.hi, out_row + g_.ow, T(0));
    }
    std::fill(out + ys.hi * g_.ow, out + ohw, T(0));
  }
}

template <class T>
void PatchMatrix<T>::scatter(T* grad_sample, int64_t group) {
  const int64_t ohw = g_.ohw(), plane = g_.h * g_.w;
  T* channels = grad_sample + group * g_.cg() * plane;
  if (padded_path()) {  // accumulate into the bordered planes, then keep their interiors
    const int64_t pw = padded_w(), pp = padded_plane();
    std::fill(padded_, padded_ + g_.cg() * pp, T(0));
    borders_zero_ = false;  // the borders collect what fell into the padding
    for (int64_t c = 0; c < g_.cg(); ++c)
      for (int64_t ki = 0; ki < g_.kh; ++ki)
        for (int64_t kj = 0; kj < g_.kw; ++kj) {
          const T* row = col_ + ((c * g_.kh + ki) * g_.kw + kj) * ohw;
          T* base = padded_ + c * pp + ki * p_.dilation_h * pw + kj * p_.dilation_w;
          for (int64_t y = 0; y < g_.oh; ++y) {
            T* dst = base + y * p_.stride_h * pw;
            const T* src = row + y * g_.ow;
            for (int64_t x = 0; x < g_.ow; ++x) dst[x] += src[x];
          }
        }
    for (int64_t c = 0; c < g_.cg(); ++c)
      for (int64_t y = 0; y < g_.h; ++y) {
        const T* src = padded_ + c * pp + (y + p_.pad_h) * pw + p_.pad_w;
        std::copy(src, src + g_.w, channels + c * plane + y * g_.w);
      }
    return;
  }
  std::fill(channels, channels + g_.cg() * plane, T(0));
  for (int64_t c = 0; c < g_.cg(); ++c)
    for (int64_t ki = 0; ki < g_.kh; ++ki) {
      Span ys = valid_span(ki, p_.stride_h, p_.pad_h, p_.dilation_h, g_.h, g_.oh);
      for (int64_t kj = 0; kj < g_.kw; ++kj) {
        Span xs = valid_span(kj, p_.stride_w, p_.pad_w, p_.dilation_w, g_.w, g_.ow);
        const T* row = col_ + ((c * g_.kh + ki) * g_.kw + kj) * ohw;
        for (int64_t y = ys.lo; y < ys.hi; ++y) {
          T* dst = channels + c * plane + (y * p_.stride_h + ys.offset) * g_.w + xs.offset;
          const T* src = row + y * g_.ow;
          for (int64_t x = xs.lo; x < xs.hi; ++x) dst[x * p_.stride_w] += src[x];
        }
      }
    }
}

template class PatchMatrix<float>;
template class PatchMatrix<double>;

}  // namespace ember::cpu
