// Random fills on a device from the CPU's Philox streams (core/random/philox.h, compiled for
// both): element i of a call draws counter offset + i with key seed. (a, b) are (lo, hi),
// (mean, std) or (p, value) as the draw says. Uniform and Bernoulli values
// are the CPU's bit for bit (integer arithmetic and one fused multiply-add), so a dropout mask
// for a given (seed, offset) is the same on either device; normal values go through log and cos,
// whose device versions may differ from the host's in the last bit.
#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"
#include "core/random/philox.h"

namespace ember::cuda {

namespace {

enum class Draw { Uniform, Normal, Bernoulli };

template <class T>
__global__ void random_kernel(T* out, int64_t n, Draw draw, double a, double b, uint64_t seed, uint64_t offset) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    philox::Block r = philox::block(offset + static_cast<uint64_t>(i), seed);
    if constexpr (std::is_same_v<T, float>) {
      if (draw == Draw::Uniform) {  // 24 random bits, computed in float as on the CPU
        out[i] = philox::uniform_float_in(static_cast<float>(a), static_cast<float>(b - a), r);
        continue;
      }
    }
    double v = draw == Draw::Uniform ? philox::uniform_double_in(a, b - a, r)
               : draw == Draw::Normal ? ::fma(b, philox::normal(r), a)
                                      : (philox::uniform_double(r) < a ? b : 0.0);
    out[i] = static_cast<T>(v);
  }
}

void fill_random(const Tensor& out, Draw draw, double a, double b, uint64_t seed, uint64_t offset, const char* what) {
  EMBER_CHECK(out.is_contiguous(), "random fill: expected a contiguous output");
  int64_t n = out.numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(out);
  EMBER_CUDA_SWITCH_COMPUTE(out.dtype(), what,
                            random_kernel<T><<<grid_for(n), kThreads, 0, s>>>(ptr<T>(out), n, draw, a, b, seed, offset));
  check_launch(what);
}

}  // namespace

void CudaBackend::uniform(const Tensor& out, double lo, double hi, uint64_t seed, uint64_t offset) {
  fill_random(out, Draw::Uniform, lo, hi, seed, offset, "uniform_");
}

void CudaBackend::normal(const Tensor& out, double mean, double std, uint64_t seed, uint64_t offset) {
  fill_random(out, Draw::Normal, mean, std, seed, offset, "normal_");
}

void CudaBackend::bernoulli(const Tensor& out, double p, uint64_t seed, uint64_t offset, double value) {
  fill_random(out, Draw::Bernoulli, p, value, seed, offset, "bernoulli_");
}

}  // namespace ember::cuda
