#include "core/backend/backend.h"

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cuda/dispatch.h"

namespace ember {

Backend& backend(Device device) {
  static cpu::CpuBackend cpu_backend;
  if (device.is_cpu()) return cpu_backend;
  return cuda::backend_for(device);  // throws, saying why, where CUDA cannot be used
}

}  // namespace ember
