// ember::cuda: what a user asks of the GPUs, whether or not this build has a CUDA backend.
//
// Without the backend (built with EMBER_CUDA=OFF or without the toolkit), or on a machine
// without a GPU or driver, is_available() is false and device_count() is 0; asking for a CUDA
// tensor then throws a ValueError that says which. Nothing here needs a device to be called.
#pragma once

#include <cstddef>
#include <string>

namespace ember::cuda {

// Whether this build has the backend (compiled in), regardless of the machine.
bool is_built();
// Whether at least one GPU and a working driver are present.
bool is_available();
int device_count();
// Why CUDA is unavailable ("no CUDA driver found", "this build has no CUDA backend"), "" if it is.
std::string unavailable_reason();
// "NVIDIA H200 (sm_90, 139.8 GiB), driver 13.0, runtime 13.0, cuBLAS 13.0.2, cuDNN 9.19.0".
std::string describe(int device = 0);

// Waits for the work queued on the device (every device: -1).
void synchronize(int device = -1);

// The caching allocator's counters (see core/backend/cuda/caching_allocator.h) and its release.
size_t memory_allocated(int device = 0);
size_t memory_reserved(int device = 0);
size_t max_memory_allocated(int device = 0);
void empty_cache();

// TF32 tensor cores for float32 GEMM and convolution: off by default (results then match float32
// arithmetic to the usual tolerances); on trades 10 mantissa bits for speed, as PyTorch's
// torch.backends.cuda.matmul.allow_tf32 does.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace ember::cuda
