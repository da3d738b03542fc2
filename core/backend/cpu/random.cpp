// Random fills from Philox: element i of a call uses counter offset + i, so any chunking of the
// work (threads, devices) produces the same values.
#include "core/backend/cpu/cpu_backend.h"
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

void CpuBackend::bernoulli(const Tensor& out, double p, uint64_t seed, uint64_t offset) {
  generate(out, seed, offset, [&](const auto& r) { return philox::uniform_double(r) < p ? 1.0 : 0.0; });
}

}  // namespace ember::cpu
