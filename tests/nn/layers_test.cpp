// float64 gradchecks of every layer and loss; Dropout and BatchNorm in train vs eval.
#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;
using Inputs = std::vector<Tensor>;

namespace {

// Checks d module(x)/d x and d module(x)/d params in float64.
void check_layer(nn::Module& m, const Tensor& x_in) {
  m.to(kFloat64);
  Tensor x = x_in.to(kFloat64).requires_grad_();
  std::vector<Tensor> inputs{x};
  for (Tensor& p : m.parameters()) inputs.push_back(p);
  GradcheckResult r = gradcheck([&](const Inputs& in) { return m.forward(in[0]); }, inputs);
  EXPECT_TRUE(r.ok) << m.type_name() << ": " << r.message;
}

void check_loss(nn::Loss& loss, const Tensor& input, const Tensor& target) {
  Tensor x = input.to(kFloat64).requires_grad_();
  GradcheckResult r = gradcheck([&](const Inputs& in) { return loss.forward(in[0], target); }, {x});
  EXPECT_TRUE(r.ok) << loss.type_name() << ": " << r.message;
}

class Layers : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(0); }
};

}  // namespace

TEST_F(Layers, GradcheckEveryLayer) {
  nn::Linear linear(4, 3);
  check_layer(linear, randn({2, 4}));
  nn::Conv2d conv(nn::Conv2dOptions(2, 3, 3).padding(1).stride(2));
  check_layer(conv, randn({2, 2, 5, 5}));
  nn::BatchNorm1d bn1(3);
  check_layer(bn1, randn({5, 3}));
  nn::BatchNorm2d bn2(2);
  check_layer(bn2, randn({3, 2, 3, 3}));
  nn::LayerNorm ln(nn::LayerNormOptions({4}));
  check_layer(ln, randn({3, 4}));
  nn::Sequential seq(std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Tanh>(), std::make_shared<nn::GELU>(),
                     std::make_shared<nn::LeakyReLU>(0.1), std::make_shared<nn::Sigmoid>(), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::Softmax>(1), std::make_shared<nn::LogSoftmax>(1));
  check_layer(seq, randn({2, 3}));
  nn::Sequential pools(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)), std::make_shared<nn::AvgPool2d>(nn::Pool2dOptions(2).stride(1)),
                       std::make_shared<nn::AdaptiveAvgPool2d>(Size2(2, 1)), std::make_shared<nn::Flatten>(),
                       std::make_shared<nn::Unflatten>(1, Shape{2, 2}), std::make_shared<nn::Identity>());
  check_layer(pools, randn({2, 2, 6, 6}));
  nn::Embedding emb(5, 2);
  emb.to(kFloat64);
  Tensor idx = tensor(std::vector<int64_t>{4, 0, 4});
  GradcheckResult r = gradcheck([&](const Inputs&) { return emb.forward(idx); }, {emb.weight});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST_F(Layers, GradcheckEveryLoss) {
  Tensor target = tensor(std::vector<int64_t>{0, 2, 1, 2});
  nn::CrossEntropyLoss ce(nn::CrossEntropyOptions().weight(tensor({0.5, 1.0, 2.0}, kFloat64)).label_smoothing(0.1).ignore_index(1));
  check_loss(ce, randn({4, 3}), target);
  nn::NLLLoss nll;
  check_loss(nll, randn({4, 3}), target);
  Tensor y = randn({3, 2}, kFloat64);
  nn::MSELoss mse;
  check_loss(mse, randn({3, 2}), y);
  nn::L1Loss l1(nn::Reduction::Sum);
  check_loss(l1, randn({3, 2}), y);
  nn::SmoothL1Loss sl1(nn::Reduction::Mean, 0.5);
  check_loss(sl1, randn({3, 2}), y);
  nn::BCEWithLogitsLoss bce(Tensor(), tensor({2.0, 0.5}, kFloat64));
  check_loss(bce, randn({3, 2}), tensor({1, 0, 0, 1, 1, 1}, Shape{3, 2}, kFloat64));
}

TEST_F(Layers, DropoutIsIdentityInEvalAndMasksInTrain) {
  nn::Dropout drop(0.5);
  Tensor x = ones({1000});
  drop.eval();
  EXPECT_TRUE(equal(drop.forward(x), x));
  drop.train();
  Tensor y = drop.forward(x);
  double zeros = sum(eq(y, 0.0)).item();
  EXPECT_GT(zeros, 400);
  EXPECT_LT(zeros, 600);
  EXPECT_EQ(max(y).item(), 2.0);
  nn::Dropout2d drop2d(0.5);
  Tensor z = drop2d.forward(ones({4, 8, 3, 3}));
  Tensor per_channel = amax(z, {2, 3});  // each channel is all kept or all zero
  EXPECT_TRUE(equal(amin(z, {2, 3}), per_channel));
}

TEST_F(Layers, BatchNormTrainUpdatesRunningStatsEvalUsesThem) {
  nn::BatchNorm1d bn(nn::BatchNormOptions(2).momentum(0.5));
  Tensor x = tensor({1, 10, 3, 20, 5, 30}, Shape{3, 2});
  Tensor y = bn.forward(x);
  // Batch mean [3, 20], biased var [8/3, 200/3] for normalisation; unbiased [4, 100] for running.
  EXPECT_TRUE(allclose(bn.running_mean, tensor({1.5, 10.0}), 1e-6));
  EXPECT_TRUE(allclose(bn.running_var, tensor({0.5 + 0.5 * 4, 0.5 + 0.5 * 100}), 1e-6));
  EXPECT_EQ(bn.num_batches_tracked.item(), 1);
  EXPECT_TRUE(allclose(mean(y, {0}), zeros({2}), 1e-5, 1e-5));
  bn.eval();
  Tensor e1 = bn.forward(x), e2 = bn.forward(x);
  EXPECT_TRUE(equal(e1, e2));  // deterministic
  EXPECT_EQ(bn.num_batches_tracked.item(), 1);  // eval does not count
  Tensor expected = div(sub(x, bn.running_mean), sqrt(add(bn.running_var, 1e-5)));
  EXPECT_TRUE(allclose(e1, expected, 1e-5, 1e-6));
}

TEST_F(Layers, BatchNormWrongInputIsAClearError) {
  nn::BatchNorm2d bn(3);
  try {
    bn.forward(randn({2, 4, 5, 5}));
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 3 channels"), std::string::npos) << e.what();
  }
  EXPECT_THROW(bn.forward(randn({2, 3})), ValueError);
}

TEST_F(Layers, CrossEntropyRejectsBadTargets) {
  EXPECT_THROW(nn::cross_entropy(randn({2, 3}), tensor(std::vector<int64_t>{0, 3})), IndexError);
  EXPECT_THROW(nn::cross_entropy(randn({2, 3}), tensor({0.0, 1.0})), ValueError);
  EXPECT_THROW(nn::cross_entropy(randn({2, 3}), tensor(std::vector<int64_t>{0, 1, 2})), ValueError);
}
