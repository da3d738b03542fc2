// Sequential's fusions of a BatchNorm directly followed by a ReLU, and by a ReLU and a 2x2 stride-2
// MaxPool2d: the fused op runs (its grad_fn names it), and the model computes what running its
// modules one by one computes, bit for bit, values, running statistics and gradients; a ReLU
// subclass, a ReLU not directly after the BatchNorm, or another pooling, runs as written.
#include <gtest/gtest.h>

#include "ember.h"
#include "support/same_bits.h"

using namespace ember;

namespace {

// A ReLU whose forward does something else: Sequential must call it.
struct ShiftedReLU : nn::ReLU {
  Tensor forward(const Tensor& x) override { return add(relu(x), 1.0); }
};

// y = fused(x), whose last op must be `fused_op`, against h = the same modules run one by one
// (ending in `stepwise_op`): the same bits in the values, and after backward of the same gradient, in every parameter's gradient
// and every float buffer.
void expect_same_as_one_by_one(nn::Sequential& fused, nn::Sequential& stepwise, const Tensor& x, const std::string& fused_op,
                               const std::string& stepwise_op, const std::string& what) {
  Tensor y = fused.forward(x);
  EXPECT_EQ(y.grad_fn()->name, fused_op) << what;
  Tensor h = x;
  for (size_t i = 0; i < stepwise.size(); ++i) h = stepwise[i]->forward(h);
  EXPECT_EQ(h.grad_fn()->name, stepwise_op) << what;
  ASSERT_TRUE(same_bits(y, h)) << what;
  Tensor g = randn(y.sizes());
  y.backward(g);
  h.backward(g);
  auto a = fused.named_parameters(), b = stepwise.named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i].second.grad(), b[i].second.grad())) << what << ", " << a[i].first;
  auto sa = fused.named_buffers(), sb = stepwise.named_buffers();
  for (size_t i = 0; i < sa.size(); ++i)
    if (sa[i].second.dtype() == kFloat32) EXPECT_TRUE(same_bits(sa[i].second, sb[i].second)) << what << ", " << sa[i].first;
}

std::shared_ptr<nn::Sequential> conv_block() {
  manual_seed(3);
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(2, 4, 3).padding(1)),
                                          std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(4 * 25, 3),
                                          std::make_shared<nn::BatchNorm1d>(3), std::make_shared<nn::ReLU>());
}

}  // namespace

TEST(Sequential, FusesBatchNormAndReluWithTheSameResultsAsTheModulesOneByOne) {
  for (bool training : {true, false}) {
    auto fused = conv_block(), stepwise = conv_block();
    fused->train(training);
    stepwise->train(training);
    Tensor x = randn({6, 2, 5, 5});
    expect_same_as_one_by_one(*fused, *stepwise, x, "BatchNormReluBackward0", "ReluBackward0", training ? "training" : "eval");
  }
}

TEST(Sequential, FusesBatchNormReluAndMaxPoolWithTheSameResultsAsTheModulesOneByOne) {
  auto block = [] {
    manual_seed(4);
    return std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(2, 4, 3).padding(1)),
                                            std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::ReLU>(),
                                            std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)));
  };
  for (bool training : {true, false}) {
    auto fused = block(), stepwise = block();
    fused->train(training);
    stepwise->train(training);
    Tensor x = randn({6, 2, 7, 9});
    expect_same_as_one_by_one(*fused, *stepwise, x, "BatchNormReluMaxPoolBackward0", "MaxPool2DWithIndicesBackward0",
                              training ? "training" : "eval");
  }
  // Other windows are pooled as written, after the fused BatchNorm and ReLU.
  for (nn::Pool2dOptions other : {nn::Pool2dOptions(3), nn::Pool2dOptions(2).stride(1), nn::Pool2dOptions(2).padding(1),
                                  nn::Pool2dOptions(2).ceil_mode(true)}) {
    nn::Sequential s(std::make_shared<nn::BatchNorm2d>(2), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(other));
    EXPECT_EQ(s.forward(randn({2, 2, 5, 5})).grad_fn()->name, "MaxPool2DWithIndicesBackward0");
  }
}

TEST(Sequential, RunsAReluSubclassOrAnInterruptedPairAsWritten) {
  nn::Sequential custom(std::make_shared<nn::BatchNorm1d>(3), std::make_shared<ShiftedReLU>());
  Tensor x = randn({8, 3});
  Tensor y = custom.forward(x);
  EXPECT_EQ(y.grad_fn()->name, "AddBackward1");  // add(tensor, scalar), as PyTorch names it
  EXPECT_GE(min(y).item<double>(), 1.0);

  nn::Sequential apart(std::make_shared<nn::BatchNorm1d>(3), std::make_shared<nn::Dropout>(0.0), std::make_shared<nn::ReLU>());
  EXPECT_EQ(apart.forward(x).grad_fn()->name, "ReluBackward0");
}
