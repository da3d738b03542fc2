// How backend(Device) reaches the CUDA backend: implemented by runtime.cpp when the backend is
// built, by unavailable.cpp (which throws, saying why) when it is not.
#pragma once

#include "core/backend/backend.h"

namespace ember::cuda {

// The backend of a CUDA device; throws ValueError naming the device when it cannot be used.
Backend& backend_for(Device device);

}  // namespace ember::cuda
