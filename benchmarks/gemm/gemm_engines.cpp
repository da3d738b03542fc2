// The candidate GEMM engines side by side, 1 thread, in the shapes ember's models run (what
// cmake/EmberBlas.cmake's choice rests on): OpenBLAS and BLIS through their CBLAS (loaded with
// dlopen from Debian's paths, each skipped when absent), oneDNN's dnnl_sgemm (when ember was built
// with it) and Eigen's own product. Each result is checked against a float64 reference first.
//
//   build/bin/gemm_engines [REPEATS]         (best of REPEATS timings, default 5)
//   DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell build/bin/gemm_engines   (both held to AVX2)
#include <dlfcn.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#ifdef EMBER_HAVE_ONEDNN
#include <dnnl.h>
#endif

#include "timing.h"

namespace {

// cblas_sgemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); 101 = row-major, 111 = no transpose.
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);

struct Engine {
  std::string name;
  std::function<void(int m, int n, int k, const float* a, const float* b, float* c)> run;  // C = A B, row-major
};

std::vector<Engine> engines() {
  std::vector<Engine> out;
  const char* libraries[][2] = {{"OpenBLAS", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"},
                                {"BLIS", "/usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4"}};
  for (auto& [name, path] : libraries) {
    void* library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    auto sgemm = library ? reinterpret_cast<CblasSgemm>(dlsym(library, "cblas_sgemm")) : nullptr;
    if (!sgemm) {
      std::printf("%s: not found at %s, skipped\n", name, path);
      continue;
    }
    if (auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(library, "openblas_set_num_threads"))) set_threads(1);
    out.push_back({name, [sgemm](int m, int n, int k, const float* a, const float* b, float* c) {
                     sgemm(101, 111, 111, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
                   }});
  }
#ifdef EMBER_HAVE_ONEDNN
  out.push_back({"oneDNN", [](int m, int n, int k, const float* a, const float* b, float* c) {
                   dnnl_sgemm('N', 'N', m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
                 }});
#else
  std::printf("oneDNN: ember was built without it, skipped\n");
#endif
  out.push_back({"Eigen", [](int m, int n, int k, const float* a, const float* b, float* c) {
                   using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
                   Eigen::Map<Matrix>(c, m, n).noalias() = Eigen::Map<const Matrix>(a, m, k) * Eigen::Map<const Matrix>(b, k, n);
                 }});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  // One thread each: oneDNN and Eigen follow OpenMP's count (read at start-up, so set here, not
  // through the environment), BLIS its environment variable (read when it first runs), OpenBLAS
  // its own setter (called in engines()).
  omp_set_num_threads(1);
  setenv("BLIS_NUM_THREADS", "1", 1);
  Eigen::setNbThreads(1);
  const int shapes[][3] = {{512, 512, 512}, {128, 512, 784}, {64, 196, 288}, {288, 196, 64}, {64, 288, 196}};
  const char* notes[] = {"", " (mlp layer 1)", " (cnn conv 2, per sample)", " (its input gradient)", " (its weight gradient)"};
  std::vector<Engine> all = engines();
  std::printf("1-thread SGEMM, GFLOP/s (best of %d)\n%-40s", repeats, "shape (m x n x k)");
  for (auto& e : all) std::printf(" %9s", e.name.c_str());
  std::printf("\n");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (size_t s = 0; s < std::size(shapes); ++s) {
    const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    std::vector<float> a(size_t(m) * k), b(size_t(k) * n), c(size_t(m) * n);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    char label[64];
    std::snprintf(label, sizeof label, "%d x %d x %d%s", m, n, k, notes[s]);
    std::printf("%-40s", label);
    for (auto& e : all) {
      e.run(m, n, k, a.data(), b.data(), c.data());
      for (int i : {0, m / 2, m - 1})  // validate before timing: a row's worth against float64
        for (int j = 0; j < n; ++j) {
          double want = 0;
          for (int p = 0; p < k; ++p) want += double(a[size_t(i) * k + p]) * b[size_t(p) * n + j];
          if (std::fabs(c[size_t(i) * n + j] - want) > 1e-4 * std::sqrt(double(k)) + 1e-4) {
            std::fprintf(stderr, "%s: wrong result at (%d, %d) of %s: %g, expected %g\n", e.name.c_str(), i, j, label,
                         c[size_t(i) * n + j], want);
            return 1;
          }
        }
      const int calls = std::max(3, int(1e9 / (2.0 * m * n * k)));
      double best = 1e30;
      for (int r = 0; r < repeats; ++r) {
        auto start = ember::bench::Clock::now();
        for (int i = 0; i < calls; ++i) e.run(m, n, k, a.data(), b.data(), c.data());
        best = std::min(best, ember::bench::ms_since(start) / 1e3 / calls);
      }
      std::printf(" %9.1f", 2.0 * m * n * k / best / 1e9);
    }
    std::printf("\n");
  }
}
