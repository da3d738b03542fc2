// CPU memory: 64-byte aligned so that Eigen and vector loads never straddle cache lines.
#include <cstdlib>
#include <new>

#include "core/backend/cpu/cpu_backend.h"

namespace ember::cpu {

void* CpuBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  size_t rounded = (nbytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p)
    throw Error(str("out of memory: could not allocate ", nbytes, " bytes on the cpu"));
  return p;
}

void CpuBackend::deallocate(void* ptr, size_t) { std::free(ptr); }

}  // namespace ember::cpu
