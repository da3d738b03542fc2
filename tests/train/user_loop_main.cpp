// A user's own training loop on the library's resume protocol, as the acceptance test runs it:
// model with dropout, Adam, StepLR, a shuffling DataLoader, the default generator, a tracked loss.
//   train_user_loop RUN_DIR STEPS [--background] [--sleep-ms N]
// Prints "step N" after each step and "saving N" / "saved N" around each save, for the test to
// aim its kills; --sleep-ms slows each step (the lock test keeps a run alive with it).
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "ember.h"

using namespace ember;

int main(int argc, char** argv) try {
  std::string dir = argv[1];
  int64_t steps = std::atoll(argv[2]), sleep_ms = 0;
  bool background = false;
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--background")) background = true;
    if (!std::strcmp(argv[i], "--sleep-ms")) sleep_ms = std::atoll(argv[++i]);
  }
  manual_seed(1);
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(8, 32), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Dropout>(0.2), std::make_shared<nn::Linear>(32, 3));
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-2));
  optim::StepLR sched(opt, 25, 0.5);
  auto data = std::make_shared<io::TensorDataset>(randn({96, 8}), randint(0, 3, {96}));
  io::DataLoader loader(data, io::DataLoaderOptions().batch_size(16).shuffle(true).seed(5));
  double loss_value = 0;

  train::Checkpointer ckpt(dir, train::CheckpointerOptions().keep_last(2).background(background).max_steps(steps));
  ckpt.add("model", *model).add("optimizer", opt).add("scheduler", sched).add("loader", loader)
      .add("rng", default_generator()).track("loss", loss_value);
  train::Position at = ckpt.resume();
  train::PreemptionGuard preemption;
  while (!ckpt.done(at)) {
    io::Batch batch;
    if (!loader.next(batch)) {
      loader.set_epoch(++at.epoch);
      continue;
    }
    Tensor loss = nn::cross_entropy(model->forward(batch.input), batch.target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    sched.step();
    loss_value = loss.item();
    ++at.step;
    std::printf("step %lld\n", static_cast<long long>(at.step));
    if (at.step % 7 == 0 || ckpt.done(at) || preemption.requested()) {
      std::printf("saving %lld\n", static_cast<long long>(at.step));
      ckpt.save(at, {{"loss", loss_value}});
      std::printf("saved %lld\n", static_cast<long long>(at.step));
    }
    std::fflush(stdout);
    if (preemption.requested()) return train::kExitRequeue;
    if (sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  }
  ckpt.wait();
  std::printf("done at step %lld\n", static_cast<long long>(at.step));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "train_user_loop: %s\n", e.what());
  return 2;
}
