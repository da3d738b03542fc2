// One rank of the distributed tests, started by the tests (directly, or under `ember launch`)
// with RANK, WORLD_SIZE and EMBER_STORE set.
//   dist_worker collectives OUT_DIR      every collective on awkward sizes; results to OUT_DIR/rank-R.pt
//   dist_worker die-in-collective        rank 1 is SIGKILLed before the 3rd allreduce
//   dist_worker hang-in-collective       rank 1 sleeps instead of joining the 3rd allreduce
//   dist_worker ddp MODEL STEPS OUT_DIR  DDP training (mlp|cnn) on a fixed global batch of 16
//   dist_worker mismatched-model         rank 1 builds a wider first layer
//   dist_worker no-sync                  gradient accumulation under no_sync(), checked in place
//   dist_worker sync-bn SYNC STEPS OUT_DIR  DDP training of a model with BatchNorm2d and 1d on a
//                                        fixed global batch of 12, its batch norms synchronized
//                                        (SYNC 1) or not (0)
// Errors go to stderr as "error: ..." with exit status 3.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>

#include "ember.h"

using namespace ember;

namespace {

// Values that differ per rank and whose sums round (so bitwise agreement is a real check).
Tensor rank_values(int64_t n, int rank, DType dtype = kFloat32) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = std::sin(0.37 * (rank + 1) + 1e-3 * static_cast<double>(i)) / 3.0;
  return tensor(v, {n}, kFloat64).to(dtype);
}

int collectives(dist::ProcessGroup& g, const std::string& out) {
  io::Dict results;
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7919}, int64_t{7000003}}) {  // the last > one 25 MB DDP bucket
    std::string s = std::to_string(n);
    for (auto [name, op] : {std::pair{"sum", dist::ReduceOp::sum}, {"average", dist::ReduceOp::average}, {"max", dist::ReduceOp::max}}) {
      Tensor t = rank_values(n, g.rank());
      g.allreduce(t, op);
      results.insert(std::string(name) + "_" + s, t);
    }
    Tensor d = rank_values(n, g.rank(), kFloat64);
    g.allreduce(d, dist::ReduceOp::sum);
    results.insert("sum64_" + s, d);
    Tensor b = rank_values(n, g.rank());
    g.broadcast(b, g.size() - 1);  // from the last rank: a non-zero root
    results.insert("broadcast_" + s, b);
  }
  Tensor ints = tensor(std::vector<int64_t>{g.rank() + 1, 1000000007LL * g.rank()});
  g.allreduce(ints, dist::ReduceOp::sum);
  results.insert("sum_int64", ints);
  results.insert("allgather", g.allgather(rank_values(5, g.rank())));
  results.insert("allgather_empty", g.allgather(rank_values(0, g.rank())));
  g.barrier();
  results.insert("rank", static_cast<int64_t>(g.rank()));
  io::save(io::Value(std::move(results)), out + "/rank-" + std::to_string(g.rank()) + ".pt");
  return 0;
}

int fail_in_collective(dist::ProcessGroup& g, bool die) {
  for (int i = 0; i < 3; ++i) {
    if (i == 2 && g.rank() == 1) {
      if (die) raise(SIGKILL);
      std::this_thread::sleep_for(std::chrono::seconds(8));  // beyond the others' timeout
    }
    Tensor t = rank_values(1000, g.rank());
    auto start = std::chrono::steady_clock::now();
    try {
      g.allreduce(t);
    } catch (const dist::PeerError& e) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "error: %s\nfailed after %.1f s\n", e.what(), s);
      return 3;
    }
  }
  return 0;
}

std::shared_ptr<nn::Module> make_model(const std::string& kind, int64_t width) {
  if (kind == "mlp")
    return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(10, width), std::make_shared<nn::ReLU>(),
                                            std::make_shared<nn::Linear>(width, 4));
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 4, 3).padding(1)), std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{2}), std::make_shared<nn::Flatten>(),
                                          std::make_shared<nn::Linear>(4 * 4 * 4, 4));
}

// `steps` steps on this rank's share of the global batch (x, y): its consecutive 1/size of the rows.
void train_share(dist::ProcessGroup& g, dist::DistributedDataParallel& replica, optim::Optimizer& opt, const Tensor& x,
                 const Tensor& y, int64_t steps) {
  const int64_t per = x.size(0) / g.size();
  Tensor local_x = x.narrow(0, g.rank() * per, per), local_y = y.narrow(0, g.rank() * per, per);
  for (int64_t s = 0; s < steps; ++s) {
    opt.zero_grad();
    nn::cross_entropy(replica.forward(local_x), local_y).backward();
    opt.step();
  }
}

int ddp(dist::ProcessGroup& g, const std::string& kind, int64_t steps, const std::string& out) {
  manual_seed(7);
  auto model = make_model(kind, 16);
  if (g.rank() != 0) manual_seed(99);  // rank 0's initial weights must win through the broadcast
  auto replica = std::make_shared<dist::DistributedDataParallel>(model, g, dist::DataParallelOptions().bucket_cap_mb(0.001));
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  Generator data_gen(3);
  Tensor x = kind == "mlp" ? randn({16, 10}, kFloat32, &data_gen) : randn({16, 1, 8, 8}, kFloat32, &data_gen);
  Tensor y = randint(0, 4, {16}, kInt64, &data_gen);
  train_share(g, *replica, opt, x, y, steps);
  io::save(replica->state_dict(), out + "/rank-" + std::to_string(g.rank()) + ".pt");
  std::printf("buckets %lld\n", static_cast<long long>(replica->num_buckets()));
  return 0;
}

// Gradient accumulation: a backward inside no_sync() sends nothing; the next one averages the sums.
int no_sync(dist::ProcessGroup& g) {
  manual_seed(7);
  auto model = make_model("mlp", 16);
  dist::DistributedDataParallel replica(model, g);
  Generator data_gen(static_cast<uint64_t>(5 + g.rank()));
  Tensor x1 = randn({4, 10}, kFloat32, &data_gen), x2 = randn({4, 10}, kFloat32, &data_gen);
  Tensor y = randint(0, 4, {4}, kInt64, &data_gen);
  Tensor w = model->parameters()[0];
  {
    auto guard = replica.no_sync();
    nn::cross_entropy(replica.forward(x1), y).backward();
  }
  Tensor local_first = w.grad().clone();
  Tensor others = g.allgather(local_first);
  if (g.size() > 1 && max(abs(sub(others[0], others[1]))).item() == 0) throw Error("no_sync: the ranks' gradients were averaged");
  // What the synchronised backward must produce: the mean over ranks of each rank's accumulated sum.
  Tensor local_sum;
  {
    auto guard = replica.no_sync();
    nn::cross_entropy(model->forward(x2), y).backward();  // the plain model: nothing is sent either way
    local_sum = w.grad().clone();
    w.grad().copy_(local_first);  // undo: the synced pass below adds x2's gradient again
  }
  Tensor expected = g.allgather(local_sum).sum({0}).div_(static_cast<double>(g.size()));
  nn::cross_entropy(replica.forward(x2), y).backward();
  double diff = max(abs(sub(w.grad(), expected))).item();
  if (diff > 1e-6) throw Error(str("no_sync: the accumulated gradients were not averaged (off by ", diff, ")"));
  std::printf("no_sync ok\n");
  return 0;
}

// A conv and a linear layer each followed by a batch norm; DDP in small buckets, so that several
// allreduces are queued while the batch norms' backward sends its own sums.
int sync_bn(dist::ProcessGroup& g, bool sync, int64_t steps, const std::string& out) {
  manual_seed(11);
  auto model = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 4, 3).padding(1)), std::make_shared<nn::BatchNorm2d>(4),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{2}), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(4 * 4 * 4, 8), std::make_shared<nn::BatchNorm1d>(8), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(8, 4));
  int converted = sync ? dist::convert_sync_batch_norm(*model, g) : 0;
  auto replica = std::make_shared<dist::DistributedDataParallel>(model, g, dist::DataParallelOptions().bucket_cap_mb(0.0005));
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  Generator data_gen(4);
  // Channels far from zero mean and unit spread, so that per-replica statistics are visibly off.
  Tensor x = add(mul(randn({12, 1, 8, 8}, kFloat32, &data_gen), 3.0), 2.0);
  Tensor y = randint(0, 4, {12}, kInt64, &data_gen);
  train_share(g, *replica, opt, x, y, steps);
  io::save(model->state_dict(), out + "/rank-" + std::to_string(g.rank()) + ".pt");
  std::printf("converted %d buckets %lld\n", converted, static_cast<long long>(replica->num_buckets()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string what = argc > 1 ? argv[1] : "";
  dist::ProcessGroup& g = dist::init_process_group();
  if (what == "collectives") return collectives(g, argv[2]);
  if (what == "die-in-collective") return fail_in_collective(g, true);
  if (what == "hang-in-collective") return fail_in_collective(g, false);
  if (what == "ddp") return ddp(g, argv[2], std::atoll(argv[3]), argv[4]);
  if (what == "no-sync") return no_sync(g);
  if (what == "sync-bn") return sync_bn(g, std::atoi(argv[2]) != 0, std::atoll(argv[3]), argv[4]);
  if (what == "mismatched-model") {
    auto model = make_model("mlp", g.rank() == 1 ? 17 : 16);
    dist::DistributedDataParallel replica(model, g);
    return 0;
  }
  std::fprintf(stderr, "error: unknown scenario '%s'\n", what.c_str());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 3;
}
