#include "core/backend/backend.h"

#include "core/backend/cpu/cpu_backend.h"

namespace ember {

Backend& backend(Device device) {
  static cpu::CpuBackend cpu_backend;
  if (device.is_cpu()) return cpu_backend;
  throw ValueError(str("device ", device, " is not available: this build of ember has no CUDA ",
                       "backend; use the cpu device"));
}

}  // namespace ember
