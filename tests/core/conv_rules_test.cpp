// conv2d's forward (with a bias) and all three gradients against a direct float64 reference (the definition, summed
// tap by tap), at widths where the patch matrix's runs span one, several and a ragged number of
// 64-byte blocks, with strides, padding, dilation and groups, at 1 and 2 threads. The gradchecks
// prove the gradients are the forward's; this proves the forward is the convolution.
#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;

namespace {

struct Case {
  int64_t n, c, h, w, oc, kh, kw;
  Size2 stride, pad, dilation;
  int64_t groups;
};

struct Reference {
  std::vector<double> out, grad_input, grad_weight, grad_bias;
};

// y[b, o, i, j] = bias[o] + sum over (c, ki, kj) of x[b, g*cg + c, i*sh - ph + ki*dh, j*sw - pw + kj*dw] * w[o, c, ki, kj],
// and the gradients for an upstream gradient dy, by the same loop.
Reference reference(const Case& k, const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& bias,
                    const std::vector<double>& dy, int64_t oh, int64_t ow) {
  const int64_t cg = k.c / k.groups, ocg = k.oc / k.groups;
  Reference r{std::vector<double>(k.n * k.oc * oh * ow), std::vector<double>(x.size()), std::vector<double>(w.size()),
              std::vector<double>(bias.size())};
  for (int64_t b = 0; b < k.n; ++b)
    for (int64_t o = 0; o < k.oc; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t at = ((b * k.oc + o) * oh + i) * ow + j;
          r.out[at] += bias[o];
          r.grad_bias[o] += dy[at];
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ki = 0; ki < k.kh; ++ki)
              for (int64_t kj = 0; kj < k.kw; ++kj) {
                int64_t y = i * k.stride.h - k.pad.h + ki * k.dilation.h, xx = j * k.stride.w - k.pad.w + kj * k.dilation.w;
                if (y < 0 || y >= k.h || xx < 0 || xx >= k.w) continue;
                int64_t xi = ((b * k.c + (o / ocg) * cg + c) * k.h + y) * k.w + xx, wi = ((o * cg + c) * k.kh + ki) * k.kw + kj;
                r.out[at] += x[xi] * w[wi];
                r.grad_input[xi] += dy[at] * w[wi];
                r.grad_weight[wi] += dy[at] * x[xi];
              }
        }
  return r;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i]))) << what << " element " << i;
}

}  // namespace

TEST(ConvRules, ForwardAndGradientsAreTheConvolution) {
  const std::vector<Case> cases = {
      {2, 1, 28, 28, 4, 3, 3, 1, 1, 1, 1},          // the cnn's first layer: runs of 28 (two blocks, ragged)
      {2, 3, 14, 14, 5, 3, 3, 1, 1, 1, 1},          // its second: runs of 14 (under one block)
      {1, 2, 9, 33, 3, 3, 3, 1, 1, 1, 1},           // runs of 33: several blocks of doubles and a ragged one
      {1, 2, 7, 21, 2, 1, 1, 1, 0, 1, 1},           // 1x1, no padding
      {1, 2, 11, 19, 3, 5, 3, {2, 1}, {2, 1}, 1, 1},  // stride along H only (the padded path), non-square kernel
      {1, 2, 13, 20, 2, 3, 3, 1, 2, 2, 1},          // dilation
      {2, 4, 10, 17, 6, 3, 3, 1, 1, 1, 2},          // groups
      {1, 2, 12, 23, 3, 3, 3, {1, 2}, 1, 1, 1},     // stride along W (the general path)
      {5, 2, 6, 7, 3, 3, 3, 1, 1, 1, 1},            // several samples per thread: chunk partials, bias sums
  };
  Generator gen(5);
  const int before = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const Case& k : cases) {
      Tensor x = randn({k.n, k.c, k.h, k.w}, TensorOptions(kFloat64), &gen).requires_grad_();
      Tensor w = randn({k.oc, k.c / k.groups, k.kh, k.kw}, TensorOptions(kFloat64), &gen).requires_grad_();
      Tensor bias = randn({k.oc}, TensorOptions(kFloat64), &gen).requires_grad_();
      Tensor y = conv2d(x, w, bias, k.stride, k.pad, k.dilation, k.groups);
      Tensor dy = randn(y.sizes(), TensorOptions(kFloat64), &gen);
      y.backward(dy);
      std::string what = "case c " + std::to_string(k.c) + " h " + std::to_string(k.h) + " w " + std::to_string(k.w) +
                         " at " + std::to_string(threads) + " thread(s): ";
      Reference want = reference(k, x.to_vector<double>(), w.to_vector<double>(), bias.to_vector<double>(), dy.to_vector<double>(),
                                 y.size(2), y.size(3));
      expect_close(y.to_vector<double>(), want.out, what + "output");
      expect_close(x.grad().to_vector<double>(), want.grad_input, what + "input gradient");
      expect_close(w.grad().to_vector<double>(), want.grad_weight, what + "weight gradient");
      expect_close(bias.grad().to_vector<double>(), want.grad_bias, what + "bias gradient");
    }
  }
  set_num_threads(before);
}
