#include <fstream>

#include "jit/onnx/onnx.h"

namespace ember::jit {

bool looks_like_onnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char b[2] = {0, 0};
  in.read(reinterpret_cast<char*>(b), 2);
  // Field 1 (ir_version) as a varint is byte 0x08 then a small version; zip starts with "PK",
  // pickle with 0x80, safetensors with a little-endian length.
  return in.gcount() == 2 && b[0] == 0x08 && b[1] >= 3 && b[1] < 64;
}

}  // namespace ember::jit
