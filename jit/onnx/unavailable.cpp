// Built instead of onnx_export.cpp / onnx_import.cpp when libonnx-dev or libprotobuf is missing.
#include "jit/onnx/onnx.h"

namespace ember::jit {

namespace {
[[noreturn]] void unavailable() {
  throw Error("ONNX support is not built: install libonnx-dev and libprotobuf-dev (scripts/setup does) and rebuild");
}
}  // namespace

bool onnx_available() { return false; }
void export_onnx(const Graph&, const std::string&) { unavailable(); }
void export_onnx(nn::Module&, const std::vector<Tensor>&, const std::string&) { unavailable(); }
Graph load_onnx(const std::string&) { unavailable(); }
Graph parse_onnx(const std::string&, const std::string&) { unavailable(); }

}  // namespace ember::jit
