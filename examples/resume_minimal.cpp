// The smallest training loop with built-in resume. Kill it at any point and run it again: it
// continues from its newest checkpoint, and ends exactly as an uninterrupted run would.
//
//   build/bin/resume_minimal [RUN_DIR] [STEPS]
#include <cstdio>
#include <cstdlib>

#include "ember.h"

using namespace ember;

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "runs/resume-minimal";
  int64_t steps = argc > 2 ? std::atoll(argv[2]) : 200;
  manual_seed(0);

  // A model, an optimizer and data: y = 3x - 1 plus noise.
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(1, 16), std::make_shared<nn::Tanh>(),
                                                std::make_shared<nn::Linear>(16, 1));
  optim::Adam opt(model->parameters(), optim::AdamOptions(0.01));
  Tensor x = rand({64, 1});
  Tensor y = add(mul(x, 3.0), add(mul(randn({64, 1}), 0.1), -1.0));

  // Resume: restore everything the next step depends on, including the random generator.
  io::CheckpointManager checkpoints(dir, io::CheckpointPolicy().keep_last(2));
  int64_t step = 0;
  if (auto last = checkpoints.latest()) {
    model->load_state_dict(last->state.at("model"));
    opt.load_state_dict(last->state.at("optimizer"));
    const io::Value& rng = last->state.at("rng");
    default_generator().set_state({static_cast<uint64_t>(rng.at("seed").to_int()), static_cast<uint64_t>(rng.at("offset").to_int())});
    step = last->state.at("step").to_int();
    std::printf("resuming from %s at step %lld\n", last->info.path.c_str(), static_cast<long long>(step));
  }

  for (; step < steps; ++step) {
    Tensor loss = nn::mse_loss(model->forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if ((step + 1) % 50 == 0) {
      io::Value state = io::Dict();
      state["step"] = step + 1;
      state["model"] = model->state_dict();
      state["optimizer"] = opt.state_dict();
      GeneratorState g = default_generator().get_state();
      io::Value rng = io::Dict();
      rng["seed"] = static_cast<int64_t>(g.seed);
      rng["offset"] = static_cast<int64_t>(g.offset);
      state["rng"] = rng;
      checkpoints.save(step + 1, state);  // atomic: a kill mid-save leaves the previous one intact
      std::printf("step %lld loss %.6f (checkpoint saved)\n", static_cast<long long>(step + 1), loss.item());
    }
  }
  std::printf("done at step %lld\n", static_cast<long long>(step));
  return 0;
}
