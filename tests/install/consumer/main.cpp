// Links against the installed ember, runs a forward and backward pass, checks the gradient.
#include <ember.h>

#include <cstdio>

int main() {
  using namespace ember;
  Tensor w = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor loss = sum(mul(w, w));
  loss.backward();
  std::vector<float> g = w.grad().to_vector<float>();
  bool ok = loss.item() == 14.0 && g == std::vector<float>{2, 4, 6};
  std::printf("consumer: loss %.1f, grad [%.0f, %.0f, %.0f] %s\n", loss.item(), g[0], g[1], g[2], ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
