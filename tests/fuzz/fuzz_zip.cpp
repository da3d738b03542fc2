// libFuzzer target: the zip reader, then reading (and CRC-checking) every record.
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "io/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ember::io;
  try {
    ZipReader zip(memory_source(std::vector<uint8_t>(data, data + size), "fuzz"));
    for (const ZipEntry& e : zip.entries()) {
      std::vector<uint8_t> bytes(e.size);
      zip.read(e, bytes.data(), true);
    }
  } catch (const ember::Error&) {
  }
  return 0;
}
