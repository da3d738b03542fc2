// Philox 4x32-10 for 8 (AVX2) or 16 (AVX-512) consecutive counters at once, for the CPU's hot
// random fill: the dropout mask. The bits are exactly philox::block's (core/random/philox.h), lane
// l holding counter + l, so a mask is the same whichever path draws it, on any machine or device.
//
// One block per element and ten dependent rounds of two 32x32->64 multiplies made the scalar
// dropout mask ~18 ns an element (6.5 ms of the cnn's 120 ms step); eight lanes take ~3.5 ns,
// sixteen about half that.
#pragma once

#include <cstdint>

#include "core/random/philox.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ember::cpu::philox_lanes {

// Bernoulli(p) from one block, as philox::uniform_double(r) < p but in integers: the uniform is
// bits53 * 2^-53 with bits53 = (w0 << 21) | (w1 >> 11), and for an integer b and a real t,
// b < t exactly when b < ceil(t). So the draw is 1 when bits53 < threshold(p).
inline uint64_t threshold(double p) {
  if (p <= 0.0) return 0;
  if (p >= 1.0) return uint64_t{1} << 53;
  double t = p * 9007199254740992.0;  // p * 2^53, exact
  uint64_t floor_t = static_cast<uint64_t>(t);
  return static_cast<double>(floor_t) == t ? floor_t : floor_t + 1;
}
inline bool draw(const philox::Block& r, uint64_t threshold) {
  return ((static_cast<uint64_t>(r[0]) << 21) | (r[1] >> 11)) < threshold;
}

#if defined(__AVX2__)
constexpr bool kVectorized = true;

// lo and hi words of the 32x32->64 products a[l] * m, l = 0..7.
inline void multiply_wide(__m256i a, __m256i m, __m256i& lo, __m256i& hi) {
  __m256i even = _mm256_mul_epu32(a, m);                         // lanes 0, 2, 4, 6 as 64-bit
  __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Words 0 and 1 of philox::block(counter + l, key) in lane l.
inline void blocks8(uint64_t counter, uint64_t key, __m256i& w0, __m256i& w1) {
  const __m256i sign = _mm256_set1_epi32(INT32_MIN);
  __m256i first = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter)));
  __m256i c0 = _mm256_add_epi32(first, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  // A lane whose low word wrapped past 2^32 carries into the high word (compare as unsigned).
  __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(first, sign), _mm256_xor_si256(c0, sign));
  __m256i c1 = _mm256_sub_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter >> 32))), wrapped);
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(philox::kM0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(philox::kM1));
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    __m256i lo0, hi0, lo1, hi1;
    multiply_wide(c0, m0, lo0, hi0);
    multiply_wide(c2, m1, lo1, hi1);
    __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += philox::kW0;
    k1 += philox::kW1;
  }
  w0 = c0;
  w1 = c1;
}

// out[l] = draw(block(counter + l, key), threshold) ? value : 0 for l = 0..7, threshold < 2^53.
inline void bernoulli8(float* out, uint64_t counter, uint64_t key, uint64_t threshold, float value) {
  const __m256i sign = _mm256_set1_epi32(INT32_MIN);
  // bits53 < threshold compared as (w0, w1 >> 11) against (threshold >> 21, threshold's low 21 bits).
  const __m256i high = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(threshold >> 21) ^ 0x80000000u));
  const __m256i low = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(threshold & 0x1FFFFF) ^ 0x80000000u));
  __m256i w0, w1;
  blocks8(counter, key, w0, w1);
  __m256i a = _mm256_xor_si256(w0, sign), b = _mm256_xor_si256(_mm256_srli_epi32(w1, 11), sign);
  __m256i below = _mm256_or_si256(_mm256_cmpgt_epi32(high, a),
                                  _mm256_and_si256(_mm256_cmpeq_epi32(high, a), _mm256_cmpgt_epi32(low, b)));
  _mm256_storeu_ps(out, _mm256_and_ps(_mm256_castsi256_ps(below), _mm256_set1_ps(value)));
}
#else
constexpr bool kVectorized = false;
#endif

#if defined(__AVX512F__)
// The same rounds on 16 lanes. AVX-512 compares unsigned words directly (no sign flip) and
// writes masks, so the draw is two compares and a masked move.
inline void multiply_wide16(__m512i a, __m512i m, __m512i& lo, __m512i& hi) {
  __m512i even = _mm512_mul_epu32(a, m);
  __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

inline void blocks16(uint64_t counter, uint64_t key, __m512i& w0, __m512i& w1) {
  __m512i first = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter)));
  __m512i c0 = _mm512_add_epi32(first, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  __mmask16 wrapped = _mm512_cmplt_epu32_mask(c0, first);  // the low word passed 2^32: carry
  __m512i high_word = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(counter >> 32)));
  __m512i c1 = _mm512_mask_add_epi32(high_word, wrapped, high_word, _mm512_set1_epi32(1));
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(philox::kM0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(philox::kM1));
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    __m512i lo0, hi0, lo1, hi1;
    multiply_wide16(c0, m0, lo0, hi0);
    multiply_wide16(c2, m1, lo1, hi1);
    __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
    __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += philox::kW0;
    k1 += philox::kW1;
  }
  w0 = c0;
  w1 = c1;
}

// bernoulli8 on 16 lanes.
inline void bernoulli16(float* out, uint64_t counter, uint64_t key, uint64_t threshold, float value) {
  const __m512i high = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(threshold >> 21)));
  const __m512i low = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(threshold & 0x1FFFFF)));
  __m512i w0, w1;
  blocks16(counter, key, w0, w1);
  __mmask16 below = _mm512_cmplt_epu32_mask(w0, high) |
                    (_mm512_cmpeq_epi32_mask(w0, high) & _mm512_cmplt_epu32_mask(_mm512_srli_epi32(w1, 11), low));
  _mm512_storeu_ps(out, _mm512_maskz_mov_ps(below, _mm512_set1_ps(value)));
}
#endif

}  // namespace ember::cpu::philox_lanes
