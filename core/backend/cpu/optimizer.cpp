// Fused optimizer updates: one pass over param, grad and state instead of a pass (and often a
// temporary) per arithmetic step. Each element is independent, so results do not depend on the
// thread count.
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/strided_loop.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

template <class T>
struct AdamScalars {
  T beta1, beta2, one_minus_beta1, one_minus_beta2, coupled_decay, decay_factor, sign, eps, bc2, neg_step;
};

// The options that change the loop's shape are template parameters, so that each variant is a
// straight-line body the compiler vectorizes.
template <class T, bool kCoupledDecay, bool kAmsgrad>
void adam_elements(const AdamScalars<T>& c, T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                   T* __restrict v_max, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) {
    T gi = c.sign * g[i];
    if (kCoupledDecay) gi += c.coupled_decay * p[i];  // skipped at 0, as PyTorch does (0 * inf would be NaN)
    T mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    T vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (kAmsgrad) {  // the maximum, NaN propagating as torch.maximum does
      T top = v_max[i];
      top = (vi > top || vi != vi) ? vi : top;
      v_max[i] = top;
      vi = top;
    }
    p[i] = p[i] * c.decay_factor + c.neg_step * (mi / (std::sqrt(vi) / c.bc2 + c.eps));
  }
}

}  // namespace

void CpuBackend::adam_step(const AdamStep& s, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                           const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
  visit_float(param.dtype(), "adam_step", [&](auto tag) {
    using T = decltype(tag);
    AdamScalars<T> c;
    c.beta1 = static_cast<T>(s.beta1), c.beta2 = static_cast<T>(s.beta2);
    c.one_minus_beta1 = static_cast<T>(1 - s.beta1), c.one_minus_beta2 = static_cast<T>(1 - s.beta2);
    c.coupled_decay = static_cast<T>(s.decoupled_weight_decay ? 0.0 : s.weight_decay);
    c.decay_factor = static_cast<T>(s.decoupled_weight_decay ? 1 - s.lr * s.weight_decay : 1.0);
    c.sign = s.maximize ? T(-1) : T(1);
    c.eps = static_cast<T>(s.eps), c.bc2 = static_cast<T>(s.bias_correction2_sqrt);
    c.neg_step = static_cast<T>(-s.step_size);
    T* p = static_cast<T*>(param.data());
    const T* g = static_cast<const T*>(grad.data());
    T* m = static_cast<T*>(exp_avg.data());
    T* v = static_cast<T*>(exp_avg_sq.data());
    T* v_max = s.amsgrad ? static_cast<T*>(max_exp_avg_sq.data()) : nullptr;
    auto body = s.amsgrad ? (c.coupled_decay != T(0) ? adam_elements<T, true, true> : adam_elements<T, false, true>)
                          : (c.coupled_decay != T(0) ? adam_elements<T, true, false> : adam_elements<T, false, false>);
    parallel_for(0, param.numel(), 16384, [&](int64_t lo, int64_t hi) { body(c, p, g, m, v, v_max, lo, hi); });
  });
}

}  // namespace ember::cpu
