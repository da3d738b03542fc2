// libFuzzer target: io::load_bytes on arbitrary bytes (format detection, the zip reader, the
// restricted unpickler, legacy streams, safetensors). Any ember::Error is an accepted outcome;
// a crash, a sanitizer report, a hang or an allocation beyond -rss_limit_mb is a bug.
#include <cstdint>
#include <vector>

#include "io/serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ember::io::load_bytes(std::vector<uint8_t>(data, data + size), ember::io::LoadOptions().map_location("cpu"));
  } catch (const ember::Error&) {
  }
  return 0;
}
