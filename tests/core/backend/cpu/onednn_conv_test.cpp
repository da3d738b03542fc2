// oneDNN's convolutions behind the CPU backend (core/backend/cpu/onednn_conv.h): forward, backward
// input and backward weight (with and without the bias) against ember's float64 im2col path, in
// the cnn's shape and in geometries that exercise oneDNN's padding arithmetic (stride 2 with a
// right padding smaller than the left, dilation, non-square kernels and images), at 1 and 2
// threads; the same bits again with the operands at other addresses; and the layers it must leave
// to im2col (few channels, a right padding oneDNN cannot express, float64).
#include <gtest/gtest.h>

#include "core/backend/cpu/onednn_conv.h"
#include "ember.h"

namespace ember::cpu {
namespace {

struct Geometry {
  int64_t n, c, oc, h, w, kh, kw, stride, pad, dilation;
  bool bias;
};

Conv2dParams params(const Geometry& g) {
  Conv2dParams p;
  p.stride_h = p.stride_w = g.stride;
  p.pad_h = p.pad_w = g.pad;
  p.dilation_h = p.dilation_w = g.dilation;
  return p;
}

struct Operands {
  Tensor x, w, b, grad_out;
};

Operands operands(const Geometry& g, uint64_t seed) {
  Generator gen(seed);
  Operands o;
  o.x = randn({g.n, g.c, g.h, g.w}, {}, &gen);
  o.w = mul(randn({g.oc, g.c, g.kh, g.kw}, {}, &gen), 0.1);
  if (g.bias) o.b = randn({g.oc}, {}, &gen);
  Tensor y = conv2d(o.x.to(kFloat64), o.w.to(kFloat64), g.bias ? o.b.to(kFloat64) : Tensor(), g.stride, g.pad, g.dilation);
  o.grad_out = randn(y.sizes(), {}, &gen);
  return o;
}

// ember's float64 path (im2col + GEMM; oneDNN takes float32 only): output and gradients.
struct Reference {
  Tensor y, gx, gw, gb;
};

Reference reference(const Geometry& g, const Operands& o) {
  Tensor x = o.x.to(kFloat64).requires_grad_(), w = o.w.to(kFloat64).requires_grad_();
  Tensor b = g.bias ? o.b.to(kFloat64).requires_grad_() : Tensor();
  Tensor y = conv2d(x, w, b, g.stride, g.pad, g.dilation);
  y.backward(o.grad_out.to(kFloat64));
  return {y.detach(), x.grad(), w.grad(), g.bias ? b.grad() : Tensor()};
}

// |got - want| <= 1e-4 * (1 + |want|) everywhere: float32 products of up to 32*9*128*196 terms.
void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(allclose(got.to(kFloat64), want, 1e-4, 1e-4)) << what << ": largest difference "
                                                           << max(abs(sub(got.to(kFloat64), want))).item();
}

struct Results {
  Tensor y, gx, gw, gb;
};

Results run_onednn(const Geometry& g, const Operands& o, const Reference& ref) {
  Conv2dParams p = params(g);
  Results r{empty(ref.y.sizes()), empty(o.x.sizes()), empty(o.w.sizes()), g.bias ? empty({g.oc}) : Tensor()};
  EXPECT_TRUE(onednn_conv2d(r.y, o.x, o.w, o.b, p));
  EXPECT_TRUE(onednn_conv2d_backward_input(r.gx, o.grad_out, o.w, p));
  EXPECT_TRUE(onednn_conv2d_backward_weight(r.gw, r.gb, o.grad_out, o.x, p));
  return r;
}

class OnednnConv : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!onednn_convolutions()) GTEST_SKIP() << "this build has no oneDNN (libdnnl-dev), or EMBER_ONEDNN_CONV=0";
  }
  void TearDown() override { set_num_threads(threads_); }
  int threads_ = get_num_threads();
};

TEST_F(OnednnConv, MatchesTheFloat64PathInEveryPass) {
  const Geometry cases[] = {
      {6, 32, 64, 14, 14, 3, 3, 1, 1, 1, true},   // the cnn's second layer, a smaller batch
      {3, 16, 24, 11, 9, 3, 3, 2, 0, 1, false},   // stride 2, no padding, not square
      {2, 16, 20, 8, 8, 3, 3, 2, 1, 1, true},     // stride 2: right padding 0 against left 1
      {2, 17, 16, 10, 12, 3, 5, 1, 2, 2, true},   // dilation 2, a 3x5 kernel, odd channels
      {1, 16, 16, 1, 1, 1, 1, 1, 0, 1, true},     // a 1x1 image and kernel
  };
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const Geometry& g : cases) {
      std::string what = "[" + std::to_string(g.n) + ", " + std::to_string(g.c) + ", " + std::to_string(g.h) + ", " +
                         std::to_string(g.w) + "] -> " + std::to_string(g.oc) + ", kernel " + std::to_string(g.kh) + "x" +
                         std::to_string(g.kw) + ", stride " + std::to_string(g.stride) + ", pad " + std::to_string(g.pad) +
                         ", dilation " + std::to_string(g.dilation) + ", " + std::to_string(threads) + " threads";
      Operands o = operands(g, 7);
      Reference ref = reference(g, o);
      Results r = run_onednn(g, o, ref);
      expect_close(r.y, ref.y, "forward " + what);
      expect_close(r.gx, ref.gx, "backward input " + what);
      expect_close(r.gw, ref.gw, "backward weight " + what);
      if (g.bias) expect_close(r.gb, ref.gb, "backward bias " + what);
      // Without a bias gradient asked for, the weight gradient is the same.
      Tensor gw = empty(o.w.sizes());
      EXPECT_TRUE(onednn_conv2d_backward_weight(gw, Tensor(), o.grad_out, o.x, params(g)));
      expect_close(gw, ref.gw, "backward weight, no bias " + what);
    }
  }
}

// A resumed run allocates differently and must still compute the same weights.
TEST_F(OnednnConv, SameBitsWithTheOperandsElsewhere) {
  const Geometry g{8, 32, 64, 14, 14, 3, 3, 1, 1, 1, true};
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Operands o = operands(g, 3);
    Reference ref = reference(g, o);
    Results first = run_onednn(g, o, ref);
    Tensor pad = empty({12345});  // shifts the allocator's next blocks
    Operands moved{o.x.clone(), o.w.clone(), o.b.clone(), o.grad_out.clone()};
    Results second = run_onednn(g, moved, ref);
    EXPECT_TRUE(equal(first.y, second.y)) << threads << " threads";
    EXPECT_TRUE(equal(first.gx, second.gx)) << threads << " threads";
    EXPECT_TRUE(equal(first.gw, second.gw)) << threads << " threads";
    EXPECT_TRUE(equal(first.gb, second.gb)) << threads << " threads";
  }
}

// The weight pass reuses the input pass's blocked copy of the output gradient only when it is
// the same gradient, unchanged: another tensor, or the same one modified in place in between,
// is reordered afresh (a stale copy would give a silently wrong weight gradient).
TEST_F(OnednnConv, TheWeightPassReusesTheInputPassGradientOnlyWhenUnchanged) {
  const Geometry g{4, 32, 48, 10, 10, 3, 3, 1, 1, 1, true};
  Conv2dParams p = params(g);
  Operands o = operands(g, 11), other = operands(g, 12);
  auto weight_grad = [&](const Tensor& grad_out) {
    Tensor gw = empty(o.w.sizes()), gb = empty({g.oc});
    EXPECT_TRUE(onednn_conv2d_backward_weight(gw, gb, grad_out, o.x, p));
    return gw;
  };
  Tensor alone = weight_grad(other.grad_out);  // no input pass before it
  Tensor gx = empty(o.x.sizes());
  ASSERT_TRUE(onednn_conv2d_backward_input(gx, o.grad_out, o.w, p));
  EXPECT_TRUE(equal(weight_grad(other.grad_out), alone)) << "a different gradient after the input pass";

  ASSERT_TRUE(onednn_conv2d_backward_input(gx, o.grad_out, o.w, p));
  Tensor unchanged = weight_grad(o.grad_out);
  ASSERT_TRUE(onednn_conv2d_backward_input(gx, o.grad_out, o.w, p));
  o.grad_out.mul_(2.0);  // in place between the two passes: scaling by 2 is exact, so twice the bits
  EXPECT_TRUE(equal(weight_grad(o.grad_out), mul(unchanged, 2.0))) << "the gradient modified in place between the passes";
}

// The layers oneDNN does not take run on im2col, and the conv2d op still gives their values.
TEST_F(OnednnConv, LeavesFewChannelsFloat64AndUnexpressiblePaddingToIm2col) {
  const Geometry few{2, 1, 32, 12, 12, 3, 3, 1, 1, 1, true};           // the cnn's first layer
  const Geometry leftover{2, 16, 16, 5, 5, 2, 2, 2, 0, 1, false};      // the last input row is never read
  for (const Geometry& g : {few, leftover}) {
    Operands o = operands(g, 5);
    Reference ref = reference(g, o);
    Tensor y = empty(ref.y.sizes());
    EXPECT_FALSE(onednn_conv2d(y, o.x, o.w, o.b, params(g)));
    expect_close(conv2d(o.x, o.w, o.b, g.stride, g.pad, g.dilation), ref.y, "conv2d on im2col");
  }
  Operands o = operands({1, 16, 16, 6, 6, 3, 3, 1, 1, 1, false}, 9);
  Tensor y64 = empty({1, 16, 6, 6}, kFloat64);
  EXPECT_FALSE(onednn_conv2d(y64, o.x.to(kFloat64), o.w.to(kFloat64), Tensor(), Conv2dParams{1, 1, 1, 1, 1, 1, 1}));
}

}  // namespace
}  // namespace ember::cpu
