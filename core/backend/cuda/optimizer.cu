// The fused Adam/AdamW step on a device: one pass over param, grad and state, the CPU's
// arithmetic (backend/cpu/optimizer.cpp) element by element.
#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"

namespace ember::cuda {

namespace {

template <class T>
struct AdamScalars {
  T beta1, beta2, one_minus_beta1, one_minus_beta2, coupled_decay, decay_factor, sign, eps, bc2, neg_step;
};

template <class T>
__global__ void adam_kernel(AdamScalars<T> c, T* p, const T* g, T* m, T* v, T* v_max, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    T gi = c.sign * g[i];
    if (c.coupled_decay != T(0)) gi += c.coupled_decay * p[i];  // skipped at 0, as PyTorch (0 * inf is NaN)
    T mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    T vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (v_max) {  // amsgrad: the maximum, NaN propagating as torch.maximum does
      T top = v_max[i];
      top = (vi > top || vi != vi) ? vi : top;
      v_max[i] = top;
      vi = top;
    }
    p[i] = p[i] * c.decay_factor + c.neg_step * (mi / (sqrt(vi) / c.bc2 + c.eps));
  }
}

template <class T>
void adam_typed(const AdamStep& s, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
  AdamScalars<T> c;
  c.beta1 = static_cast<T>(s.beta1), c.beta2 = static_cast<T>(s.beta2);
  c.one_minus_beta1 = static_cast<T>(1 - s.beta1), c.one_minus_beta2 = static_cast<T>(1 - s.beta2);
  c.coupled_decay = static_cast<T>(s.decoupled_weight_decay ? 0.0 : s.weight_decay);
  c.decay_factor = static_cast<T>(s.decoupled_weight_decay ? 1 - s.lr * s.weight_decay : 1.0);
  c.sign = s.maximize ? T(-1) : T(1);
  c.eps = static_cast<T>(s.eps), c.bc2 = static_cast<T>(s.bias_correction2_sqrt);
  c.neg_step = static_cast<T>(-s.step_size);
  int64_t n = param.numel();
  if (n == 0) return;
  adam_kernel<T><<<grid_for(n), kThreads, 0, stream_of(param)>>>(
      c, ptr<T>(param), ptr<const T>(grad), ptr<T>(exp_avg), ptr<T>(exp_avg_sq),
      s.amsgrad ? ptr<T>(max_exp_avg_sq) : nullptr, n);
  check_launch("adam_step");
}

}  // namespace

void CudaBackend::adam_step(const AdamStep& s, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
  EMBER_CUDA_SWITCH_FLOAT(param.dtype(), "adam_step",
                          adam_typed<T>(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq));
}

}  // namespace ember::cuda
