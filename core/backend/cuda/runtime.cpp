// ember::cuda's public functions and the route from backend(Device) to the CUDA backend.
#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

#include <dlfcn.h>
#include <mutex>

#include "core/backend/cuda/context.h"
#include "core/backend/cuda/cuda.h"
#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/dispatch.h"
#include "core/error.h"

namespace ember::cuda {

namespace {

struct Probe {
  int count = 0;
  std::string reason;
};

// Asked once: the runtime loads the driver on its first call (and fails cleanly without one).
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    cudaError_t status = cudaGetDeviceCount(&r.count);
    if (status != cudaSuccess) {
      cudaGetLastError();
      r.count = 0;
      // Without a driver the runtime reports an "insufficient" one: say which it is.
      void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
      if (driver) dlclose(driver);
      r.reason = driver ? str("no usable GPU: cudaGetDeviceCount said ", cudaGetErrorString(status), " (",
                              cudaGetErrorName(status), ")")
                        : std::string("no CUDA driver is installed (libcuda.so.1 not found)");
    } else if (r.count == 0) {
      r.reason = "the CUDA driver reports no GPU";
    }
    return r;
  }();
  return p;
}

std::atomic<bool> tf32{false};

std::string version(int v) { return str(v / 1000, ".", (v % 1000) / 10); }

}  // namespace

bool is_built() { return true; }
bool is_available() { return probe().count > 0; }
int device_count() { return probe().count; }
std::string unavailable_reason() { return probe().reason; }

std::string describe(int device) {
  if (!is_available()) return "CUDA unavailable: " + unavailable_reason();
  cudaDeviceProp prop{};
  EMBER_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  int driver = 0, runtime = 0, blas_major = 0, blas_minor = 0, blas_patch = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  cublasGetProperty(MAJOR_VERSION, &blas_major);
  cublasGetProperty(MINOR_VERSION, &blas_minor);
  cublasGetProperty(PATCH_LEVEL, &blas_patch);
  size_t dnn = cudnnGetVersion();
  double gib = static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
  char mem[32];
  std::snprintf(mem, sizeof mem, "%.1f GiB", gib);
  return str(prop.name, " (sm_", prop.major, prop.minor, ", ", prop.multiProcessorCount, " SMs, ", mem, "), driver ",
             version(driver), ", runtime ", version(runtime), ", cuBLAS ", blas_major, ".", blas_minor, ".",
             blas_patch, ", cuDNN ", dnn / 10000, ".", (dnn % 10000) / 100, ".", dnn % 100);
}

void synchronize(int device) {
  if (!is_available()) return;
  if (device >= 0) {
    EMBER_CUDA_CHECK(cudaStreamSynchronize(context(device).stream));
    return;
  }
  for_each_context([](DeviceContext& c) {
    context(c.device);
    EMBER_CUDA_CHECK(cudaStreamSynchronize(c.stream));
  });
}

size_t memory_allocated(int device) { return is_available() ? allocator(device).allocated() : 0; }
size_t memory_reserved(int device) { return is_available() ? allocator(device).reserved() : 0; }
size_t max_memory_allocated(int device) { return is_available() ? allocator(device).peak_allocated() : 0; }

void empty_cache() {
  if (!is_available()) return;
  synchronize(-1);  // a cached block may still be read by queued work
  for_each_allocator([](CachingAllocator& a) { a.empty_cache(); });
}

void set_allow_tf32(bool allow) {
  tf32 = allow;
  for_each_context([allow](DeviceContext& c) {
    EMBER_CUBLAS_CHECK(cublasSetMathMode(c.cublas, allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  });
}
bool allow_tf32() { return tf32; }

Backend& backend_for(Device device) {
  static std::mutex mutex;
  static std::vector<std::unique_ptr<CudaBackend>> backends(device_count());
  EMBER_CHECK_VALUE(device.index >= 0 && device.index < device_count(), "device ", device, " is not available: ",
                    is_available() ? str("this machine has ", device_count(), " CUDA device", device_count() == 1 ? "" : "s")
                                   : str("CUDA is unavailable (", unavailable_reason(), ")"),
                    "; use the cpu device or another cuda:N");
  std::lock_guard<std::mutex> lock(mutex);
  auto& b = backends[device.index];
  if (!b) b = std::make_unique<CudaBackend>(device.index);
  return *b;
}

}  // namespace ember::cuda
