#include "core/backend/cpu/gemm.h"

#include <Eigen/Core>
#include <type_traits>

#include "core/threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef EMBER_HAVE_OPENBLAS
#include <cblas.h>
#endif

#ifdef EMBER_HAVE_ONEDNN
#include <dnnl.h>
#endif

#include "core/error.h"

namespace ember::cpu {

namespace {

template <class T>
using Strided = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>>;

template <class T>
void eigen_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                int64_t ldc, bool accumulate) {
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>> out(c, m, n, Eigen::OuterStride<>(ldc));
  Strided<T> am(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  Strided<T> bm(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  if (accumulate) {
    if (trans_a && trans_b) out.noalias() += am.transpose() * bm.transpose();
    else if (trans_a) out.noalias() += am.transpose() * bm;
    else if (trans_b) out.noalias() += am * bm.transpose();
    else out.noalias() += am * bm;
    return;
  }
  if (trans_a && trans_b) out.noalias() = am.transpose() * bm.transpose();
  else if (trans_a) out.noalias() = am.transpose() * bm;
  else if (trans_b) out.noalias() = am * bm.transpose();
  else out.noalias() = am * bm;
}

#if defined(EMBER_HAVE_OPENBLAS) || defined(EMBER_HAVE_ONEDNN)
#define EMBER_HAVE_BLAS 1

bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

#ifdef EMBER_HAVE_ONEDNN
// oneDNN threads a product itself over OpenMP's omp_get_max_threads(), which ember's thread count
// does not set; ember splits products itself, so each call is made single-threaded by setting the
// calling thread's OpenMP count (a per-thread setting) to 1 for its duration.
void onednn_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, float beta) {
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  EMBER_CHECK(status == dnnl_success, "gemm: oneDNN's dnnl_sgemm failed with status ", static_cast<int>(status), " on ",
              m, "x", k, (trans_a ? " (A transposed)" : ""), " times ", k, "x", n, (trans_b ? " (B transposed)" : ""));
}
#endif

// The types the build's BLAS takes: float through oneDNN (else OpenBLAS), double through OpenBLAS.
template <class T>
constexpr bool blas_takes() {
#ifdef EMBER_HAVE_OPENBLAS
  return std::is_same_v<T, float> || std::is_same_v<T, double>;
#else
  return std::is_same_v<T, float>;
#endif
}

// One single-threaded product on the engine the build chose for T.
template <class T>
void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
               int64_t ldc, bool accumulate) {
  static_assert(blas_takes<T>());
  const T beta = accumulate ? T(1) : T(0);
#ifdef EMBER_HAVE_ONEDNN
  if constexpr (std::is_same_v<T, float>) {
    onednn_sgemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, beta);
    return;
  }
#endif
#ifdef EMBER_HAVE_OPENBLAS
  auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
#endif
}

// The BLAS runs single-threaded (OpenBLAS's own pthread pool, or oneDNN's OpenMP team, and
// ember's spinning workers would fight over the cores): ember splits a large product itself, into
// one block of C's rows or columns per thread, each an independent single-threaded GEMM — the
// split depends only on the shape and the thread count.
//
// Rows whenever each block gets kMinRowsPerThread of them, even when C is wider than tall: a
// block of rows is a contiguous range of C, the range an elementwise op or the optimizer step on
// the same thread reads next (parallel_for splits contiguously), so a weight gradient reaches
// the optimizer from the thread's own cache. In the mlp's step at 2 threads the first layer's
// weight gradient ([512, 784] = dY^T X) took 643 -> 466-494 us so (per-GEMM times inside the
// step, 20 interleaved repetitions). Fewer rows than that (the [128, 256] activations) split
// better by columns, which is also how batch norm splits its channels.
template <class T>
void split_blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                     int64_t ldc, bool accumulate) {
  constexpr int64_t kMinFlopsPerThread = int64_t{1} << 21;  // below ~2 MFLOP a thread costs more than it saves
  constexpr int64_t kMinRowsPerThread = 128;
  int64_t flops = 2 * m * n * k, threads = std::min<int64_t>(get_num_threads(), std::max<int64_t>(1, flops / kMinFlopsPerThread));
  if (threads <= 1 || in_parallel_region()) return blas_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  if (m >= n || m >= kMinRowsPerThread * threads) {  // blocks of rows: A's rows (or, transposed, its columns)
    parallel_for(0, m, (m + threads - 1) / threads, [&](int64_t lo, int64_t hi) {
      blas_gemm(trans_a, trans_b, hi - lo, n, k, trans_a ? a + lo : a + lo * lda, lda, b, ldb, c + lo * ldc, ldc, accumulate);
    });
  } else {  // blocks of columns: B's columns (or, transposed, its rows)
    parallel_for(0, n, (n + threads - 1) / threads, [&](int64_t lo, int64_t hi) {
      blas_gemm(trans_a, trans_b, m, hi - lo, k, a, lda, trans_b ? b + lo * ldb : b + lo, ldb, c + lo, ldc, accumulate);
    });
  }
}
#endif

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
          int64_t ldc, bool accumulate) {
#ifdef EMBER_HAVE_BLAS
#ifdef EMBER_HAVE_OPENBLAS
  static const bool single_threaded = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)single_threaded;
#endif
  if constexpr (blas_takes<T>()) {
    if (m > 0 && n > 0 && k > 0) return split_blas_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  }
#endif
  eigen_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t, bool);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t, double*, int64_t, bool);
template void gemm<int64_t>(bool, bool, int64_t, int64_t, int64_t, const int64_t*, int64_t, const int64_t*, int64_t, int64_t*, int64_t, bool);
template void gemm<int32_t>(bool, bool, int64_t, int64_t, int64_t, const int32_t*, int64_t, const int32_t*, int64_t, int32_t*, int64_t, bool);

}  // namespace ember::cpu
