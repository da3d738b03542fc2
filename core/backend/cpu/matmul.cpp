// Batched GEMM through Eigen. A transposed operand is mapped as column-major instead of being
// copied, so `x @ w.t()` costs no transpose.
#include <Eigen/Core>

#include "core/backend/cpu/cpu_backend.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// Calls f(map) with an Eigen map of matrix `batch` of the 3-D tensor t, row- or column-major.
template <class T, class F>
void with_matrix(const Tensor& t, int64_t batch, F f) {
  int64_t rows = t.size(1), cols = t.size(2);
  const T* base = static_cast<const T*>(t.data()) + batch * t.stride(0);
  if (t.stride(2) == 1 || cols == 1) {
    int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : t.stride(1);
    f(Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>(base, rows, cols, Eigen::OuterStride<>(ld)));
  } else {
    f(Eigen::Map<const ColMat<T>, 0, Eigen::OuterStride<>>(base, rows, cols,
                                                         Eigen::OuterStride<>(t.stride(2))));
  }
}

template <class T>
void matmul_typed(const Tensor& out, const Tensor& a, const Tensor& b) {
  int64_t batches = out.size(0), m = out.size(1), n = out.size(2);
  T* o = static_cast<T*>(out.data());
  auto one = [&](int64_t i) {
    Eigen::Map<RowMat<T>> c(o + i * m * n, m, n);
    with_matrix<T>(a, i, [&](const auto& am) {
      with_matrix<T>(b, i, [&](const auto& bm) { c.noalias() = am * bm; });
    });
  };
  if (batches == 1) {
    one(0);  // Eigen parallelises one large GEMM itself
  } else {
    // Parallel over the batch; Eigen stays single-threaded inside a parallel region.
    parallel_for(0, batches, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) one(i);
    });
  }
}

}  // namespace

void CpuBackend::matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
  if (out.numel() == 0) return;
  if (a.size(2) == 0) {
    fill(out, 0.0);
    return;
  }
  switch (out.dtype()) {
    case kFloat32: return matmul_typed<float>(out, a, b);
    case kFloat64: return matmul_typed<double>(out, a, b);
    case kInt64: return matmul_typed<int64_t>(out, a, b);
    case kInt32: return matmul_typed<int32_t>(out, a, b);
    default: throw ValueError(str("matmul: dtype ", out.dtype(), " is not supported on the cpu"));
  }
}

}  // namespace ember::cpu
