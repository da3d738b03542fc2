// CRC-32 (the zip/zlib polynomial, reflected, 0xEDB88320): what zip records carry.
#pragma once

#include <cstdint>

namespace ember::io {

// The CRC-32 of n bytes, continuing from a previous result `crc` (0 to start), exactly as zlib's
// crc32(crc, data, n). Large buffers are folded with carry-less multiplication where the CPU has
// it (x86-64, detected at run time): VPCLMULQDQ on 512-bit registers with AVX-512 for 1 KiB and
// more, on 256-bit registers with AVX2 (AMD Zen 3), else PCLMULQDQ; everything else goes to zlib.
uint32_t crc32_of(const void* data, uint64_t n, uint32_t crc = 0);

// zlib alone, for checking the fast paths against.
uint32_t crc32_reference(const void* data, uint64_t n, uint32_t crc = 0);

// The folding paths, for tests: whether the CPU has them, and the widest path of at most
// max_lane_bits (128, 256 or 512) that it has forced (zlib where none applies).
bool has_pclmul();
bool has_vpclmul();     // VPCLMULQDQ with AVX-512
bool has_vpclmul256();  // VPCLMULQDQ with AVX2
uint32_t crc32_folded(const void* data, uint64_t n, uint32_t crc, int max_lane_bits);

}  // namespace ember::io
