// libFuzzer target: the ONNX reader (protobuf parse, then ember's checks of every initializer,
// node and reference) and the GraphModule's validation of what it read.
#include <cstdint>
#include <string>

#include "jit/graph.h"
#include "jit/onnx/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ember::jit::GraphModule m(ember::jit::parse_onnx(std::string(reinterpret_cast<const char*>(data), size), "fuzz"));
  } catch (const ember::Error&) {
  }
  return 0;
}
