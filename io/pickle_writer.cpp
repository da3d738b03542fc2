#include <cstring>

#include "io/pickle.h"

namespace ember::io {

void Pickler::integer(int64_t v) {
  if (v >= 0 && v < 256) {
    bytes.insert(bytes.end(), {'K', static_cast<uint8_t>(v)});
  } else if (v >= 0 && v < 65536) {
    bytes.insert(bytes.end(), {'M', static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)});
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    op('J');
    uint32_t u = static_cast<uint32_t>(static_cast<int32_t>(v));
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(u >> (8 * i)));
  } else {  // LONG1: minimal two's complement, little endian
    uint64_t u = static_cast<uint64_t>(v);
    std::vector<uint8_t> le;
    for (int i = 0; i < 8; ++i) le.push_back(static_cast<uint8_t>(u >> (8 * i)));
    while (le.size() > 1 && ((le.back() == 0x00 && !(le[le.size() - 2] & 0x80)) ||
                             (le.back() == 0xFF && (le[le.size() - 2] & 0x80))))
      le.pop_back();
    bytes.insert(bytes.end(), {0x8A, static_cast<uint8_t>(le.size())});
    bytes.insert(bytes.end(), le.begin(), le.end());
  }
}

void Pickler::floating(double v) {
  op('G');
  uint64_t u;
  std::memcpy(&u, &v, 8);
  for (int i = 7; i >= 0; --i) bytes.push_back(static_cast<uint8_t>(u >> (8 * i)));  // big endian
}

void Pickler::string(const std::string& s) {
  op('X');
  uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(n >> (8 * i)));
  bytes.insert(bytes.end(), s.begin(), s.end());
}

void Pickler::global(const std::string& module, const std::string& name) {
  op('c');
  bytes.insert(bytes.end(), module.begin(), module.end());
  bytes.push_back('\n');
  bytes.insert(bytes.end(), name.begin(), name.end());
  bytes.push_back('\n');
}

void Pickler::tuple(size_t n) {
  static const uint8_t small[] = {')', 0x85, 0x86, 0x87};
  op(n <= 3 ? small[n] : 't');
}

void Pickler::memo_put(uint32_t index) {
  if (index < 256) {
    bytes.insert(bytes.end(), {'q', static_cast<uint8_t>(index)});
  } else {
    op('r');
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(index >> (8 * i)));
  }
}

void Pickler::memo_get(uint32_t index) {
  if (index < 256) {
    bytes.insert(bytes.end(), {'h', static_cast<uint8_t>(index)});
  } else {
    op('j');
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(index >> (8 * i)));
  }
}

}  // namespace ember::io
