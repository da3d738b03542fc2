// CRC-32 by folding (after Gopal et al., "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ", Intel 2009). A CRC is the message polynomial times x^32, mod P. Four 128-bit lanes
// of the message are carried along; each step multiplies a lane by x^512 mod P (two 64x33-bit
// carry-less products) and adds the next 64 bytes, which leaves the value mod P unchanged. At the
// end the lanes are folded into one 128-bit value that has the same CRC as everything consumed,
// and zlib finishes from those 16 bytes and the tail: no reduction code of our own to get wrong.
#include "io/crc32.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EMBER_CRC_PCLMUL 1
#include <immintrin.h>
#endif

namespace ember::io {

uint32_t crc32_reference(const void* data, uint64_t n, uint32_t crc) {
  const Bytef* p = static_cast<const Bytef*>(data);
  uLong c = crc;
  while (n > 0) {  // zlib takes 32-bit lengths
    uInt chunk = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
    c = ::crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

#ifdef EMBER_CRC_PCLMUL
namespace {

// x^e mod P, bit-reflected and shifted left by one: the form a reflected fold multiplies by.
constexpr uint64_t fold_constant(int e) {
  uint64_t r = 1;  // x^0, in normal (non-reflected) order
  for (int i = 0; i < e; ++i) {
    r <<= 1;
    if (r >> 32) r ^= 0x104C11DB7;
  }
  uint64_t reflected = 0;
  for (int i = 0; i < 32; ++i)
    if (r >> i & 1) reflected |= uint64_t{1} << (31 - i);
  return reflected << 1;
}

// Lane x (bytes in message order) moved D bits later: its low half times x^(D+32), its high half
// times x^(D-32). `k` holds those two constants, low and high.
__attribute__((target("pclmul,sse4.1"))) inline __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) uint32_t crc32_pclmul(const uint8_t* p, uint64_t n, uint32_t crc) {
  const __m128i by512 = _mm_set_epi64x(static_cast<long long>(fold_constant(480)), static_cast<long long>(fold_constant(544)));
  const __m128i by128 = _mm_set_epi64x(static_cast<long long>(fold_constant(96)), static_cast<long long>(fold_constant(160)));
  auto load = [](const uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  // zlib inverts the CRC before and after; the inverted start is added into the first 4 bytes.
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(~crc)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64, n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    x0 = _mm_xor_si128(fold(x0, by512), load(p));
    x1 = _mm_xor_si128(fold(x1, by512), load(p + 16));
    x2 = _mm_xor_si128(fold(x2, by512), load(p + 32));
    x3 = _mm_xor_si128(fold(x3, by512), load(p + 48));
  }
  __m128i x = _mm_xor_si128(fold(x0, by128), x1);
  x = _mm_xor_si128(fold(x, by128), x2);
  x = _mm_xor_si128(fold(x, by128), x3);
  for (; n >= 16; p += 16, n -= 16) x = _mm_xor_si128(fold(x, by128), load(p));
  uint8_t folded[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(folded), x);
  // The folded bytes stand for everything before them with the inversion already applied, so zlib
  // continues from an internal state of 0, which is what it uses for an argument of 0xFFFFFFFF.
  uint32_t c = crc32_reference(folded, 16, 0xFFFFFFFF);
  return crc32_reference(p, n, c);
}

bool has_pclmul() {
  static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return yes;
}

}  // namespace
#endif

uint32_t crc32_of(const void* data, uint64_t n, uint32_t crc) {
#ifdef EMBER_CRC_PCLMUL
  if (n >= 256 && has_pclmul()) return crc32_pclmul(static_cast<const uint8_t*>(data), n, crc);
#endif
  return crc32_reference(data, n, crc);
}

}  // namespace ember::io
