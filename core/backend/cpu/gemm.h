// One GEMM entry point for the CPU backend: C = op(A) op(B), all row-major, float or double (and
// the integer types, which always take Eigen's product).
//
// The engine is chosen when ember is built (EMBER_BLAS, see cmake/EmberBlas.cmake, which says what
// was measured): float through oneDNN's sgemm when found, else OpenBLAS's; double through
// OpenBLAS's dgemm; Eigen's own product for the integer types and when neither library is there.
// The BLAS runs single-threaded and ember splits a large product over its own threads (one pool,
// no oversubscription); Eigen threads itself. Either way the result depends only on the shapes and
// the thread count: bit-identical run to run.
#pragma once

#include <cstdint>

namespace ember::cpu {

// a: op(A) is m x k, stored row-major with leading dimension lda (k, or m when trans_a);
// b: op(B) is k x n, ldb likewise; c: m x n with leading dimension ldc, overwritten (accumulate:
// C += op(A) op(B)).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
          int64_t ldc, bool accumulate = false);

}  // namespace ember::cpu
