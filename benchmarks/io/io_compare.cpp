// Checkpoint I/O side by side, in one run: save and load of a 400 MB state dict (100 float32
// tensors of 1M elements) against the same bytes written raw (write + fsync) and read raw, and
// against torch.save / torch.load when /usr/bin/python3 has torch. Prints medians and ratios.
//
// "ember load" repeats loads in one process (its allocator then reuses memory, as a long-running
// process would); "in a new process" is a restart: fresh memory, page faults included. torch.load
// runs repeatedly in one Python process, where glibc hands its large blocks back after each load.
//
//   build/bin/io_compare [DIR] [--mb N] [--repeats R] [--threads T]   (T: ember's threads, default 1)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ember.h"

using namespace ember;
using Clock = std::chrono::steady_clock;

namespace {

double median_seconds(int repeats, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto start = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The same bytes to a fresh file (as a checkpoint is), then fsync.
void raw_write(const std::string& path, const std::vector<Tensor>& tensors) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (const Tensor& t : tensors) {
    const char* p = static_cast<const char*>(t.data());
    size_t left = t.nbytes();
    while (left) {
      ssize_t n = ::write(fd, p, left);
      if (n <= 0) throw Error("raw write failed");
      p += n, left -= static_cast<size_t>(n);
    }
  }
  ::fsync(fd);
  ::close(fd);
}

void raw_read(const std::string& path, std::vector<Tensor>& into) {
  int fd = ::open(path.c_str(), O_RDONLY);
  for (Tensor& t : into) {
    char* p = static_cast<char*>(t.data());
    size_t left = t.nbytes();
    while (left) {
      ssize_t n = ::read(fd, p, left);
      if (n <= 0) throw Error("raw read failed");
      p += n, left -= static_cast<size_t>(n);
    }
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && !std::strcmp(argv[1], "--load-once")) {  // child of the restart measurement
    set_num_threads(std::atoi(argv[4]));
    std::printf("%.6f\n", median_seconds(1, [&] { io::load(argv[2]); }));
    return 0;
  }
  std::string dir = "/tmp";
  int64_t mb = 400;
  int repeats = 3, threads = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mb") && i + 1 < argc) mb = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else dir = argv[i];
  }
  set_num_threads(threads);
  int64_t per_tensor = mb * (1 << 20) / 4 / 100;
  Generator g(0);
  io::Value state = io::Dict(true);
  std::vector<Tensor> tensors, scratch;
  for (int i = 0; i < 100; ++i) {
    Tensor t = randn({per_tensor}, {}, &g);
    tensors.push_back(t);
    scratch.push_back(empty({per_tensor}));
    state["layer" + std::to_string(i) + ".weight"] = t;
  }
  double gb = static_cast<double>(per_tensor) * 4 * 100 / 1e9;
  std::string ckpt = dir + "/ember_io_bench.pt", raw = dir + "/ember_io_bench.raw";

  // Saves and raw writes alternate, so that disk noise hits both alike. Each starts on a quiet disk
  // (the previous files removed and everything synced, untimed), so that neither pays for freeing
  // the other's blocks or for its writeback. The first pair warms up and is not counted.
  auto quiet = [](const std::string& target) {
    std::filesystem::remove(target);
    ::sync();
  };
  std::vector<double> saves, raws;
  for (int i = 0; i <= repeats; ++i) {
    quiet(ckpt);
    double s = median_seconds(1, [&] { io::save(state, ckpt); });
    quiet(raw);
    double r = median_seconds(1, [&] { raw_write(raw, tensors); });
    if (i == 0) continue;
    saves.push_back(s);
    raws.push_back(r);
  }
  std::sort(saves.begin(), saves.end());
  std::sort(raws.begin(), raws.end());
  double t_save = saves[saves.size() / 2], t_raw_write = raws[raws.size() / 2];
  io::Value check = io::load(ckpt);  // validate before timing loads
  for (int i = 0; i < 100; ++i)
    if (!equal(check.at("layer" + std::to_string(i) + ".weight").to_tensor(), tensors[i])) throw Error("round trip mismatch");
  // A restart: a new process loads into memory it has never touched (page faults included).
  std::vector<double> fresh;
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  for (int i = 0; i < repeats; ++i) {
    double t = -1;
    FILE* p = popen(("'" + self + "' --load-once '" + ckpt + "' --threads " + std::to_string(threads)).c_str(), "r");
    if (p && std::fscanf(p, "%lf", &t) == 1) fresh.push_back(t);
    if (p) pclose(p);
  }
  std::sort(fresh.begin(), fresh.end());
  double t_load_fresh = fresh.empty() ? -1 : fresh[fresh.size() / 2];
  double t_load = median_seconds(repeats, [&] { io::load(ckpt); });
  double t_load_nocrc = median_seconds(repeats, [&] { io::load(ckpt, io::LoadOptions().verify_crc(false)); });
  double t_mmap = median_seconds(repeats, [&] { io::load(ckpt, io::LoadOptions().mmap()); });
  double t_raw_read = median_seconds(repeats, [&] { raw_read(raw, scratch); });

  double t_torch_save = -1, t_torch_load = -1;
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0) {
    std::string cmd = "/usr/bin/python3 -c \"\nimport torch,time,os,sys\ntorch.set_num_threads(1)\n"
                      "sd={'layer%d.weight'%i: torch.randn(" + std::to_string(per_tensor) + ") for i in range(100)}\n"
                      "p='" + dir + "/torch_io_bench.pt'\nts=[];tl=[]\n"
                      "for _ in range(" + std::to_string(repeats) + "):\n"
                      "  t=time.perf_counter(); torch.save(sd,p); ts.append(time.perf_counter()-t)\n"
                      "  t=time.perf_counter(); torch.load(p); tl.append(time.perf_counter()-t)\n"
                      "ts.sort(); tl.sort(); print(ts[len(ts)//2], tl[len(tl)//2]); os.remove(p)\n\"";
    FILE* p = popen(cmd.c_str(), "r");
    if (p && std::fscanf(p, "%lf %lf", &t_torch_save, &t_torch_load) != 2) t_torch_save = t_torch_load = -1;
    if (p) pclose(p);
  }
  std::filesystem::remove(ckpt);
  std::filesystem::remove(raw);

  std::printf("checkpoint I/O, %.0f MB state dict of 100 float32 tensors, median of %d, in %s, ember with %d thread(s)\n",
              gb * 1e3, repeats, dir.c_str(), threads);
  std::printf("%-34s %9s %9s\n", "operation", "seconds", "GB/s");
  auto row = [&](const char* what, double t) {
    if (t >= 0) std::printf("%-34s %9.3f %9.2f\n", what, t, gb / t);
    else std::printf("%-34s %9s %9s\n", what, "n/a", "n/a");
  };
  row("ember save (atomic, fsync, CRC)", t_save);
  row("raw write + fsync", t_raw_write);
  row("torch.save (no fsync)", t_torch_save);
  row("ember load in a new process", t_load_fresh);
  row("ember load (CRC verified)", t_load);
  row("ember load (no CRC)", t_load_nocrc);
  row("ember load (mmap)", t_mmap);
  row("raw read", t_raw_read);
  row("torch.load", t_torch_load);
  std::printf("ratios: save bandwidth / raw write = %.2f (target >= 0.95)\n", t_raw_write / t_save);
  if (t_torch_load > 0 && t_load_fresh > 0) {
    std::printf("        torch.load time / ember load time = %.2f (target >= 1.5)\n", t_torch_load / t_load);
    std::printf("        torch.load time / ember load in a new process = %.2f\n", t_torch_load / t_load_fresh);
  }
  else
    std::printf("        torch.load: PyTorch not installed (scripts/setup --pytorch)\n");
  return 0;
}
