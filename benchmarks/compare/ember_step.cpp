// ember's side of benchmarks/compare: the median training-step time of train_fashion_mnist's mlp or
// cnn (batch 128, Adam, real Fashion-MNIST batches, warm-up excluded), and checkpoint save/load of
// model + optimizer state. Prints one JSON line. --export FILE writes the batches it uses (float32
// images then int64 labels) so the libtorch and PyTorch sides time the same data. --device cuda
// times the step on the GPU (batches already there, the device synchronized at the end of each
// step, as torch_step.py does with torch.cuda.synchronize()).
//
// --threads 1,2 times each thread count in one process, alternating in blocks of 5 steps (the
// first of each block, after the switch, not counted), and prints a line per count: this guest's
// speed drifts by 30 % within minutes, so a speed-up taken from two runs a minute apart measures
// the drift as much as the threads.
//
//   ember_step --model mlp|cnn --threads N[,M...] [--steps 30] [--export FILE] [--device cpu|cuda] [--data-dir D]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

#include "ember.h"
#include "timing.h"
#include "train_fashion_mnist/models.h"

using namespace ember;
using bench::Clock;
using bench::median;
using bench::ms_since;

namespace {

// "1,2" -> {1, 2}; empty when the text is not such a list.
std::vector<int> parse_counts(const char* list) {
  std::vector<int> counts;
  for (const char* p = list;; ++p) {
    char* end = nullptr;
    counts.push_back(static_cast<int>(std::strtol(p, &end, 10)));
    if (end == p || (*end != ',' && *end != '\0')) return {};
    if (*end == '\0') return counts;
    p = end;
  }
}

// The thread count of each step and whether it is timed: one count runs 5 warm-up steps then
// `steps` timed ones; several alternate in blocks of kBlock steps after a warm-up block each, the
// first step of a block (the one after the switch) untimed.
struct Step {
  int threads;
  bool timed;
};
std::vector<Step> schedule(const std::vector<int>& counts, int steps) {
  std::vector<Step> plan;
  if (counts.size() == 1) {
    for (int i = 0; i < steps + 5; ++i) plan.push_back({counts[0], i >= 5});
    return plan;
  }
  constexpr int kBlock = 5;
  const int rounds = 1 + (steps + kBlock - 2) / (kBlock - 1);  // a warm-up round, then enough timed steps
  for (int r = 0; r < rounds; ++r)
    for (int t : counts)
      for (int i = 0; i < kBlock; ++i) plan.push_back({t, r > 0 && i > 0});
  return plan;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "mlp", export_file, device_name = "cpu", data_dir = io::kFashionMnistDir;
  std::vector<int> thread_counts{1};
  int steps = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) thread_counts = parse_counts(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--export")) export_file = argv[i + 1];
    else if (!std::strcmp(argv[i], "--device")) device_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--data-dir")) data_dir = argv[i + 1];
  }
  const Device device(device_name);
  if (thread_counts.empty() || *std::min_element(thread_counts.begin(), thread_counts.end()) < 1) {
    std::fprintf(stderr, "ember_step: --threads takes counts >= 1 separated by commas (1 or 1,2)\n");
    return 2;
  }
  const std::vector<Step> plan = schedule(thread_counts, steps);
  set_num_threads(plan[0].threads);
  manual_seed(0);
  auto train = std::make_shared<io::FashionMnist>(io::FashionMnist::Split::Train, data_dir);
  io::DataLoader loader(train, io::DataLoaderOptions().batch_size(128).shuffle(true).seed(0).drop_last(true));
  std::vector<io::Batch> batches(plan.size());
  for (io::Batch& b : batches) {
    if (loader.next(b)) continue;
    std::fprintf(stderr, "ember_step: %s holds %lld images, fewer than the %zu batches of 128 asked for\n", data_dir.c_str(),
                 static_cast<long long>(train->size()), batches.size());
    return 2;
  }
  if (!export_file.empty()) {  // the peers time the first steps + 5 batches
    const auto exported = batches.begin() + steps + 5;
    std::ofstream out(export_file, std::ios::binary);
    for (auto b = batches.begin(); b != exported; ++b)
      out.write(static_cast<const char*>(b->input.contiguous().data()), static_cast<std::streamsize>(b->input.nbytes()));
    for (auto b = batches.begin(); b != exported; ++b)
      out.write(static_cast<const char*>(b->target.data()), static_cast<std::streamsize>(b->target.nbytes()));
  }
  for (io::Batch& b : batches) b.input = b.input.to(device), b.target = b.target.to(device);
  auto model = fashion::make_model(model_name);
  model->to(device);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  std::map<int, std::vector<double>> times;  // by thread count
  double first_loss = 0, last_loss = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    set_num_threads(plan[i].threads);
    auto t = Clock::now();
    Tensor loss = nn::cross_entropy(model->forward(fashion::model_input(model_name, batches[i].input)), batches[i].target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (device.is_cuda()) cuda::synchronize(device.index);
    double ms = ms_since(t);
    if (plan[i].timed) times[plan[i].threads].push_back(ms);  // warm-up steps fill caches and allocators
    (i == 0 ? first_loss : last_loss) = loss.item();
  }
  if (!(last_loss < first_loss)) std::fprintf(stderr, "warning: the loss did not fall (%.3f -> %.3f)\n", first_loss, last_loss);
  io::Value state = io::Dict();
  state["model_state_dict"] = model->state_dict();
  state["optimizer_state_dict"] = opt.state_dict();
  std::string path = "/tmp/ember_compare_ckpt.pt";
  for (int threads : thread_counts) {
    set_num_threads(threads);
    std::vector<double> saves, loads;
    for (int i = 0; i < 5; ++i) {
      auto t = Clock::now();
      io::save(state, path);
      saves.push_back(ms_since(t));
      t = Clock::now();
      io::load(path);
      loads.push_back(ms_since(t));
    }
    std::printf("{\"framework\":\"ember\",\"device\":\"%s\",\"model\":\"%s\",\"threads\":%d,\"step_ms\":%.3f,\"save_ms\":%.3f,\"load_ms\":%.3f,"
                "\"first_loss\":%.4f,\"last_loss\":%.4f,\"timed_steps\":%zu}\n",
                device.str().c_str(), model_name.c_str(), threads, median(times[threads]), median(saves), median(loads), first_loss,
                last_loss, times[threads].size());
  }
  std::remove(path.c_str());
  return 0;
}
