// ember's side of benchmarks/compare: the median training-step time of train_fashion_mnist's mlp or
// cnn (batch 128, Adam, real Fashion-MNIST batches, warm-up excluded), and checkpoint save/load of
// model + optimizer state. Prints one JSON line. --export FILE writes the batches it uses (float32
// images then int64 labels) so the libtorch and PyTorch sides time the same data. --device cuda
// times the step on the GPU (batches already there, the device synchronized at the end of each
// step, as torch_step.py does with torch.cuda.synchronize()).
//
//   ember_step --model mlp|cnn --threads N [--steps 30] [--export FILE] [--device cpu|cuda] [--data-dir D]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "ember.h"
#include "timing.h"
#include "train_fashion_mnist/models.h"

using namespace ember;
using bench::Clock;
using bench::median;
using bench::ms_since;

int main(int argc, char** argv) {
  std::string model_name = "mlp", export_file, device_name = "cpu", data_dir = io::kFashionMnistDir;
  int threads = 1, steps = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--export")) export_file = argv[i + 1];
    else if (!std::strcmp(argv[i], "--device")) device_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--data-dir")) data_dir = argv[i + 1];
  }
  const Device device(device_name);
  set_num_threads(threads);
  manual_seed(0);
  auto train = std::make_shared<io::FashionMnist>(io::FashionMnist::Split::Train, data_dir);
  io::DataLoader loader(train, io::DataLoaderOptions().batch_size(128).shuffle(true).seed(0).drop_last(true));
  std::vector<io::Batch> batches(static_cast<size_t>(steps + 5));
  for (io::Batch& b : batches) {
    if (loader.next(b)) continue;
    std::fprintf(stderr, "ember_step: %s holds %lld images, fewer than the %zu batches of 128 asked for\n", data_dir.c_str(),
                 static_cast<long long>(train->size()), batches.size());
    return 2;
  }
  if (!export_file.empty()) {
    std::ofstream out(export_file, std::ios::binary);
    for (const io::Batch& b : batches) out.write(static_cast<const char*>(b.input.contiguous().data()), static_cast<std::streamsize>(b.input.nbytes()));
    for (const io::Batch& b : batches) out.write(static_cast<const char*>(b.target.data()), static_cast<std::streamsize>(b.target.nbytes()));
  }
  for (io::Batch& b : batches) b.input = b.input.to(device), b.target = b.target.to(device);
  auto model = fashion::make_model(model_name);
  model->to(device);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  std::vector<double> times;
  double first_loss = 0, last_loss = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    auto t = Clock::now();
    Tensor loss = nn::cross_entropy(model->forward(fashion::model_input(model_name, batches[i].input)), batches[i].target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (device.is_cuda()) cuda::synchronize(device.index);
    double ms = ms_since(t);
    if (i >= 5) times.push_back(ms);  // the first 5 steps warm up caches and allocators
    (i == 0 ? first_loss : last_loss) = loss.item();
  }
  if (!(last_loss < first_loss)) std::fprintf(stderr, "warning: the loss did not fall (%.3f -> %.3f)\n", first_loss, last_loss);
  io::Value state = io::Dict();
  state["model_state_dict"] = model->state_dict();
  state["optimizer_state_dict"] = opt.state_dict();
  std::string path = "/tmp/ember_compare_ckpt.pt";
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
              "\"first_loss\":%.4f,\"last_loss\":%.4f}\n",
              device.str().c_str(), model_name.c_str(), threads, median(times), median(saves), median(loads), first_loss, last_loss);
  std::remove(path.c_str());
  return 0;
}
