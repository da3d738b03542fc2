// CRC-32 (the zip/zlib polynomial, reflected, 0xEDB88320): what zip records carry.
#pragma once

#include <cstdint>

namespace ember::io {

// The CRC-32 of n bytes, continuing from a previous result `crc` (0 to start), exactly as zlib's
// crc32(crc, data, n). Large buffers are folded 64 bytes at a time with carry-less multiplication
// where the CPU has it (x86-64 PCLMULQDQ, or VPCLMULQDQ with AVX-512 for 1 KiB and more, detected
// at run time); everything else goes to zlib.
uint32_t crc32_of(const void* data, uint64_t n, uint32_t crc = 0);

// zlib alone, for checking the fast paths against.
uint32_t crc32_reference(const void* data, uint64_t n, uint32_t crc = 0);

// The folding paths, for tests: whether the CPU has them, and one path forced (wide: VPCLMULQDQ
// with AVX-512 when present, else PCLMULQDQ; zlib where neither applies).
bool has_pclmul();
bool has_vpclmul();
uint32_t crc32_folded(const void* data, uint64_t n, uint32_t crc, bool wide);

}  // namespace ember::io
