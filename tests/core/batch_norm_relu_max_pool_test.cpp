// batch_norm_relu_max_pool2d against max_pool2d(relu(batch_norm(...)), 2): the same values,
// running statistics and gradients bit for bit, in training and evaluation, with odd heights and
// widths (the last row and column belong to no window), ties (values that normalize to exactly 0,
// where the ReLU's mask and the pool's first-maximum rule both decide) and a channel holding a
// NaN, at 1 and 2 threads; and the backend's unfused default against the CPU's kernels, which
// pool the activations without writing them and feed the pool's gradient straight to the batch
// norm's backward.
#include <gtest/gtest.h>

#include <limits>

#include "core/backend/backend.h"
#include "ember.h"
#include "support/same_bits.h"

using namespace ember;

TEST(BatchNormReluMaxPool, MatchesTheThreeOpsBitForBit) {
  const int before = get_num_threads();
  Generator gen(31);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (Shape shape : {Shape{8, 6, 5, 7}, Shape{4, 3, 28, 28}, Shape{3, 2, 2, 2}, Shape{2, 3, 9, 600}}) {
      for (bool training : {true, false}) {
        const int64_t c = shape[1];
        Tensor x = input_with_ties(shape, gen);
        if (shape[2] == 28) x.select(1, 2).select(1, 3).select(1, 4).fill_(std::numeric_limits<double>::quiet_NaN());
        Tensor w = add(rand({c}, TensorOptions(kFloat32), &gen), 0.5), b = randn({c}, TensorOptions(kFloat32), &gen);
        Tensor rm0 = randn({c}, TensorOptions(kFloat32), &gen), rv0 = add(rand({c}, TensorOptions(kFloat32), &gen), 0.5);
        std::string what = str("shape ", shape, training ? " training" : " eval", " threads ", threads);

        Tensor x1 = x.clone().requires_grad_(true), w1 = w.clone().requires_grad_(true), b1 = b.clone().requires_grad_(true);
        Tensor rm1 = rm0.clone(), rv1 = rv0.clone();
        Tensor want = max_pool2d(relu(batch_norm(x1, rm1, rv1, w1, b1, training, 0.1, 1e-5)), 2);
        Tensor g = randn(want.sizes(), TensorOptions(kFloat32), &gen);
        want.backward(g);

        Tensor x2 = x.clone().requires_grad_(true), w2 = w.clone().requires_grad_(true), b2 = b.clone().requires_grad_(true);
        Tensor rm2 = rm0.clone(), rv2 = rv0.clone();
        Tensor got = batch_norm_relu_max_pool2d(x2, rm2, rv2, w2, b2, training, 0.1, 1e-5);
        EXPECT_EQ(got.grad_fn()->name, "BatchNormReluMaxPoolBackward0");
        got.backward(g);

        expect_same_bits(got, want, what + ", output");
        expect_same_bits(rm2, rm1, what + ", running mean");
        expect_same_bits(rv2, rv1, what + ", running var");
        expect_same_bits(x2.grad(), x1.grad(), what + ", input grad");
        expect_same_bits(w2.grad(), w1.grad(), what + ", weight grad");
        expect_same_bits(b2.grad(), b1.grad(), what + ", bias grad");
      }
    }
  }
  set_num_threads(before);
}

TEST(BatchNormReluMaxPool, TheBackendsUnfusedDefaultMatchesTheCpuKernel) {
  Generator gen(32);
  const int64_t n = 4, c = 5, h = 9, w = 14;
  Tensor x = input_with_ties({n, c, h, w}, gen);
  Tensor mean = randn({c}, TensorOptions(kFloat32), &gen), invstd = add(rand({c}, TensorOptions(kFloat32), &gen), 0.5);
  Backend& cpu = backend_of(x);
  EXPECT_FALSE(cpu.batch_norm_relu_backward_reads_output());
  for (bool affine : {true, false}) {
    Tensor wt = affine ? randn({c}, TensorOptions(kFloat32), &gen) : Tensor();
    Tensor b = affine ? randn({c}, TensorOptions(kFloat32), &gen) : Tensor();
    const std::string what = affine ? "affine" : "no affine";
    Tensor pooled1 = empty({n, c, h / 2, w / 2}), pooled2 = empty({n, c, h / 2, w / 2});
    Tensor idx1 = empty({n, c, h / 2, w / 2}, kInt64), idx2 = empty({n, c, h / 2, w / 2}, kInt64);
    Tensor activations = empty({n, c, h, w}), want_activations = empty({n, c, h * w});
    cpu.batch_norm_relu_max_pool2x2(pooled1, idx1, Tensor(), x, mean, invstd, wt, b);
    cpu.Backend::batch_norm_relu_max_pool2x2(pooled2, idx2, activations, x, mean, invstd, wt, b);
    cpu.batch_norm_apply_relu(want_activations, x.view({n, c, h * w}), mean, invstd, wt, b);
    expect_same_bits(pooled1, pooled2, what + ", pooled");
    EXPECT_TRUE(equal(idx1, idx2)) << what << ", indices";
    expect_same_bits(activations.view({n, c, h * w}), want_activations, what + ", the default's activations");
    ASSERT_GT(sum(eq(pooled1, 0.0)).item<double>(), 0) << what << ": no zeros, ReLU's ties are not exercised";
    // The backward: the CPU feeds the pool's gradient to the batch norm's passes, the default
    // scatters it into a dense gradient first (reading the activations for the ReLU's mask).
    Tensor gp = randn(pooled1.sizes(), TensorOptions(kFloat32), &gen);
    for (bool training : {true, false}) {
      Tensor gx1 = empty({n, c, h, w}), gw1 = empty({c}), gb1 = empty({c});
      Tensor gx2 = empty({n, c, h, w}), gw2 = empty({c}), gb2 = empty({c});
      cpu.batch_norm_relu_max_pool2x2_backward(gx1, gw1, gb1, gp, idx1, Tensor(), x, mean, invstd, wt, b, training);
      cpu.Backend::batch_norm_relu_max_pool2x2_backward(gx2, gw2, gb2, gp, idx2, activations, x, mean, invstd, wt, b, training);
      const std::string pass = what + (training ? ", training" : ", eval");
      expect_same_bits(gx1, gx2, pass + ", input grad");
      expect_same_bits(gw1, gw2, pass + ", weight grad");
      expect_same_bits(gb1, gb2, pass + ", bias grad");
    }
  }
}
