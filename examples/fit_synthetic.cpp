// Fits a two-layer network to a noisy sine with nothing but tensors and autograd:
// forward, loss, backward, a plain SGD step under NoGradGuard. The loss printed every 100 steps
// falls from ~0.5 to ~0.01.
//
//   build/bin/fit_synthetic [--steps N] [--seed S]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ember.h"

using namespace ember;

int main(int argc, char** argv) {
  int64_t steps = 1000;
  uint64_t seed = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  manual_seed(seed);

  // Data: y = sin(3x) + noise, x in [-1, 1]. x is (256, 1), y is (256, 1).
  Tensor x = linspace(-1, 1, 256).unsqueeze(1);
  std::vector<float> sines = x.to_vector<float>();
  for (float& v : sines) v = std::sin(3.0f * v);
  Tensor y = add(tensor(sines, Shape{256, 1}), mul(randn({256, 1}), 0.05));

  // Parameters of a 1 -> 64 -> 1 network, scaled like PyTorch's default init.
  Tensor w1 = mul(sub(rand({64, 1}), 0.5), 2.0).requires_grad_();
  Tensor b1 = mul(sub(rand({64}), 0.5), 2.0).requires_grad_();
  Tensor w2 = mul(sub(rand({1, 64}), 0.5), 0.25).requires_grad_();
  Tensor b2 = zeros({1}).requires_grad_();
  std::vector<Tensor> params{w1, b1, w2, b2};
  const double lr = 0.1;

  for (int64_t step = 0; step <= steps; ++step) {
    Tensor pred = linear(tanh(linear(x, w1, b1)), w2, b2);  // (256, 1)
    Tensor loss = mean(square(sub(pred, y)));
    for (Tensor& p : params) p.set_grad(Tensor());
    loss.backward();
    {
      NoGradGuard no_grad;
      for (Tensor& p : params) p.sub_(p.grad(), lr);
    }
    if (step % 100 == 0) std::printf("step %4lld  loss %.6f\n", static_cast<long long>(step), loss.item());
  }
  return 0;
}
