// Results are bit-identical from run to run for a fixed thread count, and kernels that never
// combine partial results agree across thread counts.
#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;

namespace {
// A small training-like computation touching GEMM, conv, reductions and elementwise kernels.
Tensor workload() {
  Generator g(3);
  Tensor x = randn({8, 3, 16, 16}, {}, &g), w = randn({8, 3, 3, 3}, {}, &g).requires_grad_();
  Tensor h = relu(conv2d(x, w, Tensor(), 1, 1));
  Tensor fc = randn({8 * 16 * 16, 10}, {}, &g).requires_grad_();
  Tensor logits = matmul(h.flatten(1), fc);
  Tensor loss = mean(logsumexp(logits, {1}));
  loss.backward();
  return cat({loss.reshape({1}).detach(), w.grad().flatten(), fc.grad().flatten()});
}
}  // namespace

TEST(Threads, SetAndGet) {
  set_num_threads(2);
  EXPECT_EQ(get_num_threads(), 2);
  set_num_threads(1);
  EXPECT_THROW(set_num_threads(0), ValueError);
}

TEST(Threads, BitIdenticalForAFixedThreadCount) {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor a = workload(), b = workload();
    EXPECT_TRUE(equal(a, b)) << threads << " threads";
  }
  set_num_threads(1);
}

TEST(Threads, ElementwiseAndReductionsAgreeAcrossThreadCounts) {
  Generator g(4);
  Tensor x = randn({300, 700}, {}, &g);
  set_num_threads(1);
  Tensor a = cat({exp(x).flatten(), sum(x, {0}), sum(x, {1}), mean(x).reshape({1})});
  set_num_threads(2);
  Tensor b = cat({exp(x).flatten(), sum(x, {0}), sum(x, {1}), mean(x).reshape({1})});
  set_num_threads(1);
  EXPECT_TRUE(equal(a, b));
}
