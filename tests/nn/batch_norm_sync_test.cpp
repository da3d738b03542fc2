// BatchNorm's synchronized path (nn::BatchNorm::sum_over_replicas, what dist::convert_sync_batch_norm
// installs) with one replica, whose sum is the identity: the same values, running statistics and
// gradients as the plain batch norm, a float64 gradcheck through the global statistics, evaluation
// that never calls the sum, and a sum of the wrong shape named. The multi-process behaviour is in
// tests/dist/sync_batch_norm_test.cpp.
#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;

namespace {

double max_diff(const Tensor& a, const Tensor& b) { return max(abs(sub(a.to(kFloat64), b.to(kFloat64)))).item(); }

}  // namespace

TEST(BatchNormSync, OneReplicaMatchesThePlainBatchNormInValuesStatisticsAndGradients) {
  for (Shape shape : {Shape{6, 3, 5, 4}, Shape{7, 5}}) {
    Generator gen(3);
    Tensor x = add(mul(randn(shape, kFloat32, &gen), 2.0), 1.5);
    auto make = [&] {
      std::shared_ptr<nn::BatchNorm> bn;
      if (shape.size() == 4) bn = std::make_shared<nn::BatchNorm2d>(shape[1]);
      else bn = std::make_shared<nn::BatchNorm1d>(shape[1]);
      NoGradGuard no_grad;
      bn->weight.copy_(add(rand({shape[1]}, kFloat32, &gen), 0.5));
      bn->bias.copy_(randn({shape[1]}, kFloat32, &gen));
      return bn;
    };
    auto plain = make(), synced = make();
    synced->weight.detach().copy_(plain->weight.detach());
    synced->bias.detach().copy_(plain->bias.detach());
    int calls = 0;
    synced->sum_over_replicas = [&](const Tensor& t) { ++calls; return t; };
    Tensor g = randn(shape, kFloat32, &gen);
    Tensor x1 = x.clone().requires_grad_(true), x2 = x.clone().requires_grad_(true);
    Tensor y1 = plain->forward(x1), y2 = synced->forward(x2);
    y1.backward(g);
    y2.backward(g);
    EXPECT_EQ(calls, 2) << "one sum for the channel sums and the count, one for the squared deviations";
    EXPECT_LT(max_diff(y2, y1), 1e-5) << str(shape);
    EXPECT_LT(max_diff(x2.grad(), x1.grad()), 1e-5) << str(shape);
    EXPECT_LT(max_diff(synced->weight.grad(), plain->weight.grad()), 1e-4) << str(shape);
    EXPECT_LT(max_diff(synced->bias.grad(), plain->bias.grad()), 1e-4) << str(shape);
    EXPECT_LT(max_diff(synced->running_mean, plain->running_mean), 1e-6) << str(shape);
    EXPECT_LT(max_diff(synced->running_var, plain->running_var), 1e-6) << str(shape);
    EXPECT_EQ(synced->num_batches_tracked.item(), 1.0);

    synced->eval();
    plain->eval();
    calls = 0;
    EXPECT_LT(max_diff(synced->forward(x), plain->forward(x)), 1e-6) << str(shape);
    EXPECT_EQ(calls, 0) << "evaluation uses the running statistics: nothing to synchronize";
  }
}

TEST(BatchNormSync, GradcheckThroughTheGlobalStatistics) {
  manual_seed(5);
  nn::BatchNorm2d bn(3);
  bn.to(kFloat64);
  bn.sum_over_replicas = [](const Tensor& t) { return mul(t, 1.0); };  // one replica, as an op autograd sees
  Tensor x = add(mul(rand({4, 3, 2, 3}, kFloat64), 2.0), -0.5).requires_grad_(true);
  Tensor w = add(rand({3}, kFloat64), 0.5).requires_grad_(true), b = randn({3}, kFloat64).requires_grad_(true);
  GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        bn.weight = in[1], bn.bias = in[2];  // the handles the forward reads
        return bn.forward(in[0]);
      },
      {x, w, b});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(BatchNormSync, ASumOfTheWrongShapeIsNamed) {
  nn::BatchNorm1d bn(4);
  bn.sum_over_replicas = [](const Tensor& t) { return t.narrow(0, 0, 2); };
  try {
    bn.forward(randn({5, 4}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("BatchNorm1d: sum_over_replicas must return its input's shape [5], found [2]"), std::string::npos)
        << e.what();
  }
}
