// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
//
// A counter-based generator: the output is a pure function of (counter, key), so any element of a
// stream can be computed independently, on any thread or device, and the whole generator state is
// (seed, offset). ember draws element i of a call from counter (offset + i) with key seed.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace ember::philox {

// The four 32-bit words of one counter's output.
struct Block {
  uint32_t w[4];
  EMBER_HD uint32_t operator[](int i) const { return w[i]; }
};

// The round multipliers and the key's Weyl increments (also used by the CPU's 8-lane version,
// core/backend/cpu/philox_lanes.h).
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

// Compiled for the CPU and for CUDA devices alike (EMBER_HD), so both backends draw the same bits.
EMBER_HD inline Block block(uint64_t counter, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kW0;
    k1 += kW1;
  }
  return Block{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits (float) or 53 (double).
EMBER_HD inline float uniform_float(const Block& r) {
  return static_cast<float>(r[0] >> 8) * (1.0f / 16777216.0f);
}
EMBER_HD inline double uniform_double(const Block& r) {
  uint64_t bits = (static_cast<uint64_t>(r[0]) << 21) ^ (r[1] >> 11);
  return static_cast<double>(bits & ((1ULL << 53) - 1)) * (1.0 / 9007199254740992.0);
}
// Standard normal by Box-Muller on the block's two 53-bit uniforms, computed in double.
EMBER_HD inline double normal(const Block& r) {
  uint64_t a = ((static_cast<uint64_t>(r[0]) << 32) | r[1]) >> 11;
  uint64_t b = ((static_cast<uint64_t>(r[2]) << 32) | r[3]) >> 11;
  double u1 = (static_cast<double>(a) + 1.0) * (1.0 / 9007199254740992.0);  // (0, 1]
  double u2 = static_cast<double>(b) * (1.0 / 9007199254740992.0);
  return ::sqrt(-2.0 * ::log(u1)) * ::cos(6.283185307179586 * u2);  // the C names: host and device both have them
}
// lo + width * u as one fused multiply-add: a single rounding that the CPU's fma and the GPU's
// agree on bit for bit (a separate multiply and add may or may not be contracted by a compiler).
EMBER_HD inline float uniform_float_in(float lo, float width, const Block& r) { return ::fmaf(width, uniform_float(r), lo); }
EMBER_HD inline double uniform_double_in(double lo, double width, const Block& r) {
  return ::fma(width, uniform_double(r), lo);
}
// A 64-bit random integer.
EMBER_HD inline uint64_t bits64(const Block& r) {
  return (static_cast<uint64_t>(r[0]) << 32) | r[1];
}

}  // namespace ember::philox
