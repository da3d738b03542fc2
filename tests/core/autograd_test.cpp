// Autograd semantics as in PyTorch: leaves and non-leaves, accumulation, retain_graph, no_grad,
// detach, retain_grad, in-place rules and version counters.
#include <gtest/gtest.h>

#include "ember.h"
#include "support/error_of.h"

using namespace ember;

TEST(Autograd, LeafAndNonLeaf) {
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor y = mul(x, 2.0);
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(y.grad_fn()->name, "MulBackward1");
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 2, 2}));
  EXPECT_FALSE(y.grad().defined());  // non-leaf grads are not kept by default
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = tensor({1.0, -1.0}).requires_grad_();
  sum(mul(x, x)).backward();
  sum(mul(x, 3.0)).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2 + 3, -2 + 3}));
}

TEST(Autograd, SharedSubexpressionSumsBothPaths) {
  Tensor x = tensor({3.0}).requires_grad_();
  Tensor y = mul(x, x);        // dy/dx = 2x
  Tensor z = add(y, mul(y, x));  // z = x^2 + x^3, dz/dx = 2x + 3x^2
  z.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 2 * 3 + 3 * 9);
}

TEST(Autograd, SecondBackwardWithoutRetainGraphThrows) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward();
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("second time"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor y = sum(mul(x, x));
  y.backward(Tensor(), true);
  y.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{4, 8}));
}

TEST(Autograd, NoGradGuardStopsRecording) {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = mul(x, 2.0);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_FALSE(is_grad_enabled());
  }
  EXPECT_TRUE(is_grad_enabled());
  EXPECT_TRUE(mul(x, 2.0).requires_grad());
}

TEST(Autograd, DetachSharesStorageAndCutsHistory) {
  Tensor x = ones({3}).requires_grad_();
  Tensor y = mul(x, 2.0);
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.storage().is_same(y.storage()));
  Tensor z = sum(mul(d, x));
  z.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 2, 2}));  // d is a constant
}

TEST(Autograd, RetainGradKeepsNonLeafGradient) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor y = mul(x, 3.0);
  y.retain_grad();
  sum(mul(y, y)).backward();
  EXPECT_EQ(y.grad().to_vector<float>(), (std::vector<float>{6, 12}));
}

TEST(Autograd, ImplicitGradientOnlyForOneElement) {
  Tensor x = ones({2}).requires_grad_();
  EXPECT_THROW(mul(x, 2.0).backward(), Error);
  Tensor y = mul(x, 2.0);
  y.backward(tensor({1.0, 10.0}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 20}));
}

TEST(Autograd, BackwardOnTensorWithoutGradThrows) {
  EXPECT_THROW(sum(ones({2})).backward(), Error);
}

TEST(Autograd, InPlaceOnLeafRequiringGradThrowsUnlessNoGrad) {
  Tensor w = ones({2}).requires_grad_();
  EXPECT_THROW(w.add_(1.0), Error);
  {
    NoGradGuard guard;
    w.add_(1.0);
  }
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{2, 2}));
}

TEST(Autograd, StoredGradDoesNotAliasOtherGradients) {
  // add passes the same gradient to both inputs; updating one .grad in place must not touch the other.
  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  sum(add(a, b)).backward();
  a.grad().mul_(5.0);
  EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{1, 1}));
}

TEST(Autograd, IntegerTensorsCannotRequireGrad) {
  EXPECT_THROW(arange(3).requires_grad_(), ValueError);
}

TEST(Autograd, DtypeConversionPassesGradientBack) {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  sum(mul(x.to(kFloat32), 3.0)).backward();
  EXPECT_EQ(x.grad().dtype(), kFloat64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 3}));
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = tensor({1.0}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = add(y, 0.0);
  y.backward();
  EXPECT_EQ(x.grad().item(), 1.0);
}

// Version counters: a tensor saved for backward and then modified in place (directly, through a
// view, or through a detached alias) makes backward fail with a clear error instead of a wrong
// gradient; modifying data the backward does not read stays allowed, as in PyTorch.
TEST(Autograd, InPlaceChangeToASavedTensorIsDetected) {
  Tensor w = randn({3, 4}).requires_grad_();
  Tensor x = randn({2, 3});  // does not require grad, but mm saves it for w's gradient
  Tensor y = sum(mm(x, w));
  x.mul_(2.0);
  std::string err = error_of([&] { y.backward(); });
  EXPECT_NE(err.find("MmBackward0"), std::string::npos) << err;
  EXPECT_NE(err.find("modified by an in-place operation"), std::string::npos) << err;
  EXPECT_FALSE(w.grad().defined());  // nothing was accumulated from the failed backward

  Tensor x2 = randn({2, 3});
  Tensor y2 = sum(mm(x2, w));
  x2.select(0, 1).fill_(0.0);  // through a view of the saved tensor
  EXPECT_THROW(y2.backward(), Error);

  Tensor x3 = randn({2, 3});
  Tensor y3 = sum(mm(x3, w));
  Tensor alias = x3.detach();
  alias.add_(1.0);  // through a detached alias: same storage
  EXPECT_THROW(y3.backward(), Error);

  Tensor a = randn({3}).requires_grad_();
  Tensor b = randn({3});
  Tensor z = sum(exp(a));  // exp saves its output, not its input
  Tensor s = sum(add(a, b));  // add saves nothing
  b.mul_(3.0);
  EXPECT_NO_THROW(s.backward());
  EXPECT_NO_THROW(z.backward());
  EXPECT_TRUE(a.grad().defined());
}

// mul and div save, and differentiate for, only what a needed gradient reads, as PyTorch's
// MulBackward0 / DivBackward0: for h * mask with a constant mask the mask is saved and h is not.
TEST(Autograd, MulAndDivSaveOnlyWhatANeededGradientReads) {
  Tensor x = tensor({1.0, -2.0, 3.0}).requires_grad_();
  Tensor mask = tensor({0.0, 2.0, 2.0});
  Tensor h = mul(x, 3.0);
  Tensor y = sum(mul(h, mask));
  h.detach().add_(1.0);  // h's storage changes, but the backward does not read h (mask needs no gradient)
  ASSERT_NO_THROW(y.backward());
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0.0f, 6.0f, 6.0f}));

  Tensor h2 = mul(x, 3.0);
  Tensor y2 = sum(mul(h2, mask));
  mask.mul_(2.0);  // the mask is read: still an error
  EXPECT_NE(error_of([&] { y2.backward(); }).find("MulBackward0"), std::string::npos);

  Tensor num = tensor({4.0, 6.0});
  Tensor den = tensor({2.0, 3.0}).requires_grad_();
  Tensor q = sum(div(num, den));  // d/dden (num/den) = -num/den^2
  num.mul_(10.0);  // num's values are not read: the backward uses den and the output
  ASSERT_NO_THROW(q.backward());
  EXPECT_EQ(den.grad().to_vector<float>(), (std::vector<float>{-1.0f, -2.0f / 3.0f}));

  Tensor top = tensor({4.0, 6.0}).requires_grad_();
  Tensor quotient = div(top, tensor({2.0, 4.0}));
  Tensor r = sum(mul(quotient, 3.0));
  quotient.detach().add_(1.0);  // the output is read only by the divisor's gradient, not needed here
  ASSERT_NO_THROW(r.backward());
  EXPECT_EQ(top.grad().to_vector<float>(), (std::vector<float>{1.5f, 0.75f}));

  Tensor q2 = div(num, den);
  Tensor r2 = sum(mul(q2, 3.0));
  q2.detach().add_(1.0);  // the divisor needs a gradient: the output is read, still an error
  EXPECT_NE(error_of([&] { r2.backward(); }).find("DivBackward0"), std::string::npos);
}

TEST(Autograd, InPlaceChangeToASavedOutputUnderNoGradIsDetected) {
  Tensor a = randn({4}).requires_grad_();
  Tensor e = exp(a);
  Tensor loss = sum(e);
  {
    NoGradGuard no_grad;
    e.add_(1.0);  // allowed under NoGradGuard, but exp's backward reads e
  }
  EXPECT_NE(error_of([&] { loss.backward(); }).find("ExpBackward0"), std::string::npos);
}

TEST(Autograd, OptimizerStepBetweenRetainedBackwardsIsDetected) {
  // Training code that steps the optimizer and then reuses a retained graph would compute
  // gradients with weights the forward pass never saw.
  Tensor w = randn({3, 2}).requires_grad_();
  Tensor x = randn({4, 3});
  Tensor loss = sum(mm(x, w));
  loss.backward({}, true);
  optim::SGD opt({w}, optim::SGDOptions(0.1));
  opt.step();
  EXPECT_NE(error_of([&] { loss.backward(); }).find("modified by an in-place operation"), std::string::npos);
}

// Post-accumulate-grad hooks and queued callbacks: what DistributedDataParallel builds on.
TEST(AutogradHooks, PostAccumulateHookRunsOnceAfterTheLastGradientOfAPass) {
  Tensor w = tensor({1.0, 2.0}).requires_grad_();
  Tensor unused = tensor({5.0}).requires_grad_();
  std::vector<std::vector<float>> seen;
  int unused_calls = 0, callbacks = 0;
  w.register_post_accumulate_grad_hook([&](const Tensor& leaf) {
    seen.push_back(leaf.grad().to_vector<float>());
    autograd::queue_callback([&] { ++callbacks; });
  });
  unused.register_post_accumulate_grad_hook([&](const Tensor&) { ++unused_calls; });
  // w is used twice: the hook must see the sum of both contributions, once.
  Tensor y = (mul(w, w) + mul(w, tensor({3.0, 3.0}))).sum() + mul(unused, tensor({0.0})).sum() * 0.0;
  y.backward();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (std::vector<float>{5, 7}));  // 2w + 3
  EXPECT_EQ(callbacks, 1);  // after backward, not during it
  EXPECT_EQ(unused_calls, 1);
  (w * 1.0).sum().backward();  // a second pass: the hook runs again, grads accumulated
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], (std::vector<float>{6, 8}));
  EXPECT_EQ(unused_calls, 1);  // not in that graph
  EXPECT_THROW(autograd::queue_callback([] {}), Error);  // outside backward
  EXPECT_THROW(mul(w, w).register_post_accumulate_grad_hook([](const Tensor&) {}), ValueError);  // not a leaf
}
