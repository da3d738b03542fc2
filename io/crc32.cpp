// CRC-32 by folding (after Gopal et al., "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ", Intel 2009). A CRC is the message polynomial times x^32, mod P. Four 128-bit lanes
// of the message are carried along; each step multiplies a lane by x^512 mod P (two 64x33-bit
// carry-less products) and adds the next 64 bytes, which leaves the value mod P unchanged. At the
// end the lanes are folded into one 128-bit value that has the same CRC as everything consumed,
// and zlib finishes from those 16 bytes and the tail: no reduction code of our own to get wrong.
#include "io/crc32.h"

#include <zlib.h>

#include <algorithm>
#include <array>

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

__m128i pair(uint64_t lo, uint64_t hi) { return _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)); }

// x: everything before p, folded into one lane. Folds the remaining 16-byte blocks into it, then
// zlib finishes from the lane's bytes and the tail.
__attribute__((target("pclmul,sse4.1"))) uint32_t finish(__m128i x, const uint8_t* p, uint64_t n) {
  static constexpr uint64_t k160 = fold_constant(160), k96 = fold_constant(96);
  const __m128i by128 = pair(k160, k96);
  for (; n >= 16; p += 16, n -= 16) x = _mm_xor_si128(fold(x, by128), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  uint8_t folded[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(folded), x);
  // The folded bytes stand for everything before them with the inversion already applied, so zlib
  // continues from an internal state of 0, which is what it uses for an argument of 0xFFFFFFFF.
  return crc32_reference(p, n, crc32_reference(folded, 16, 0xFFFFFFFF));
}

__attribute__((target("pclmul,sse4.1"))) uint32_t crc32_pclmul(const uint8_t* p, uint64_t n, uint32_t crc) {
  static constexpr uint64_t k544 = fold_constant(544), k480 = fold_constant(480);
  static constexpr uint64_t k160 = fold_constant(160), k96 = fold_constant(96);
  const __m128i by512 = pair(k544, k480), by128 = pair(k160, k96);
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
  return finish(x, p, n);
}

// The same folding four 512-bit registers (16 lanes, 256 bytes) at a time with VPCLMULQDQ.
__attribute__((target("avx512f"))) inline __m512i load(const uint8_t* q) { return _mm512_loadu_si512(q); }

__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1"))) inline __m512i fold(__m512i x, __m512i k) {
  return _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11));
}

__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1"))) uint32_t crc32_vpclmul(const uint8_t* p, uint64_t n,
                                                                                    uint32_t crc) {
  static constexpr uint64_t k2080 = fold_constant(2080), k2016 = fold_constant(2016);
  static constexpr uint64_t k544 = fold_constant(544), k480 = fold_constant(480);
  static constexpr uint64_t k160 = fold_constant(160), k96 = fold_constant(96);
  auto lanes_of = [](uint64_t lo, uint64_t hi) {  // (lo, hi) in each of the four 128-bit lanes
    long long l = static_cast<long long>(lo), h = static_cast<long long>(hi);
    return std::array<long long, 8>{l, h, l, h, l, h, l, h};
  };
  const auto c2048 = lanes_of(k2080, k2016), c512 = lanes_of(k544, k480);
  const __m512i by2048 = _mm512_loadu_si512(c2048.data()), by512 = _mm512_loadu_si512(c512.data());
  const __m128i by128 = pair(k160, k96);
  __m512i z0 = _mm512_xor_si512(load(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(~crc))));
  __m512i z1 = load(p + 64), z2 = load(p + 128), z3 = load(p + 192);
  p += 256, n -= 256;
  for (; n >= 256; p += 256, n -= 256) {
    z0 = _mm512_xor_si512(fold(z0, by2048), load(p));
    z1 = _mm512_xor_si512(fold(z1, by2048), load(p + 64));
    z2 = _mm512_xor_si512(fold(z2, by2048), load(p + 128));
    z3 = _mm512_xor_si512(fold(z3, by2048), load(p + 192));
  }
  __m512i z = _mm512_xor_si512(fold(z0, by512), z1);
  z = _mm512_xor_si512(fold(z, by512), z2);
  z = _mm512_xor_si512(fold(z, by512), z3);
  for (; n >= 64; p += 64, n -= 64) z = _mm512_xor_si512(fold(z, by512), load(p));
  alignas(64) uint8_t lanes[64];  // the four lanes, in message order
  _mm512_store_si512(lanes, z);
  auto lane = [&lanes](int i) { return _mm_load_si128(reinterpret_cast<const __m128i*>(lanes + 16 * i)); };
  __m128i x = lane(0);
  for (int i = 1; i < 4; ++i) x = _mm_xor_si128(fold(x, by128), lane(i));
  return finish(x, p, n);
}

// The same with 256-bit registers (VPCLMULQDQ with AVX2, as on AMD Zen 3, which has no AVX-512):
// four registers (8 lanes, 128 bytes) at a time.
__attribute__((target("avx2"))) inline __m256i load256(const uint8_t* q) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
}

__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.1"))) inline __m256i fold(__m256i x, __m256i k) {
  return _mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00), _mm256_clmulepi64_epi128(x, k, 0x11));
}

__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.1"))) uint32_t crc32_vpclmul256(const uint8_t* p, uint64_t n,
                                                                                    uint32_t crc) {
  static constexpr uint64_t k1056 = fold_constant(1056), k992 = fold_constant(992);
  static constexpr uint64_t k288 = fold_constant(288), k224 = fold_constant(224);
  static constexpr uint64_t k160 = fold_constant(160), k96 = fold_constant(96);
  // (lo, hi) in each of the two 128-bit lanes
  const __m256i by1024 = _mm256_broadcastsi128_si256(pair(k1056, k992));
  const __m256i by256 = _mm256_broadcastsi128_si256(pair(k288, k224));
  const __m128i by128 = pair(k160, k96);
  __m256i y0 = _mm256_xor_si256(load256(p), _mm256_zextsi128_si256(_mm_cvtsi32_si128(static_cast<int>(~crc))));
  __m256i y1 = load256(p + 32), y2 = load256(p + 64), y3 = load256(p + 96);
  p += 128, n -= 128;
  for (; n >= 128; p += 128, n -= 128) {
    y0 = _mm256_xor_si256(fold(y0, by1024), load256(p));
    y1 = _mm256_xor_si256(fold(y1, by1024), load256(p + 32));
    y2 = _mm256_xor_si256(fold(y2, by1024), load256(p + 64));
    y3 = _mm256_xor_si256(fold(y3, by1024), load256(p + 96));
  }
  __m256i y = _mm256_xor_si256(fold(y0, by256), y1);
  y = _mm256_xor_si256(fold(y, by256), y2);
  y = _mm256_xor_si256(fold(y, by256), y3);
  for (; n >= 32; p += 32, n -= 32) y = _mm256_xor_si256(fold(y, by256), load256(p));
  __m128i x = _mm_xor_si128(fold(_mm256_castsi256_si128(y), by128), _mm256_extracti128_si256(y, 1));
  return finish(x, p, n);
}

}  // namespace

bool has_pclmul() {
  static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return yes;
}
bool has_vpclmul() {
  static const bool yes = has_pclmul() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq");
  return yes;
}
bool has_vpclmul256() {
  static const bool yes = has_pclmul() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
  return yes;
}
uint32_t crc32_folded(const void* data, uint64_t n, uint32_t crc, int max_lane_bits) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  if (max_lane_bits >= 512 && n >= 256 && has_vpclmul()) return crc32_vpclmul(p, n, crc);
  if (max_lane_bits >= 256 && n >= 128 && has_vpclmul256()) return crc32_vpclmul256(p, n, crc);
  if (n >= 64 && has_pclmul()) return crc32_pclmul(p, n, crc);
  return crc32_reference(data, n, crc);
}
#else
bool has_pclmul() { return false; }
bool has_vpclmul() { return false; }
bool has_vpclmul256() { return false; }
uint32_t crc32_folded(const void* data, uint64_t n, uint32_t crc, int) { return crc32_reference(data, n, crc); }
#endif

uint32_t crc32_of(const void* data, uint64_t n, uint32_t crc) {
  return n >= 256 ? crc32_folded(data, n, crc, n >= 1024 ? 512 : 256) : crc32_reference(data, n, crc);
}

}  // namespace ember::io
