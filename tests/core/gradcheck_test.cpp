// float64 finite-difference gradchecks of every differentiable op, with broadcasting and
// non-contiguous (transposed, sliced) inputs.
#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;
using Inputs = std::vector<Tensor>;

namespace {

Tensor input(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  Tensor t = add(mul(rand(shape, kFloat64), hi - lo), lo);
  return t.requires_grad_();
}
// A non-contiguous input: the transpose of a fresh [shape[1], shape[0]] tensor.
Tensor transposed(int64_t rows, int64_t cols, double lo = -1.0, double hi = 1.0) {
  Tensor base = add(mul(rand({cols, rows}, kFloat64), hi - lo), lo);
  Tensor t = base.t();
  t.impl()->requires_grad = true;  // a leaf view: gradcheck perturbs it through its strides
  return t;
}

void check(const GradcheckFn& fn, const Inputs& inputs) {
  GradcheckResult r = gradcheck(fn, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

class Gradcheck : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(7); }
};

TEST_F(Gradcheck, BroadcastingArithmetic) {
  check([](const Inputs& x) { return add(x[0], x[1], 0.5); }, {input({3, 4}), input({4})});
  check([](const Inputs& x) { return sub(x[0], x[1]); }, {input({2, 1, 3}), input({4, 1})});
  check([](const Inputs& x) { return mul(x[0], x[1]); }, {transposed(3, 4), input({3, 1})});
  check([](const Inputs& x) { return div(x[0], x[1]); }, {input({3, 4}), input({4}, 0.5, 2.0)});
  check([](const Inputs& x) { return pow(x[0], x[1]); }, {input({3, 4}, 0.5, 2.0), input({4})});
  check([](const Inputs& x) { return maximum(x[0], x[1]); }, {input({3, 4}), input({4})});
  check([](const Inputs& x) { return minimum(x[0], x[1]); }, {input({3, 4}), input({3, 1})});
}

TEST_F(Gradcheck, ScalarArithmetic) {
  check([](const Inputs& x) { return add(mul(sub(x[0], 0.3), 1.7), 2.0); }, {input({5})});
  check([](const Inputs& x) { return div(rsub(x[0], 1.0), 3.0); }, {transposed(2, 3)});
  check([](const Inputs& x) { return pow(x[0], 2.5); }, {input({5}, 0.2, 2.0)});
  check([](const Inputs& x) { return neg(x[0]); }, {input({2, 2})});
}

TEST_F(Gradcheck, PointwiseMath) {
  check([](const Inputs& x) { return exp(x[0]); }, {transposed(3, 2)});
  check([](const Inputs& x) { return log(x[0]); }, {input({4}, 0.2, 3.0)});
  check([](const Inputs& x) { return sqrt(x[0]); }, {input({4}, 0.2, 3.0)});
  check([](const Inputs& x) { return rsqrt(x[0]); }, {input({4}, 0.2, 3.0)});
  check([](const Inputs& x) { return abs(x[0]); }, {input({6})});
  check([](const Inputs& x) { return clamp(x[0], -0.5, 0.5); }, {input({8})});
  check([](const Inputs& x) { return square(x[0]); }, {input({3})});
}

TEST_F(Gradcheck, Activations) {
  check([](const Inputs& x) { return relu(x[0]); }, {transposed(3, 4)});
  check([](const Inputs& x) { return leaky_relu(x[0], 0.2); }, {input({3, 4})});
  check([](const Inputs& x) { return gelu(x[0]); }, {input({3, 4}, -3, 3)});
  check([](const Inputs& x) { return sigmoid(x[0]); }, {input({3, 4}, -3, 3)});
  check([](const Inputs& x) { return tanh(x[0]); }, {input({3, 4})});
  check([](const Inputs& x) { return softplus(x[0]); }, {input({3, 4}, -3, 3)});
}

TEST_F(Gradcheck, Reductions) {
  check([](const Inputs& x) { return sum(x[0]); }, {transposed(3, 4)});
  check([](const Inputs& x) { return sum(x[0], {0, 2}, true); }, {input({2, 3, 4})});
  check([](const Inputs& x) { return mean(x[0], {1}); }, {input({2, 3, 4})});
  check([](const Inputs& x) { return var(x[0], {1}); }, {input({3, 5})});
  check([](const Inputs& x) { return ember::std(x[0], {0}, 0); }, {input({4, 3})});
  check([](const Inputs& x) { return max(x[0], 1).values; }, {input({3, 5})});
  check([](const Inputs& x) { return min(x[0]); }, {input({3, 5})});
  check([](const Inputs& x) { return amax(x[0], {0, 1}); }, {input({3, 4, 2})});
  check([](const Inputs& x) { return logsumexp(x[0], {1}); }, {transposed(3, 4)});
  check([](const Inputs& x) { return softmax(x[0], 0); }, {input({3, 4})});
  check([](const Inputs& x) { return log_softmax(x[0], -1); }, {input({2, 3, 4})});
}

TEST_F(Gradcheck, MatrixProducts) {
  check([](const Inputs& x) { return mm(x[0], x[1]); }, {transposed(3, 4), input({4, 2})});
  check([](const Inputs& x) { return bmm(x[0], x[1]); }, {input({2, 3, 4}), input({2, 4, 2})});
  check([](const Inputs& x) { return matmul(x[0], x[1]); }, {input({2, 1, 3, 4}), input({3, 4, 2})});
  check([](const Inputs& x) { return matmul(x[0], x[1]); }, {input({4}), input({4, 3})});
  check([](const Inputs& x) { return linear(x[0], x[1], x[2]); }, {input({5, 4}), input({3, 4}), input({3})});
}

TEST_F(Gradcheck, ViewsAndJoins) {
  check([](const Inputs& x) { return mul(x[0].reshape({4, 3}), 2.0); }, {transposed(3, 4)});
  check([](const Inputs& x) { return x[0].permute({2, 0, 1}).contiguous(); }, {input({2, 3, 4})});
  check([](const Inputs& x) { return x[0].slice(1, 1, 5, 2); }, {input({3, 6})});
  check([](const Inputs& x) { return x[0].select(0, 1); }, {input({3, 2})});
  check([](const Inputs& x) { return x[0].expand({3, 4}); }, {input({1, 4})});
  check([](const Inputs& x) { return x[0].unsqueeze(1).squeeze(1).flatten(); }, {input({2, 3})});
  check([](const Inputs& x) { return cat({x[0], x[1]}, 1); }, {input({2, 3}), transposed(2, 2)});
  check([](const Inputs& x) { return stack({x[0], x[1]}, 0); }, {input({2, 3}), input({2, 3})});
  check([](const Inputs& x) { return chunk(x[0], 2, 1)[1]; }, {input({2, 5})});
}

TEST_F(Gradcheck, Indexing) {
  Tensor idx = tensor(std::vector<int64_t>{0, 3, 1, 1, 2, 0}, Shape{3, 2});
  check([idx](const Inputs& x) { return gather(x[0], 1, idx); }, {input({3, 4})});
  check([](const Inputs& x) { return index_select(x[0], 0, tensor(std::vector<int64_t>{2, 0, 2})); }, {input({3, 4})});
  Tensor sidx = tensor(std::vector<int64_t>{0, 1, 0, 2, 2, 1}, Shape{2, 3});
  check([sidx](const Inputs& x) { return scatter_add(x[0], 0, sidx, x[1]); }, {input({3, 3}), input({2, 3})});
  check([](const Inputs& x) { return embedding(x[0], tensor(std::vector<int64_t>{1, 4, 4}, Shape{3})); }, {input({5, 2})});
  check([](const Inputs& x) { return where(gt(x[0], 0.0), x[0], x[1]); }, {input({3, 4}), input({4})});
  check([](const Inputs& x) { return masked_fill(x[0], lt(x[0], 0.0), 0.5); }, {input({6})});
}

TEST_F(Gradcheck, Convolution) {
  check([](const Inputs& x) { return conv2d(x[0], x[1], x[2], 1, 1); }, {input({2, 2, 5, 5}), input({3, 2, 3, 3}), input({3})});
  check([](const Inputs& x) { return conv2d(x[0], x[1], Tensor(), {2, 1}, {0, 1}, {1, 2}); },
        {input({1, 2, 7, 6}), input({2, 2, 3, 2})});
  check([](const Inputs& x) { return conv2d(x[0], x[1], x[2], 1, 0, 1, 2); }, {input({2, 4, 4, 4}), input({4, 2, 2, 2}), input({4})});
  // Strides, padding and dilation that leave whole rows and columns of some taps in the padding.
  check([](const Inputs& x) { return conv2d(x[0], x[1], x[2], {2, 3}, {2, 1}, {2, 1}); },
        {input({1, 2, 7, 6}), input({2, 2, 3, 2}), input({2})});
  check([](const Inputs& x) { return conv2d(x[0], x[1], Tensor(), 1, 3, 1); }, {input({1, 1, 3, 4}), input({2, 1, 3, 3})});
}

TEST_F(Gradcheck, Pooling) {
  check([](const Inputs& x) { return max_pool2d(x[0], 2); }, {input({2, 2, 6, 6})});
  check([](const Inputs& x) { return max_pool2d(x[0], 3, 2, 1, 1, true); }, {input({1, 2, 7, 7})});
  check([](const Inputs& x) { return avg_pool2d(x[0], 3, 2, 1, true, false); }, {input({1, 2, 7, 7})});
  check([](const Inputs& x) { return avg_pool2d(x[0], 2); }, {input({2, 1, 4, 6})});
  check([](const Inputs& x) { return adaptive_avg_pool2d(x[0], {3, 2}); }, {input({1, 2, 7, 5})});
}

TEST_F(Gradcheck, Normalization) {
  check([](const Inputs& x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5); },
        {input({4, 3, 2, 2}), input({3}), input({3})});
  check([](const Inputs& x) { return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5); },
        {input({5, 3})});
  check([](const Inputs& x) { return layer_norm(x[0], {4}, x[1], x[2]); }, {input({3, 4}), input({4}), input({4})});
  // Planes of 25 (and 40) values exercise the fused kernel's 16-lane sums as well as their tails.
  check([](const Inputs& x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5); },
        {input({3, 2, 5, 5}), input({2}), input({2})});
  check([](const Inputs& x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], Tensor(), true, 0.1, 1e-5); },
        {input({2, 3, 40}), input({3})});
  // Evaluation mode: running statistics are constants.
  Tensor rm = randn({3}, TensorOptions(kFloat64)), rv = add(rand({3}, TensorOptions(kFloat64)), 0.5);
  check([&](const Inputs& x) { return batch_norm(x[0], rm, rv, x[1], x[2], false, 0.1, 1e-5); },
        {input({4, 3, 17}), input({3}), input({3})});
  // A non-contiguous input.
  check([](const Inputs& x) { return batch_norm(x[0].transpose(0, 2), Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5); },
        {input({5, 3, 4}), input({3}), input({3})});
  // Fused with the ReLU after it, in training and evaluation.
  check([](const Inputs& x) { return batch_norm_relu(x[0], Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5); },
        {input({3, 2, 5, 5}), input({2}), input({2})});
  check([&](const Inputs& x) { return batch_norm_relu(x[0], rm, rv, x[1], x[2], false, 0.1, 1e-5); },
        {input({4, 3, 17}), input({3}), input({3})});
}

TEST_F(Gradcheck, BatchNormKeepsPrecisionForLargeMeans) {
  // Values 1000 +- 1 in float32: centred arithmetic gives statistics and outputs close to the
  // float64 result; expanding (x - mean)^2 or x * scale + shift would lose most digits.
  Generator g(5);
  Tensor x64 = add(randn({64, 4, 9}, TensorOptions(kFloat64), &g), 1000.0);
  Tensor x32 = x64.to(kFloat32).requires_grad_(true);
  Tensor x64r = x32.detach().to(kFloat64).requires_grad_(true);
  Tensor y32 = batch_norm(x32, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  Tensor y64 = batch_norm(x64r, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  EXPECT_LT(max(abs(sub(y32.to(kFloat64), y64))).item<double>(), 1e-3);
  Tensor dy = randn({64, 4, 9}, TensorOptions(kFloat64), &g);
  sum(mul(y32, dy.to(kFloat32))).backward();
  sum(mul(y64, dy)).backward();
  EXPECT_LT(max(abs(sub(x32.grad().to(kFloat64), x64r.grad()))).item<double>(), 1e-3);
}

TEST_F(Gradcheck, DetectsAWrongGradient) {
  // A deliberately wrong backward must fail the check: gradcheck itself can fail.
  auto wrong = [](const Inputs& x) {
    Tensor out = exp(x[0].detach());
    return autograd::record("WrongBackward", out, {x[0]}, [](const Tensor& g) { return Inputs{mul(g, 2.0)}; });
  };
  EXPECT_FALSE(gradcheck(wrong, {input({3})}).ok);
}

}  // namespace
