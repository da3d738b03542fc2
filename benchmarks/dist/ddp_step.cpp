// One rank of benchmarks/dist/run: data-parallel training steps of train_fashion_mnist's mlp or
// cnn with a fixed global batch split among the ranks (Adam, real Fashion-MNIST batches, warm-up
// excluded). Rank 0 prints one JSON line: median step ms, median ms the backward waited for
// allreduces after its own work (comm_wait), the step rate in global samples per second.
//
//   ember launch -n N -- ddp_step --model mlp|cnn [--global-batch 256] [--steps 30] [--threads 1]
//                                 [--bucket-mb 25] [--first-bucket-mb 1] [--broadcast-buffers 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "ember.h"
#include "timing.h"
#include "train_fashion_mnist/models.h"

using namespace ember;
using bench::Clock;
using bench::median;
using bench::ms_since;

int main(int argc, char** argv) try {
  std::string model_name = "mlp";
  int threads = 1, steps = 30, global_batch = 256;
  dist::DataParallelOptions ddp_options;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--global-batch")) global_batch = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--bucket-mb")) ddp_options.bucket_cap_mb(std::atof(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--first-bucket-mb")) ddp_options.first_bucket_mb(std::atof(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--broadcast-buffers")) ddp_options.broadcast_buffers(std::atoi(argv[i + 1]) != 0);
  }
  dist::ProcessGroup& world = dist::init_process_group();
  EMBER_CHECK_VALUE(global_batch % world.size() == 0, "--global-batch ", global_batch, " must divide by the ", world.size(), " processes");
  set_num_threads(threads);
  manual_seed(0);
  auto train = std::make_shared<io::FashionMnist>(io::FashionMnist::Split::Train);
  io::DataLoader loader(train, io::DataLoaderOptions().batch_size(global_batch / world.size()).shuffle(true).seed(0)
                                   .drop_last(true).distributed(world.rank(), world.size()));
  std::vector<io::Batch> batches(static_cast<size_t>(steps + 5));
  for (io::Batch& b : batches) loader.next(b);
  auto model = fashion::make_model(model_name);
  dist::DistributedDataParallel replica(model, world, ddp_options);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  std::vector<double> times, waits, forwards, backwards;
  for (size_t i = 0; i < batches.size(); ++i) {
    world.barrier();  // every rank starts the step together: the time is the slowest rank's
    auto t = Clock::now();
    Tensor loss = nn::cross_entropy(replica.forward(fashion::model_input(model_name, batches[i].input)), batches[i].target);
    double forward_ms = ms_since(t);
    opt.zero_grad();
    auto b = Clock::now();
    loss.backward();
    double backward_ms = ms_since(b);
    opt.step();
    double ms = ms_since(t);
    if (i >= 5) {
      times.push_back(ms);
      waits.push_back(replica.last_comm_wait_ms());
      forwards.push_back(forward_ms);
      backwards.push_back(backward_ms);
    }
  }
  if (world.rank() == 0)
    std::printf("{\"model\": \"%s\", \"processes\": %d, \"threads\": %d, \"global_batch\": %d, \"buckets\": %lld, \"step_ms\": %.3f, "
                "\"forward_ms\": %.3f, \"backward_ms\": %.3f, \"comm_wait_ms\": %.3f, \"samples_per_s\": %.1f}\n",
                model_name.c_str(), world.size(), threads, global_batch, static_cast<long long>(replica.num_buckets()), median(times),
                median(forwards), median(backwards), median(waits), 1000.0 * global_batch / median(times));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ddp_step: error: %s\n", e.what());
  return 2;
}
