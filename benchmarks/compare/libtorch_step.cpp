// libtorch's side of benchmarks/compare (built by benchmarks/compare/run when Debian's libtorch-dev
// is installed): the same Sequential, Adam, batches and timing as ember_step. Prints one JSON line.
//
//   libtorch_step MODEL THREADS BATCH_FILE STEPS
//   libtorch_step gemm      its GEMM rate at 1 thread and the BLAS it uses (torch::show_config())
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cctype>
#include <fstream>
#include <set>
#include <string>

using Clock = std::chrono::steady_clock;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

torch::nn::Sequential make(const std::string& name) {
  namespace nn = torch::nn;
  if (name == "mlp")
    return nn::Sequential(nn::Linear(784, 512), nn::BatchNorm1d(512), nn::ReLU(), nn::Dropout(0.2), nn::Linear(512, 256),
                          nn::BatchNorm1d(256), nn::ReLU(), nn::Dropout(0.2), nn::Linear(256, 10));
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::BatchNorm2d(32), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)), nn::BatchNorm2d(64), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Dropout(0.25), nn::Linear(3136, 128), nn::ReLU(), nn::Linear(128, 10));
}
double best_gflops(int64_t m, int64_t k, int64_t n, int repeats) {
  auto a = torch::randn({m, k}), b = torch::randn({k, n});
  auto c = torch::mm(a, b);
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto t = Clock::now();
    c = torch::mm(a, b);
    best = std::min(best, ms_since(t) / 1e3);
  }
  return 2.0 * static_cast<double>(m * k * n) / best / 1e9;
}

// The value of `key` in torch::show_config()'s text ("BLAS_INFO=open, ..." -> "open").
std::string config_value(const std::string& config, const std::string& key) {
  size_t at = config.find(key);
  if (at == std::string::npos) return "?";
  size_t start = at + key.size(), end = config.find_first_of(",\n", start);
  return config.substr(start, end - start);
}

// The BLAS libraries this process mapped (Debian picks libblas.so.3 with update-alternatives).
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libs;
  for (std::string line; std::getline(maps, line);) {
    size_t slash = line.rfind('/');
    std::string file = slash == std::string::npos ? "" : line.substr(slash + 1);
    std::string lower = file;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("blas") != std::string::npos) libs.insert(file);
  }
  std::string out;
  for (const std::string& l : libs) out += (out.empty() ? "" : "+") + l;
  return out.empty() ? "none mapped" : out;
}

int gemm_report() {
  torch::set_num_threads(1);
  torch::NoGradGuard no_grad;
  double g512 = best_gflops(512, 512, 512, 20), gmlp = best_gflops(128, 784, 512, 50);  // maps the BLAS first
  std::string config = torch::show_config();
  std::printf("{\"framework\":\"libtorch\",\"engine\":\"BLAS_INFO=%s (loaded: %s), CPU capability %s\",\"gemm512_gflops\":%.1f,"
              "\"gemm_mlp_gflops\":%.1f}\n",
              config_value(config, "BLAS_INFO=").c_str(), loaded_blas().c_str(), config_value(config, "CPU capability usage: ").c_str(),
              g512, gmlp);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = argv[1];
  if (name == "gemm") return gemm_report();
  int threads = std::atoi(argv[2]), steps = std::atoi(argv[4]);
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  int n = steps + 5;
  std::vector<float> images(static_cast<size_t>(n) * 128 * 784);
  std::vector<int64_t> labels(static_cast<size_t>(n) * 128);
  std::ifstream in(argv[3], std::ios::binary);
  in.read(reinterpret_cast<char*>(images.data()), static_cast<std::streamsize>(images.size() * 4));
  in.read(reinterpret_cast<char*>(labels.data()), static_cast<std::streamsize>(labels.size() * 8));
  auto model = make(name);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  std::vector<double> times;
  double first = 0, last = 0;
  for (int i = 0; i < n; ++i) {
    auto x = torch::from_blob(images.data() + static_cast<size_t>(i) * 128 * 784, {128, 1, 28, 28});
    auto y = torch::from_blob(labels.data() + static_cast<size_t>(i) * 128, {128}, torch::kLong);
    auto t = Clock::now();
    auto input = name == "mlp" ? x.reshape({128, 784}) : x;
    auto loss = torch::nn::functional::cross_entropy(model->forward(input), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    double ms = ms_since(t);
    if (i >= 5) times.push_back(ms);
    (i == 0 ? first : last) = loss.item<double>();
  }
  std::printf("{\"framework\":\"libtorch\",\"model\":\"%s\",\"threads\":%d,\"step_ms\":%.3f,\"first_loss\":%.4f,\"last_loss\":%.4f}\n",
              name.c_str(), threads, median(times), first, last);
  return 0;
}
