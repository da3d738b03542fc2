// Intra-op parallelism. Work is split into contiguous chunks that depend only on the range and
// the thread count, and no kernel combines partial results in a thread-timing-dependent order, so
// results are bit-identical from run to run for a fixed thread count.
#pragma once

#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ember {

// Threads used by ember's kernels (and Eigen's GEMM). Default: 1; at most the hardware's count
// makes sense. Throws ValueError for n < 1.
void set_num_threads(int n);
int get_num_threads();

// Calls f(lo, hi) over [begin, end) split into at most get_num_threads() chunks of at least
// `grain` items. Runs inline when nested inside another parallel region. f must not throw.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int64_t threads = get_num_threads();
  int64_t chunks = grain > 0 ? (n + grain - 1) / grain : n;
  if (chunks > threads) chunks = threads;
#ifdef _OPENMP
  if (chunks > 1 && !omp_in_parallel()) {
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static, 1)
    for (int64_t c = 0; c < chunks; ++c) f(begin + n * c / chunks, begin + n * (c + 1) / chunks);
    return;
  }
#endif
  f(begin, end);
}

}  // namespace ember
