// batch_norm_relu against relu(batch_norm(...)): the same values, running statistics and
// gradients bit for bit, in training and evaluation, on [N, C] and [N, C, H, W] inputs holding
// exact zeros after normalization (where the ReLU's mask decides), at 1 and 2 threads; and the
// backend's unfused default (what a backend without the fused kernel runs) against the CPU's
// fused kernel.
#include <gtest/gtest.h>


#include "core/backend/backend.h"
#include "ember.h"
#include "support/same_bits.h"

using namespace ember;

TEST(BatchNormRelu, MatchesReluOfBatchNormBitForBit) {
  const int before = get_num_threads();
  Generator gen(21);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (Shape shape : {Shape{64, 12}, Shape{8, 6, 5, 7}, Shape{4, 3, 28, 28}}) {
      for (bool training : {true, false}) {
        const int64_t c = shape[1];
        Tensor x = input_with_ties(shape, gen);
        Tensor w = add(rand({c}, TensorOptions(kFloat32), &gen), 0.5), b = randn({c}, TensorOptions(kFloat32), &gen);
        Tensor rm0 = randn({c}, TensorOptions(kFloat32), &gen), rv0 = add(rand({c}, TensorOptions(kFloat32), &gen), 0.5);
        Tensor g = randn(shape, TensorOptions(kFloat32), &gen);
        std::string what = str("shape ", shape, training ? " training" : " eval", " threads ", threads);

        Tensor x1 = x.clone().requires_grad_(true), w1 = w.clone().requires_grad_(true), b1 = b.clone().requires_grad_(true);
        Tensor rm1 = rm0.clone(), rv1 = rv0.clone();
        Tensor want = relu(batch_norm(x1, rm1, rv1, w1, b1, training, 0.1, 1e-5));
        want.backward(g);

        Tensor x2 = x.clone().requires_grad_(true), w2 = w.clone().requires_grad_(true), b2 = b.clone().requires_grad_(true);
        Tensor rm2 = rm0.clone(), rv2 = rv0.clone();
        Tensor got = batch_norm_relu(x2, rm2, rv2, w2, b2, training, 0.1, 1e-5);
        EXPECT_EQ(got.grad_fn()->name, "BatchNormReluBackward0");
        got.backward(g);

        ASSERT_GT(sum(eq(want, 0.0)).item<double>(), 0) << what << ": no zeros, the mask is not exercised";
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

TEST(BatchNormRelu, TheBackendsUnfusedDefaultMatchesTheFusedKernel) {
  Generator gen(22);
  const int64_t n = 16, c = 5, s = 37;
  Tensor x = input_with_ties({n, c, s}, gen), g = randn({n, c, s}, TensorOptions(kFloat32), &gen);
  Tensor mean = randn({c}, TensorOptions(kFloat32), &gen), invstd = add(rand({c}, TensorOptions(kFloat32), &gen), 0.5);
  Backend& cpu = backend_of(x);
  // With weight and bias, and without (affine=False): the CPU recomputes the ReLU's mask from
  // the input and these terms, the default reads it from the output.
  for (bool affine : {true, false}) {
    Tensor w = affine ? randn({c}, TensorOptions(kFloat32), &gen) : Tensor();
    Tensor b = affine ? randn({c}, TensorOptions(kFloat32), &gen) : Tensor();
    const std::string what = affine ? "affine" : "no affine";
    Tensor fused = empty({n, c, s}), unfused = empty({n, c, s});
    cpu.batch_norm_apply_relu(fused, x, mean, invstd, w, b);
    cpu.Backend::batch_norm_apply_relu(unfused, x, mean, invstd, w, b);
    expect_same_bits(fused, unfused, what + ", apply");
    ASSERT_GT(sum(eq(fused, 0.0)).item<double>(), 0) << what << ": no zeros, the mask is not exercised";
    for (bool training : {true, false}) {
      Tensor gx1 = empty({n, c, s}), gw1 = empty({c}), gb1 = empty({c});
      Tensor gx2 = empty({n, c, s}), gw2 = empty({c}), gb2 = empty({c});
      cpu.batch_norm_relu_backward(gx1, gw1, gb1, g, fused, x, mean, invstd, w, b, training);
      cpu.Backend::batch_norm_relu_backward(gx2, gw2, gb2, g, fused, x, mean, invstd, w, b, training);
      expect_same_bits(gx1, gx2, what + ", input grad");
      expect_same_bits(gw1, gw2, what + ", weight grad");
      expect_same_bits(gb1, gb2, what + ", bias grad");
    }
  }
}
