// Batch normalization's per-element arithmetic, in one place so that every kernel computing the
// same value computes the same bits: the forward's activation, the ReLU mask the fused backward
// recomputes from the input, and the fused pool's load all go through `normalized`. Its includer
// compiles with -ffp-contract=off (CMakeLists.txt), so that no kernel contracts a*b+c into an FMA
// that another does not. Internal to the CPU backend.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/tensor.h"

namespace ember::cpu {

// v where keep, else +0 (as ReLU's rules give), by masking the bits: the [N, C] loops are not
// vectorized, and a branch there on a ReLU's mask mispredicted half the time (a tenth of the mlp
// step).
template <class T>
T keep_if(bool keep, T v) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  Bits bits;
  std::memcpy(&bits, &v, sizeof(T));
  bits &= Bits(0) - static_cast<Bits>(keep);
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

template <class T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data()) : nullptr;
}

// The per-channel affine map y = scale * (x - mean) + shift: scale = invstd * weight, shift =
// bias. The forward and the fused backward (which recomputes the ReLU's mask from y) both take
// it from here and evaluate it by `normalized`, so that they agree bit for bit.
template <class T>
struct Affine {
  std::vector<T> scale, shift;
  Affine(int64_t channels, const Tensor& invstd, const Tensor& weight, const Tensor& bias)
      : scale(static_cast<size_t>(channels)), shift(static_cast<size_t>(channels)) {
    const T *is = optional_data<T>(invstd), *w = optional_data<T>(weight), *b = optional_data<T>(bias);
    for (int64_t ch = 0; ch < channels; ++ch) {
      scale[ch] = is[ch] * (w ? w[ch] : T(1));
      shift[ch] = b ? b[ch] : T(0);
    }
  }
};

// The normalized value, centred first (which keeps precision when a channel's mean is large
// against its spread).
template <class T>
T normalized(T centred, T scale, T shift) {
  return scale * centred + shift;
}

// The activation written for input x: normalized, and with Relu ReLU's rule (y > 0 ? y : +0).
// apply and the fused pool (batch_norm_relu_max_pool2x2) both compute it here, so their bits agree.
template <class T, bool Relu>
T activation(T x, T mean, T scale, T shift) {
  T y = normalized(x - mean, scale, shift);
  if constexpr (Relu) y = keep_if(y > T(0), y);
  return y;
}

// The incoming gradient dy of an element whose centred input is `centred`; Gated: through the
// ReLU that followed, which passed it exactly where the normalized value was positive
// (ReluBackward's rule on the output), recomputed here rather than read.
template <class T, bool Gated>
T gated(T dy, T centred, T scale, T shift) {
  if constexpr (Gated) return keep_if(normalized(centred, scale, shift) > T(0), dy);
  else return dy;
}

}  // namespace ember::cpu
