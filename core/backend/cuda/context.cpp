#include "core/backend/cuda/context.h"

#include <memory>
#include <mutex>
#include <vector>

#include "core/backend/cuda/cuda.h"
#include "core/error.h"

namespace ember::cuda {

void check_cuda(cudaError_t status, const char* call) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call does not report it again
  throw Error(str("CUDA error in ", call, ": ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ")"));
}

void check_cublas(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(str("cuBLAS error in ", call, ": ", cublasGetStatusString(status), " (", cublasGetStatusName(status), ")"));
}

void check_cudnn(cudnnStatus_t status, const char* call) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw Error(str("cuDNN error in ", call, ": ", cudnnGetErrorString(status)));
}

void check_launch(const char* kernel) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    throw Error(str("CUDA kernel ", kernel, " failed to launch: ", cudaGetErrorString(status), " (",
                    cudaGetErrorName(status), ")"));
}

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<DeviceContext>> contexts;
  std::vector<std::unique_ptr<CachingAllocator>> allocators;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: tensors may be freed during exit
  return *r;
}

std::unique_ptr<DeviceContext> create(int index) {
  auto ctx = std::make_unique<DeviceContext>();
  ctx->device = index;
  EMBER_CUDA_CHECK(cudaSetDevice(index));
  EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
  EMBER_CUBLAS_CHECK(cublasCreate(&ctx->cublas));
  EMBER_CUBLAS_CHECK(cublasSetStream(ctx->cublas, ctx->stream));
  EMBER_CUDNN_CHECK(cudnnCreate(&ctx->cudnn));
  EMBER_CUDNN_CHECK(cudnnSetStream(ctx->cudnn, ctx->stream));
  EMBER_CUDA_CHECK(cudaMalloc(&ctx->workspace, DeviceContext::kWorkspaceBytes));
  // A workspace of our own keeps cuBLAS from allocating per call, and its results deterministic.
  EMBER_CUBLAS_CHECK(cublasSetWorkspace(ctx->cublas, ctx->workspace, DeviceContext::kWorkspaceBytes));
  EMBER_CUBLAS_CHECK(cublasSetMathMode(ctx->cublas, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return ctx;
}

thread_local int current_device = -1;

}  // namespace

DeviceContext& context(int index) {
  Registry& r = registry();
  DeviceContext* ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    int count = device_count();
    EMBER_CHECK_VALUE(index >= 0 && index < count, "device cuda:", index, " is not available: ",
                      count == 0 ? str("CUDA is unavailable (", unavailable_reason(), ")")
                                 : str("this machine has ", count, " CUDA device", count == 1 ? "" : "s"));
    if (r.contexts.size() <= static_cast<size_t>(index)) r.contexts.resize(index + 1);
    if (!r.contexts[index]) r.contexts[index] = create(index);
    ctx = r.contexts[index].get();
  }
  if (current_device != index) {
    EMBER_CUDA_CHECK(cudaSetDevice(index));
    current_device = index;
  }
  return *ctx;
}

// Runs f with device `index` current, then restores the caller's device.
template <class F>
auto on_device(int index, F f) {
  int previous = 0;
  cudaGetDevice(&previous);
  if (previous != index) cudaSetDevice(index);
  auto result = f();
  if (previous != index) cudaSetDevice(previous);
  return result;
}

CachingAllocator& allocator(int index) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.allocators.size() <= static_cast<size_t>(index)) r.allocators.resize(index + 1);
  if (!r.allocators[index]) {
    RawMemory raw;
    raw.allocate = [index](size_t n) {
      return on_device(index, [n]() -> void* {
        void* p = nullptr;
        if (cudaMalloc(&p, n) == cudaSuccess) return p;
        cudaGetLastError();  // out of memory is not sticky: clear it
        return nullptr;
      });
    };
    raw.release = [index](void* p) { on_device(index, [p] { return cudaFree(p); }); };
    raw.device_free = [index] {
      return on_device(index, [] {
        size_t free = 0, total = 0;
        return cudaMemGetInfo(&free, &total) == cudaSuccess ? free : size_t{0};
      });
    };
    r.allocators[index] = std::make_unique<CachingAllocator>(raw, str("cuda:", index));
  }
  return *r.allocators[index];
}

void for_each_allocator(const std::function<void(CachingAllocator&)>& f) {
  Registry& r = registry();
  std::vector<CachingAllocator*> all;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    for (auto& a : r.allocators)
      if (a) all.push_back(a.get());
  }
  for (CachingAllocator* a : all) f(*a);
}

void for_each_context(const std::function<void(DeviceContext&)>& f) {
  Registry& r = registry();
  std::vector<DeviceContext*> all;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    for (auto& c : r.contexts)
      if (c) all.push_back(c.get());
  }
  for (DeviceContext* c : all) f(*c);
}

}  // namespace ember::cuda
