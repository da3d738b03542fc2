// libFuzzer target: the safetensors reader.
#include <cstdint>
#include <vector>

#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ember::io;
  try {
    load_safetensors(memory_source(std::vector<uint8_t>(data, data + size), "fuzz"), LoadOptions());
  } catch (const ember::Error&) {
  }
  return 0;
}
