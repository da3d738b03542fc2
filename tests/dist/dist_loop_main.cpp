// A user's distributed training loop: the single-process loop of tests/train/user_loop_main.cpp
// with three additions — the process group, DistributedDataParallel, a distributed DataLoader.
//   dist_loop RUN_DIR MAX_STEPS MAX_EPOCHS SEEN_LOG
// Rank 0 prints "step N" after each step. Each rank appends the sample indices it trains on to SEEN_LOG.rank-R ("index" per line).
// For the kill test: EMBER_TEST_KILL_RANK=k and EMBER_TEST_KILL_STEP=s make rank k SIGKILL itself
// after step s, in the launcher's first attempt only (EMBER_RESTART_COUNT=0).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "ember.h"

using namespace ember;

namespace {

// A dataset that writes down which samples it serves.
class LoggedDataset : public io::Dataset {
 public:
  LoggedDataset(std::shared_ptr<io::Dataset> base, const std::string& path) : base_(std::move(base)), log_(path, std::ios::app) {}
  int64_t size() const override { return base_->size(); }
  io::Batch get_batch(const std::vector<int64_t>& indices) const override {
    for (int64_t i : indices) log_ << i << "\n";
    log_.flush();
    return base_->get_batch(indices);
  }

 private:
  std::shared_ptr<io::Dataset> base_;
  mutable std::ofstream log_;
};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string dir = argv[1], seen = argv[4];
  int64_t max_steps = std::atoll(argv[2]), max_epochs = std::atoll(argv[3]);
  dist::ProcessGroup& world = dist::init_process_group();
  manual_seed(dist::rank_seed(1, world.rank()));
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(8, 32), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Dropout>(0.2), std::make_shared<nn::Linear>(32, 3));
  dist::DistributedDataParallel replica(model, world);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-2));
  Generator data_gen(11);
  auto data = std::make_shared<io::TensorDataset>(randn({120, 8}, kFloat32, &data_gen), randint(0, 3, {120}, kInt64, &data_gen));
  auto logged = std::make_shared<LoggedDataset>(data, seen + ".rank-" + std::to_string(world.rank()));
  io::DataLoader loader(logged, io::DataLoaderOptions().batch_size(4).shuffle(true).seed(5).distributed(world.rank(), world.size()));
  double loss_value = 0;

  train::Checkpointer ckpt(dir, train::CheckpointerOptions().keep_last(2).max_steps(max_steps).max_epochs(max_epochs));
  ckpt.add("model", *model).add("optimizer", opt).add("loader", loader).add("rng", default_generator()).track("loss", loss_value);
  train::Position at = ckpt.resume();
  train::PreemptionGuard preemption;
  int kill_rank = env_int("EMBER_TEST_KILL_RANK", -1), kill_step = env_int("EMBER_TEST_KILL_STEP", -1);
  bool first_attempt = env_int("EMBER_RESTART_COUNT", 0) == 0;
  while (!ckpt.done(at)) {
    io::Batch batch;
    if (!loader.next(batch)) {
      loader.set_epoch(++at.epoch);
      if (ckpt.done(at)) ckpt.save(at);
      continue;
    }
    Tensor loss = nn::cross_entropy(replica.forward(batch.input), batch.target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    Tensor mean_loss = loss.detach().clone();
    world.allreduce(mean_loss, dist::ReduceOp::average);
    loss_value = mean_loss.item();
    ++at.step;
    if (world.rank() == 0) std::printf("step %lld\n", static_cast<long long>(at.step)), std::fflush(stdout);
    bool stop = preemption.requested();  // a collective in a distributed run: once per step, on every rank
    if (at.step % 3 == 0 || ckpt.done(at) || stop) ckpt.save(at, {{"loss", loss_value}});
    if (first_attempt && world.rank() == kill_rank && at.step == kill_step) raise(SIGKILL);
    if (stop) return train::kExitRequeue;
  }
  if (world.rank() == 0) std::printf("done at step %lld epoch %lld\n", static_cast<long long>(at.step), static_cast<long long>(at.epoch));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 3;
}
