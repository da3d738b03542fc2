// Batch normalization on contiguous [N, C, S] tensors on a device. A block per channel sums in a
// fixed order (thread t takes elements t, t + kThreadsBN, ... of the channel, then a fixed tree),
// in double as on the CPU; the backward computes its two sums and then the channel's dx in the
// same block, so one launch does the whole backward.
#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"

namespace ember::cuda {

namespace {

constexpr int kThreadsBN = 512;

struct Dims {
  int64_t n, c, s;
  __device__ int64_t count() const { return n * s; }
  // The offset of the i-th element of channel ch (i over n, then s).
  __device__ int64_t at(int64_t ch, int64_t i) const { return ((i / s) * c + ch) * s + i % s; }
};

// Sums v over the block in a fixed order; every thread gets the total.
__device__ double block_sum(double v, double* scratch) {
  scratch[threadIdx.x] = v;
  __syncthreads();
  for (int width = kThreadsBN / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) scratch[threadIdx.x] += scratch[threadIdx.x + width];
    __syncthreads();
  }
  double total = scratch[0];
  __syncthreads();
  return total;
}

template <class T>
__global__ void stats_kernel(T* mean, T* var, const T* x, Dims d) {
  __shared__ double scratch[kThreadsBN];
  const int64_t ch = blockIdx.x, count = d.count();
  double sum = 0;
  for (int64_t i = threadIdx.x; i < count; i += kThreadsBN) sum += static_cast<double>(x[d.at(ch, i)]);
  const T m = static_cast<T>(block_sum(sum, scratch) / static_cast<double>(count));
  double sq = 0;
  for (int64_t i = threadIdx.x; i < count; i += kThreadsBN) {
    T dev = x[d.at(ch, i)] - m;
    sq += static_cast<double>(dev * dev);
  }
  double total = block_sum(sq, scratch);
  if (threadIdx.x == 0) {
    mean[ch] = m;
    var[ch] = static_cast<T>(total / static_cast<double>(count));
  }
}

template <class T>
struct Apply {
  T* out;
  const T *x, *mean, *invstd, *weight, *bias;
  int64_t c, s;
  __device__ void operator()(const int64_t (&o)[1]) const {
    int64_t ch = (o[0] / s) % c;
    T scale = invstd[ch] * (weight ? weight[ch] : T(1));
    out[o[0]] = scale * (x[o[0]] - mean[ch]) + (bias ? bias[ch] : T(0));
  }
};

template <class T>
__global__ void backward_kernel(T* grad_input, T* grad_weight, T* grad_bias, const T* dy, const T* x, const T* mean,
                                const T* invstd, const T* weight, bool training, Dims d) {
  __shared__ double scratch[kThreadsBN];
  const int64_t ch = blockIdx.x, count = d.count();
  const T m = mean[ch];
  double s_dy = 0, s_dy_xmu = 0;
  for (int64_t i = threadIdx.x; i < count; i += kThreadsBN) {
    int64_t at = d.at(ch, i);
    s_dy += static_cast<double>(dy[at]);
    s_dy_xmu += static_cast<double>(dy[at] * (x[at] - m));
  }
  double sum_dy = block_sum(s_dy, scratch), sum_dy_xmu = block_sum(s_dy_xmu, scratch);
  const double inv = static_cast<double>(invstd[ch]);
  if (threadIdx.x == 0) {
    if (grad_weight) grad_weight[ch] = static_cast<T>(sum_dy_xmu * inv);
    if (grad_bias) grad_bias[ch] = static_cast<T>(sum_dy);
  }
  if (!grad_input) return;
  // dx = a * (x - mean) + b * dy + k, per channel (the CPU's formula).
  const double scale = inv * (weight ? static_cast<double>(weight[ch]) : 1.0), n = static_cast<double>(count);
  const T a = static_cast<T>(training ? -scale * inv * inv * sum_dy_xmu / n : 0.0);
  const T b = static_cast<T>(scale);
  const T k = static_cast<T>(training ? -scale * sum_dy / n : 0.0);
  for (int64_t i = threadIdx.x; i < count; i += kThreadsBN) {
    int64_t at = d.at(ch, i);
    grad_input[at] = a * (x[at] - m) + b * dy[at] + k;
  }
}

template <class T>
T* optional_ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.data()) : nullptr;
}

Dims dims_of(const Tensor& t) { return {t.size(0), t.size(1), t.size(2)}; }

}  // namespace

void CudaBackend::batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& input) {
  Dims d = dims_of(input);
  if (d.c == 0) return;
  EMBER_CUDA_SWITCH_FLOAT(input.dtype(), "batch_norm",
                          stats_kernel<T><<<static_cast<unsigned>(d.c), kThreadsBN, 0, stream_of(input)>>>(
                              ptr<T>(mean), ptr<T>(var), ptr<const T>(input), d));
  check_launch("batch_norm stats");
}

void CudaBackend::batch_norm_apply(const Tensor& out, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                   const Tensor& weight, const Tensor& bias) {
  EMBER_CUDA_SWITCH_FLOAT(input.dtype(), "batch_norm",
                          for_each_element<1>(out.sizes(), {&out},
                                              Apply<T>{ptr<T>(out), ptr<const T>(input), ptr<const T>(mean),
                                                       ptr<const T>(invstd), optional_ptr<const T>(weight),
                                                       optional_ptr<const T>(bias), input.size(1), input.size(2)},
                                              "batch_norm apply"));
}

void CudaBackend::batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                                      const Tensor& grad_out, const Tensor& input, const Tensor& mean,
                                      const Tensor& invstd, const Tensor& weight, bool training) {
  Dims d = dims_of(input);
  if (d.c == 0) return;
  EMBER_CUDA_SWITCH_FLOAT(input.dtype(), "batch_norm backward",
                          backward_kernel<T><<<static_cast<unsigned>(d.c), kThreadsBN, 0, stream_of(input)>>>(
                              optional_ptr<T>(grad_input), optional_ptr<T>(grad_weight), optional_ptr<T>(grad_bias),
                              ptr<const T>(grad_out), ptr<const T>(input), ptr<const T>(mean), ptr<const T>(invstd),
                              optional_ptr<const T>(weight), training, d));
  check_launch("batch_norm backward");
}

}  // namespace ember::cuda
