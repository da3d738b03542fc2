// ember::cuda in a build without the CUDA backend (EMBER_CUDA=OFF, or no toolkit/cuDNN found).
#include "core/backend/cuda/cuda.h"
#include "core/backend/cuda/dispatch.h"
#include "core/error.h"

namespace ember::cuda {

namespace {
constexpr const char* kReason = "this build of ember has no CUDA backend (configure with EMBER_CUDA=ON and the CUDA toolkit with cuDNN)";
}

bool is_built() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return kReason; }
std::string describe(int) { return kReason; }
void synchronize(int) {}
size_t memory_allocated(int) { return 0; }
size_t memory_reserved(int) { return 0; }
size_t max_memory_allocated(int) { return 0; }
void empty_cache() {}
void set_allow_tf32(bool) {}
bool allow_tf32() { return false; }

Backend& backend_for(Device device) {
  throw ValueError(str("device ", device, " is not available: ", kReason, "; use the cpu device"));
}

}  // namespace ember::cuda
