// Batched GEMM through cuBLAS. cuBLAS is column-major, so the row-major product C = A @ B is asked
// as C^T = B^T @ A^T; a row-major operand is then already the transpose cuBLAS wants, and an
// operand stored transposed (x @ w.t()) is passed with CUBLAS_OP_T instead of being copied, as on
// the CPU. TF32 is off unless ember::cuda::set_allow_tf32(true).
#include "core/autograd/grad_mode.h"
#include "core/backend/cuda/context.h"
#include "core/backend/cuda/cuda_backend.h"

namespace ember::cuda {

namespace {

struct Operand {
  const void* data;
  cublasOperation_t op;  // applied to the column-major view of the stored matrix
  int64_t ld, batch_stride;
};

// Matrix [rows, cols] of the 3-D t as cuBLAS sees it; nullopt-like `ok = false` when its strides
// fit neither layout (the caller copies it first).
bool operand(const Tensor& t, Operand& o) {
  int64_t rows = t.size(1), cols = t.size(2);
  o.data = t.data();
  o.batch_stride = t.size(0) == 1 ? 0 : t.stride(0);
  if (t.stride(2) == 1 || cols == 1) {  // row-major: its column-major view is the transpose
    o.op = CUBLAS_OP_N;
    o.ld = rows == 1 ? std::max<int64_t>(cols, 1) : t.stride(1);
    return o.ld >= std::max<int64_t>(cols, 1);
  }
  o.op = CUBLAS_OP_T;  // stored column-major: its view is the matrix itself
  o.ld = t.stride(2);
  return t.stride(1) == 1 && o.ld >= std::max<int64_t>(rows, 1);
}

}  // namespace

void CudaBackend::matmul(const Tensor& out, const Tensor& a_in, const Tensor& b_in) {
  if (out.numel() == 0) return;
  if (a_in.size(2) == 0) return fill(out, 0.0);
  EMBER_CHECK_VALUE(out.dtype() == kFloat32 || out.dtype() == kFloat64, "matmul: dtype ", out.dtype(),
                    " is not supported on ", out.device(), " (cuBLAS multiplies float32 and float64)");
  NoGradGuard no_grad;
  Tensor a = a_in, b = b_in;
  Operand oa, ob;
  if (!operand(a, oa)) a = a.contiguous(), operand(a, oa);
  if (!operand(b, ob)) b = b.contiguous(), operand(b, ob);
  const int m = static_cast<int>(out.size(1)), n = static_cast<int>(out.size(2)), k = static_cast<int>(a.size(2));
  const int batches = static_cast<int>(out.size(0));
  DeviceContext& ctx = context_of(out);
  if (out.dtype() == kFloat32) {
    const float one = 1, zero = 0;
    EMBER_CUBLAS_CHECK(cublasSgemmStridedBatched(ctx.cublas, ob.op, oa.op, n, m, k, &one,
                                                 static_cast<const float*>(ob.data), static_cast<int>(ob.ld), ob.batch_stride,
                                                 static_cast<const float*>(oa.data), static_cast<int>(oa.ld), oa.batch_stride,
                                                 &zero, static_cast<float*>(out.data()), n, int64_t{m} * n, batches));
  } else {
    const double one = 1, zero = 0;
    EMBER_CUBLAS_CHECK(cublasDgemmStridedBatched(ctx.cublas, ob.op, oa.op, n, m, k, &one,
                                                 static_cast<const double*>(ob.data), static_cast<int>(ob.ld), ob.batch_stride,
                                                 static_cast<const double*>(oa.data), static_cast<int>(oa.ld), oa.batch_stride,
                                                 &zero, static_cast<double*>(out.data()), n, int64_t{m} * n, batches));
  }
}

}  // namespace ember::cuda
