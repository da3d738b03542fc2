// The per-channel passes batch normalization is made of, over a contiguous [N, C, S] tensor:
// channel_sums (per-channel sums of K terms in one pass, in a fixed order whatever the thread
// count) and channel_map (one value written per element). What a pass reads is a row-wise
// callable, so the statistics, the affine map, the backward and the fused pool's backward are each
// a few lines on top (normalization.cpp). Internal to the CPU backend.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/threads.h"

namespace ember::cpu {

struct Dims {
  int64_t n, c, s;
};
inline Dims dims_of(const Tensor& t) { return {t.size(0), t.size(1), t.size(2)}; }

inline int64_t channel_grain(const Dims& d) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, d.n * d.s)); }

// Rows are the [S]-runs of one sample and channel, numbered r = n * C + c, holding elements
// [r * S, (r + 1) * S). A `rows` argument is rows(ch, r) -> term(j) for j in [0, S): what the
// pass reads of row r's element j (a row-wise callable, so a row can be staged before it is read:
// a pooled gradient expanded into a plane-sized buffer, say).

// out_k[c] = sum over the rows of channel c and their elements of term_k, for K terms in one pass
// over the data (the backward needs two sums of the same elements). Each term sums in the same
// order as it would alone: 16 lanes of T per row, added up in double across rows.
template <class T, size_t K, class Rows>
void channel_sums(const Dims& d, std::array<double*, K> out, const Rows& rows) {
  parallel_for(0, d.c, channel_grain(d), [&](int64_t lo, int64_t hi) {
    if (d.s == 1) {  // [N, C]: each channel's column, in blocks of channels summed in registers
      // A block's accumulators stay in registers down all the samples. Summing into the output
      // array a row at a time instead was bound by its stores and reloads, and ran 2-3x slower on
      // two threads than on one. Each channel still adds its samples in order, in double.
      constexpr int64_t kBlock = 16;
      const int64_t n = d.n, c = d.c;
      const Rows local_rows = rows;  // a local copy: OpenMP's outlined loop reads captures anew
      int64_t ch0 = lo;
      for (; ch0 + kBlock <= hi; ch0 += kBlock) {
        double acc[K][kBlock] = {};
        for (int64_t i = 0; i < n; ++i)
          for (int64_t l = 0; l < kBlock; ++l) {
            std::array<T, K> v = local_rows(ch0 + l, i * c + ch0 + l)(0);
            for (size_t k = 0; k < K; ++k) acc[k][l] += static_cast<double>(v[k]);
          }
        for (size_t k = 0; k < K; ++k) std::copy(acc[k], acc[k] + kBlock, out[k] + ch0);
      }
      for (int64_t ch = ch0; ch < hi; ++ch) {
        std::array<double, K> acc{};
        for (int64_t i = 0; i < n; ++i) {
          std::array<T, K> v = local_rows(ch, i * c + ch)(0);
          for (size_t k = 0; k < K; ++k) acc[k] += static_cast<double>(v[k]);
        }
        for (size_t k = 0; k < K; ++k) out[k][ch] = acc[k];
      }
      return;
    }
    // Samples outer, channels inner: a thread's rows of one sample are contiguous, so memory is
    // read in order (channel by channel, each a short row every C*S elements, starved the
    // prefetcher: 5-7 GB/s here against ~14 in order). Each channel still adds its rows in
    // sample order, so the sums are the same bits.
    std::vector<std::array<double, K>> total(static_cast<size_t>(hi - lo));
    for (int64_t i = 0; i < d.n; ++i)
      for (int64_t ch = lo; ch < hi; ++ch) {
        const auto term = rows(ch, i * d.c + ch);
        T lanes[K][16] = {};
        int64_t j = 0;
        for (; j + 16 <= d.s; j += 16)
#pragma GCC unroll 1
          for (int l = 0; l < 16; ++l) {
            std::array<T, K> v = term(j + l);
            for (size_t k = 0; k < K; ++k) lanes[k][l] += v[k];
          }
        std::array<double, K> row{};
        for (; j < d.s; ++j) {
          std::array<T, K> v = term(j);
          for (size_t k = 0; k < K; ++k) row[k] += static_cast<double>(v[k]);
        }
        for (size_t k = 0; k < K; ++k) {
          for (T v : lanes[k]) row[k] += static_cast<double>(v);
          total[static_cast<size_t>(ch - lo)][k] += row[k];
        }
      }
    for (int64_t ch = lo; ch < hi; ++ch)
      for (size_t k = 0; k < K; ++k) out[k][ch] = total[static_cast<size_t>(ch - lo)][k];
  });
}

// out[r * S + j] = rows(ch, r)(j) for every element, ch the row's channel. The [N, C] layout walks
// samples with channels innermost, the [N, C, S] one rows; either way the loop over j is
// contiguous (and vectorized, the row's terms loop-invariant or contiguous).
template <class T, class Rows>
void channel_map(const Dims& d, T* out, const Rows& rows) {
  if (d.s == 0) return;
  if (d.s == 1) {
    parallel_for(0, d.n, std::max<int64_t>(1, 16384 / std::max<int64_t>(d.c, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        for (int64_t ch = 0; ch < d.c; ++ch) out[i * d.c + ch] = rows(ch, i * d.c + ch)(0);
    });
    return;
  }
  parallel_for(0, d.n * d.c, std::max<int64_t>(1, 16384 / d.s), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const auto value = rows(r % d.c, r);
      T* o = out + r * d.s;
      for (int64_t j = 0; j < d.s; ++j) o[j] = value(j);
    }
  });
}

}  // namespace ember::cpu
