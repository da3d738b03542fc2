// One rank of the allreduce timing in benchmarks/dist/run: how long the group's allreduce of a
// float32 tensor takes on this machine, alone (no training beside it), for the byte counts the
// main job's models send each step. Rank 0 prints one JSON line per size: the median ms over the
// repeats (a barrier before each, so every call starts together), the 10th and 90th percentiles
// (the spread: a call that waits on a descheduled peer shows in p90), and the bus rate in GB/s
// (2·(N−1)/N·bytes over the median, the bytes a ring allreduce moves through each rank).
//
//   ember launch -n N -- allreduce_time [--repeats 50] [--elements N1,N2,...]
// (default: the cnn's and the mlp's parameter counts, read off train_fashion_mnist's models)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "ember.h"
#include "timing.h"
#include "train_fashion_mnist/models.h"

using namespace ember;

int main(int argc, char** argv) try {
  int repeats = 50;
  std::vector<int64_t> sizes;
  for (const char* model : {"cnn", "mlp"}) {
    int64_t count = 0;
    for (const Tensor& p : fashion::make_model(model)->parameters()) count += p.numel();
    sizes.push_back(count);
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--elements")) {
      sizes.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::atoll(item.c_str()));
    }
  }
  dist::ProcessGroup& world = dist::init_process_group();
  set_num_threads(1);
  for (int64_t n : sizes) {
    Tensor t = ones({n});
    std::vector<double> times;
    for (int i = 0; i < repeats + 3; ++i) {
      world.barrier();
      auto start = bench::Clock::now();
      world.allreduce(t, dist::ReduceOp::sum);
      if (i >= 3) times.push_back(bench::ms_since(start));
    }
    std::sort(times.begin(), times.end());
    double ms = bench::median(times), bytes = 4.0 * static_cast<double>(n), p = world.size();
    double p10 = times[times.size() / 10], p90 = times[times.size() * 9 / 10];
    if (world.rank() == 0)
      std::printf("{\"processes\": %d, \"elements\": %lld, \"mb\": %.2f, \"allreduce_ms\": %.3f, \"p10_ms\": %.3f, \"p90_ms\": %.3f, "
                  "\"bus_gb_per_s\": %.2f}\n",
                  world.size(), static_cast<long long>(n), bytes / 1e6, ms, p10, p90, 2 * (p - 1) / p * bytes / ms / 1e6);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "allreduce_time: error: %s\n", e.what());
  return 2;
}
