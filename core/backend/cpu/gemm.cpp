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

bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

#ifdef EMBER_HAVE_OPENBLAS
template <class T>
void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
               int64_t ldc, bool accumulate) {
  auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const T beta = accumulate ? T(1) : T(0);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// OpenBLAS runs single-threaded (its own pthread pool and OpenMP's spinning workers would fight
// over the cores): ember splits a large product itself, into one block of C's rows or columns
// per thread, each an independent single-threaded GEMM — the split depends only on the shape and
// the thread count.
template <class T>
void split_blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                     int64_t ldc, bool accumulate) {
  constexpr int64_t kMinFlopsPerThread = int64_t{1} << 21;  // below ~2 MFLOP a thread costs more than it saves
  int64_t flops = 2 * m * n * k, threads = std::min<int64_t>(get_num_threads(), std::max<int64_t>(1, flops / kMinFlopsPerThread));
  if (threads <= 1 || in_parallel_region()) return blas_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  if (m >= n) {  // blocks of rows: A's rows (or, transposed, its columns)
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
#ifdef EMBER_HAVE_OPENBLAS
  static const bool single_threaded = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)single_threaded;
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
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
