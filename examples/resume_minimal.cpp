// The smallest training loop with built-in resume. Kill it at any point and run it again: it
// continues from its newest checkpoint, and ends exactly as an uninterrupted run would.
//
//   build/bin/resume_minimal [RUN_DIR] [STEPS]
#include <cstdio>
#include <cstdlib>

#include "ember.h"

using namespace ember;

int main(int argc, char** argv) try {
  std::string dir = argc > 1 ? argv[1] : "runs/resume-minimal";
  int64_t steps = argc > 2 ? std::atoll(argv[2]) : 200;
  manual_seed(0);
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(1, 16), std::make_shared<nn::Tanh>(),
                                                std::make_shared<nn::Linear>(16, 1));
  optim::Adam opt(model->parameters(), optim::AdamOptions(0.01));
  Tensor x = rand({64, 1}), y = add(mul(x, 3.0), add(mul(randn({64, 1}), 0.1), -1.0));  // y = 3x - 1 + noise

  train::Checkpointer ckpt(dir, train::CheckpointerOptions().keep_last(2).max_steps(steps));
  ckpt.add("model", *model).add("optimizer", opt).add("rng", default_generator());
  train::Position at = ckpt.resume();
  if (at.resumed()) std::printf("resuming from %s at step %lld\n", at.path.c_str(), static_cast<long long>(at.step));
  train::PreemptionGuard preemption;
  while (!ckpt.done(at)) {
    Tensor loss = nn::mse_loss(model->forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    ++at.step;
    if (at.step % 50 == 0 || ckpt.done(at) || preemption.requested()) ckpt.save(at);  // atomic
    if (preemption.requested()) return train::kExitRequeue;
  }
  std::printf("done at step %lld\n", static_cast<long long>(at.step));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "resume_minimal: %s\n", e.what());
  return 2;
}
