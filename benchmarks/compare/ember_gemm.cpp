// ember's GEMM at 1 thread, for benchmarks/compare/run's "what each side runs on": the best of
// many products of [512 x 512]·[512 x 512] and of [128 x 784]·[784 x 512] (the mlp's first layer),
// in GFLOP/s. Prints one JSON line with the engine.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "ember.h"

using namespace ember;

namespace {

double best_gflops(int64_t m, int64_t k, int64_t n, int repeats) {
  Tensor a = randn({m, k}), b = randn({k, n});
  Tensor c = matmul(a, b);  // warm-up (and a check that it ran)
  EMBER_CHECK(c.sizes() == (Shape{m, n}), "unexpected product shape");
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto t = std::chrono::steady_clock::now();
    c = matmul(a, b);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  return 2.0 * static_cast<double>(m * k * n) / best / 1e9;
}

}  // namespace

int main() {
  set_num_threads(1);
  NoGradGuard no_grad;
  std::printf("{\"framework\":\"ember\",\"engine\":\"%s\",\"gemm512_gflops\":%.1f,\"gemm_mlp_gflops\":%.1f}\n",
              (cpu_gemm_engine() + "; convolutions: " + cpu_conv_engine()).c_str(), best_gflops(512, 512, 512, 20), best_gflops(128, 784, 512, 50));
  return 0;
}
