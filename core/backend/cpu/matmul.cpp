// Batched GEMM through cpu::gemm (OpenBLAS or Eigen, see gemm.h). A transposed operand is passed
// as such instead of being copied, so `x @ w.t()` costs no transpose.
#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/gemm.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

// Matrix `batch` of the 3-D tensor t as a row-major operand: its first element, whether it is
// stored transposed (column-major), and its leading dimension.
template <class T>
struct Operand {
  const T* data;
  bool transposed;
  int64_t ld;
};

template <class T>
Operand<T> operand(const Tensor& t, int64_t batch) {
  int64_t rows = t.size(1), cols = t.size(2);
  const T* base = static_cast<const T*>(t.data()) + batch * t.stride(0);
  if (t.stride(2) == 1 || cols == 1) return {base, false, rows == 1 ? std::max<int64_t>(cols, 1) : t.stride(1)};
  return {base, true, t.stride(2)};
}

template <class T>
void matmul_typed(const Tensor& out, const Tensor& a, const Tensor& b) {
  int64_t batches = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  T* o = static_cast<T*>(out.data());
  auto one = [&](int64_t i) {
    Operand<T> x = operand<T>(a, i), y = operand<T>(b, i);
    gemm<T>(x.transposed, y.transposed, m, n, k, x.data, x.ld, y.data, y.ld, o + i * m * n, n);
  };
  if (batches == 1) {
    one(0);  // the GEMM engine parallelises one large product itself
  } else {
    // Parallel over the batch; each product is single-threaded inside the parallel region.
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
