// Philox 4x32-10 for 8 (AVX2) or 16 and 32 (AVX-512) consecutive counters at once, for the CPU's hot
// random fill: the dropout mask. The bits are exactly philox::block's (core/random/philox.h), lane
// l holding counter + l, so a mask is the same whichever path draws it, on any machine or device.
//
// One block per element and ten dependent rounds of two 32x32->64 multiplies made the scalar
// dropout mask ~18 ns an element (6.5 ms of the cnn's 120 ms step); eight lanes take ~3.5 ns,
// 32 in 64-bit lanes (BernoulliLanes) ~1.5 ns on an AVX-512 Xeon.
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
// The same rounds on 8 * V counters (V vectors), laid out differently from the 8-lane version:
// one counter per 64-bit lane, every 32-bit word of its block in the lane's low half (the high
// half holds whatever the round left there, which no step reads). The multiply then yields hi:lo
// in place, hi is one in-lane shuffle away, and the two XORs are one ternary-logic op: 6 ops a
// round for 8 counters, against 9 for 16 counters in 32-bit lanes, whose shifts and blends all
// queued on the port AVX-512's shifts and multiplies share. Four vectors at once (32 counters)
// keep enough independent rounds in flight: 1.5 ns an element here against 2.2 for the 32-bit
// layout (an AVX-512 Xeon; two vectors gave 1.8, eight ran out of registers).
//
// What stays fixed across a fill (the round keys, the threshold, the value) is set up once.
class BernoulliLanes {
 public:
  BernoulliLanes(uint64_t key, uint64_t threshold, float value)
      : limit_(_mm512_set1_epi64(static_cast<int64_t>(threshold << 11))), value_(_mm512_set1_ps(value)) {
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round, k0 += philox::kW0, k1 += philox::kW1) key0_[round] = k0, key1_[round] = k1;
  }

  // out[l] = draw(block(counter + l, key), threshold) ? value : 0 for l in [0, 8 * V), V even. The draw compares
  // bits53 = (w0 << 21) | (w1 >> 11) in 64-bit lanes, as (w0 << 32 | w1) < threshold << 11
  // (threshold < 2^53, so the shift cannot overflow).
  template <int V>
  void draw(float* out, uint64_t counter) const {
    const __m512i first = _mm512_add_epi64(_mm512_set1_epi64(static_cast<int64_t>(counter)), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    __m512i c0[V], c1[V], c2[V], c3[V];
    for (int v = 0; v < V; ++v) {
      c0[v] = _mm512_add_epi64(first, _mm512_set1_epi64(8 * v));
      c1[v] = _mm512_srli_epi64(c0[v], 32);
      c2[v] = c3[v] = _mm512_setzero_si512();
    }
    const __m512i m0 = _mm512_set1_epi64(philox::kM0), m1 = _mm512_set1_epi64(philox::kM1);
    for (int round = 0; round < 10; ++round) {
      const __m512i key0 = _mm512_set1_epi64(key0_[round]), key1 = _mm512_set1_epi64(key1_[round]);
      for (int v = 0; v < V; ++v) {
        const __m512i p0 = _mm512_mul_epu32(c0[v], m0), p1 = _mm512_mul_epu32(c2[v], m1);  // lo in the low half
        const __m512i hi0 = _mm512_shuffle_epi32(p0, _MM_PERM_CDAB), hi1 = _mm512_shuffle_epi32(p1, _MM_PERM_CDAB);
        c0[v] = _mm512_ternarylogic_epi64(hi1, c1[v], key0, 0x96);  // hi1 ^ c1 ^ k0
        c2[v] = _mm512_ternarylogic_epi64(hi0, c3[v], key1, 0x96);  // hi0 ^ c3 ^ k1
        c1[v] = p1;
        c3[v] = p0;
      }
    }
    const __m512i low_word = _mm512_set1_epi64(0xFFFFFFFF);
    __mmask8 below[V];
    for (int v = 0; v < V; ++v) {
      const __m512i bits = _mm512_ternarylogic_epi64(_mm512_slli_epi64(c0[v], 32), c1[v], low_word, 0xF8);  // a | (b & c)
      below[v] = _mm512_cmplt_epu64_mask(bits, limit_);
    }
    for (int v = 0; v < V; v += 2) {
      const __mmask16 keep = static_cast<__mmask16>(below[v] | (static_cast<unsigned>(below[v + 1]) << 8));
      _mm512_storeu_ps(out + 8 * v, _mm512_maskz_mov_ps(keep, value_));
    }
  }

 private:
  int64_t key0_[10], key1_[10];  // each round's key words
  __m512i limit_;
  __m512 value_;
};
#endif

}  // namespace ember::cpu::philox_lanes
