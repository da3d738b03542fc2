// One context per CUDA device: its stream, cuBLAS and cuDNN handles, a fixed workspace and the
// caching allocator. Every kernel of the backend is queued on the context's stream, so work on a
// device runs in the order it was asked for and needs no events. Error checks throw ember::Error
// naming the call and the status string (cudaGetErrorString, cublasGetStatusString,
// cudnnGetErrorString).
#pragma once

#include <functional>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/backend/cuda/caching_allocator.h"
#include "core/tensor.h"

namespace ember::cuda {

struct DeviceContext {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* workspace = nullptr;  // for cuBLAS and cuDNN, kWorkspaceBytes
  static constexpr size_t kWorkspaceBytes = size_t{64} << 20;
};

// The context of device `index`, created on first use; makes that device current for the
// calling thread. Throws ValueError if the device does not exist.
DeviceContext& context(int index);
inline DeviceContext& context_of(const Tensor& t) { return context(t.device().index); }

// The caching allocator of device `index` (it makes no context: freeing needs none).
CachingAllocator& allocator(int index);
void for_each_allocator(const std::function<void(CachingAllocator&)>& f);
void for_each_context(const std::function<void(DeviceContext&)>& f);

void check_cuda(cudaError_t status, const char* call);
void check_cublas(cublasStatus_t status, const char* call);
void check_cudnn(cudnnStatus_t status, const char* call);

// Throws the error of a kernel launch that failed (bad configuration, no kernel image).
void check_launch(const char* kernel);

}  // namespace ember::cuda

#define EMBER_CUDA_CHECK(call) ::ember::cuda::check_cuda((call), #call)
#define EMBER_CUBLAS_CHECK(call) ::ember::cuda::check_cublas((call), #call)
#define EMBER_CUDNN_CHECK(call) ::ember::cuda::check_cudnn((call), #call)
