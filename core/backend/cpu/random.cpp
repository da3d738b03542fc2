// Random fills from Philox: element i of a call uses counter offset + i, so any chunking of the
// work (threads, devices) produces the same values.
#include <algorithm>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/philox_lanes.h"
#include "core/random/philox.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

// Writes f(block for element i) into contiguous `out`.
template <class F>
void generate(const Tensor& out, uint64_t seed, uint64_t offset, F f) {
  EMBER_CHECK(out.is_contiguous(), "random fill: expected a contiguous output");
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = static_cast<T*>(out.data());
    parallel_for(0, out.numel(), 8192, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        o[i] = convert_value<T>(f(philox::block(offset + static_cast<uint64_t>(i), seed)));
      }
    });
  });
}

}  // namespace

void CpuBackend::uniform(const Tensor& out, double lo, double hi, uint64_t seed, uint64_t offset) {
  if (out.dtype() == kFloat32) {  // 24 random bits, computed in float so no rounding reaches hi
    float* o = static_cast<float*>(out.data());
    float l = static_cast<float>(lo), w = static_cast<float>(hi - lo);
    parallel_for(0, out.numel(), 8192, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i)
        o[i] = philox::uniform_float_in(l, w, philox::block(offset + static_cast<uint64_t>(i), seed));
    });
    return;
  }
  generate(out, seed, offset, [&](const auto& r) { return philox::uniform_double_in(lo, hi - lo, r); });
}

void CpuBackend::normal(const Tensor& out, double mean, double std, uint64_t seed, uint64_t offset) {
  generate(out, seed, offset, [&](const auto& r) { return ::fma(std, philox::normal(r), mean); });
}

void CpuBackend::bernoulli(const Tensor& out, double p, uint64_t seed, uint64_t offset, double value) {
  const uint64_t threshold = philox_lanes::threshold(p);
  if (out.dtype() != kFloat32 || !philox_lanes::kVectorized) {
    generate(out, seed, offset, [&](const auto& r) { return philox_lanes::draw(r, threshold) ? value : 0.0; });
    return;
  }
  EMBER_CHECK(out.is_contiguous(), "random fill: expected a contiguous output");
  float* o = static_cast<float*>(out.data());
  const float v = static_cast<float>(value);
  if (threshold == uint64_t{1} << 53) return std::fill(o, o + out.numel(), v);  // p = 1: every draw succeeds
  // Every element has its own counter, so any split into chunks (and lanes) draws the same mask.
  parallel_for(0, out.numel(), 8192, [&](int64_t lo, int64_t hi) {
    int64_t i = lo;
#if defined(__AVX512F__)
    const philox_lanes::BernoulliLanes lanes(seed, threshold, v);
    for (; i + 32 <= hi; i += 32) lanes.draw<4>(o + i, offset + static_cast<uint64_t>(i));
    for (; i + 16 <= hi; i += 16) lanes.draw<2>(o + i, offset + static_cast<uint64_t>(i));
#endif
#if defined(__AVX2__)
    for (; i + 8 <= hi; i += 8) philox_lanes::bernoulli8(o + i, offset + static_cast<uint64_t>(i), seed, threshold, v);
#endif
    for (; i < hi; ++i) o[i] = philox_lanes::draw(philox::block(offset + static_cast<uint64_t>(i), seed), threshold) ? v : 0.0f;
  });
}

}  // namespace ember::cpu
