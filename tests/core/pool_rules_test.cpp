// max_pool2d's choice of element, against a direct reference of PyTorch's rule (CPU kernel:
// `if ((val > maxval) || std::isnan(val))` over the window in row-major order, so the first
// maximum wins and a NaN, once taken, stays): on inputs full of ties (ReLU zeros, -0.0 beside
// +0.0, few distinct values) and NaNs, at widths spanning several tiles of the 2x2 fast path.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;

namespace {

// The reference: window (y, x) of a 2-D plane, kernel k, stride s, no padding.
void reference(const std::vector<float>& in, int64_t h, int64_t w, int64_t k, int64_t s, std::vector<float>& out,
               std::vector<int64_t>& idx) {
  int64_t oh = (h - k) / s + 1, ow = (w - k) / s + 1;
  out.assign(oh * ow, 0);
  idx.assign(oh * ow, -1);
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      float best = -INFINITY;
      int64_t at = -1;
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
          int64_t p = (y * s + i) * w + x * s + j;
          float v = in[p];
          if (at < 0 || (!std::isnan(best) && (v > best || std::isnan(v)))) best = v, at = p;
        }
      out[y * ow + x] = best;
      idx[y * ow + x] = at;
    }
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0 || (std::isnan(a) && std::isnan(b)); }

}  // namespace

TEST(MaxPoolRules, TiesSignedZerosAndNaNsPickWhatPyTorchPicks) {
  Generator g(11);
  const int64_t planes = 3;  // [1, 3, h, w]: each plane its own reference
  // One tile, several tiles and a ragged last tile along a row (129, 300), whole-row tiles of
  // one plane (28, 14) and of several per plane with a ragged last one (41 x 28: 20 output rows
  // of 14), odd sizes; with sparse NaNs (their tiles take the sequential rule) and without.
  for (auto [h, w] : {std::pair<int64_t, int64_t>{9, 7}, {9, 28}, {9, 129}, {9, 300}, {41, 28}, {15, 14}}) {
    for (bool nans : {true, false}) {
      for (int64_t k : {2, 3}) {  // the 2x2 fast path and the general one
        std::vector<float> in = randint(-3, 4, {planes * h * w}, TensorOptions(kFloat32), &g).to_vector<float>();  // few values
        for (size_t i = 0; i < in.size(); ++i) {
          if (in[i] < 0) in[i] = (i % 3 == 0) ? -0.0f : 0.0f;  // ReLU'd: runs of equal zeros of both signs
          if (nans && i % 97 == 5) in[i] = NAN;
        }
        PoolResult r = max_pool2d_with_indices(tensor(in, {1, planes, h, w}), k, k);
        std::vector<float> got = r.values.to_vector<float>();
        std::vector<int64_t> got_idx = r.indices.to_vector<int64_t>();
        for (int64_t p = 0; p < planes; ++p) {
          std::vector<float> plane(in.begin() + p * h * w, in.begin() + (p + 1) * h * w), want;
          std::vector<int64_t> want_idx;
          reference(plane, h, w, k, k, want, want_idx);
          ASSERT_EQ(got.size(), want.size() * planes);
          const size_t off = static_cast<size_t>(p) * want.size();
          for (size_t i = 0; i < want.size(); ++i) {
            std::string where = str(h, "x", w, nans ? " with NaNs" : "", " k ", k, " plane ", p, " output ", i);
            ASSERT_TRUE(same_bits(got[off + i], want[i])) << where << ": " << got[off + i] << " vs " << want[i];
            ASSERT_EQ(got_idx[off + i], want_idx[i]) << where;
          }
        }
      }
    }
  }
}

// The gradient goes to the element each window picked and nowhere else, with rows and columns no
// window covers (odd H and W) zero. The gradient's memory is handed out by the CPU block cache, so
// a block of the same size filled with NaN is freed just before: an element the kernel forgets
// to write shows as NaN.
TEST(MaxPoolRules, GradientReachesThePickedElementAndZeroesTheRest) {
  Generator g(12);
  for (int64_t w : {7, 28, 129}) {
    for (int64_t h : {8, 9}) {
      for (int64_t k : {2, 3}) {
        std::vector<float> in = randint(-3, 4, {h * w}, TensorOptions(kFloat32), &g).to_vector<float>();
        std::vector<float> want_out;
        std::vector<int64_t> idx;
        reference(in, h, w, k, k, want_out, idx);
        Tensor x = tensor(in, {1, 1, h, w}).requires_grad_(true);
        Tensor y = max_pool2d(x, k, k);
        Tensor gy = randn(y.sizes(), TensorOptions(kFloat32), &g);
        std::vector<float> go = gy.to_vector<float>(), want(static_cast<size_t>(h * w), 0.0f);
        for (size_t i = 0; i < idx.size(); ++i) want[static_cast<size_t>(idx[i])] += go[i];
        { Tensor junk = full({1, 1, h, w}, NAN); }
        y.backward(gy);
        std::vector<float> got = x.grad().to_vector<float>();
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_TRUE(same_bits(got[i], want[i])) << "h " << h << " w " << w << " k " << k << " element " << i << ": " << got[i]
                                                  << " vs " << want[i];
      }
    }
  }
}
