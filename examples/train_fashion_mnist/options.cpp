#include "options.h"

#include <cstdlib>
#include <iostream>

namespace fashion {

using namespace ember;

namespace {
const char* kUsage = R"(usage: train_fashion_mnist [flags]
Trains an MLP or a CNN on Fashion-MNIST and resumes exactly where it stopped when run again.
  --model mlp|cnn            the model (mlp)
  --epochs N                 epochs (10)
  --batch-size N             batch size (128)
  --lr X                     learning rate (0.001), cosine-annealed to 0 over the run
  --optimizer adam|sgd       optimizer (adam; sgd uses momentum 0.9)
  --seed N                   seed of initialisation, shuffling and dropout (0)
  --threads N                CPU threads (1)
  --sync-batch-norm          under `ember launch -n N`: batch norm statistics of the global batch,
                             not of each process's share (SyncBatchNorm)
  --device cpu|cuda[:N]      device (cpu); a run resumes on either device from either's checkpoint
  --run-dir DIR              checkpoints and metrics.jsonl (runs/fashion-mnist-<model>)
  --save-every-steps K       checkpoint every K steps, and after every epoch (500)
  --keep N                   keep the newest N checkpoints, plus the best by test accuracy (3)
  --async-save               write checkpoints in the background
  --max-steps S              stop (with a checkpoint) after S global steps
  --eval-only [CHECKPOINT]   evaluate the best checkpoint of --run-dir, or CHECKPOINT (an ember
                             checkpoint or a PyTorch state_dict of the same Sequential)
  --no-resume                start over, deleting the run directory's checkpoints and metrics
  --log-every N              a metrics row and a progress line every N steps (50)
  --train-subset N, --test-subset N   use the first N images (for quick tests)
  --data-dir DIR             the IDX files (/usr/share/datasets/fashion-mnist)
Exit status: 0 done, 2 bad flags or data, 75 preempted by SIGTERM/SIGINT/SIGUSR1 (a checkpoint
of the current step was saved; run the same command again to continue).
)";

int64_t to_int(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  EMBER_CHECK_VALUE(!v.empty() && *end == '\0' && n >= 0, flag, " expects a non-negative integer, found '", v, "'");
  return n;
}
}  // namespace

io::Value Options::config() const {
  io::Dict d;
  d.insert("model", model);
  d.insert("epochs", epochs);
  d.insert("batch_size", batch_size);
  d.insert("lr", lr);
  d.insert("optimizer", optimizer);
  d.insert("seed", static_cast<int64_t>(seed));
  d.insert("threads", static_cast<int64_t>(threads));
  if (sync_batch_norm) d.insert("sync_batch_norm", true);  // only when set: older runs' configs still match
  d.insert("train_subset", train_subset);
  d.insert("test_subset", test_subset);
  return io::Value(std::move(d));
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      EMBER_CHECK_VALUE(i + 1 < argc, flag, " needs a value");
      return argv[++i];
    };
    if (flag == "-h" || flag == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (flag == "--model") o.model = value();
    else if (flag == "--epochs") o.epochs = to_int(flag, value());
    else if (flag == "--batch-size") o.batch_size = to_int(flag, value());
    else if (flag == "--lr") o.lr = std::stod(value());
    else if (flag == "--optimizer") o.optimizer = value();
    else if (flag == "--seed") o.seed = static_cast<uint64_t>(to_int(flag, value()));
    else if (flag == "--threads") o.threads = static_cast<int>(to_int(flag, value()));
    else if (flag == "--device") o.device = value();
    else if (flag == "--sync-batch-norm") o.sync_batch_norm = true;
    else if (flag == "--run-dir") o.run_dir = value();
    else if (flag == "--save-every-steps") o.save_every_steps = to_int(flag, value());
    else if (flag == "--keep") o.keep = to_int(flag, value());
    else if (flag == "--async-save") o.async_save = true;
    else if (flag == "--max-steps") o.max_steps = to_int(flag, value());
    else if (flag == "--eval-only") {
      o.eval_only = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') o.eval_checkpoint = argv[++i];
    } else if (flag == "--no-resume") o.no_resume = true;
    else if (flag == "--log-every") o.log_every = to_int(flag, value());
    else if (flag == "--train-subset") o.train_subset = to_int(flag, value());
    else if (flag == "--test-subset") o.test_subset = to_int(flag, value());
    else if (flag == "--data-dir") o.data_dir = value();
    else throw ValueError("unknown flag '" + flag + "' (see --help)");
  }
  EMBER_CHECK_VALUE(o.model == "mlp" || o.model == "cnn", "--model must be mlp or cnn, found '", o.model, "'");
  EMBER_CHECK_VALUE(o.optimizer == "adam" || o.optimizer == "sgd", "--optimizer must be adam or sgd, found '", o.optimizer, "'");
  EMBER_CHECK_VALUE(o.batch_size > 1 && o.epochs > 0 && o.threads > 0 && o.keep > 0 && o.log_every > 0,
                    "--batch-size must be > 1; --epochs, --threads, --keep and --log-every > 0");
  Device device(o.device);
  EMBER_CHECK_VALUE(device.is_cpu() || device.index < cuda::device_count(), "--device ", o.device, ": ",
                    cuda::is_available() ? str("this machine has ", cuda::device_count(), " CUDA device(s)")
                                         : "CUDA is unavailable: " + cuda::unavailable_reason(),
                    "; use --device cpu");
  if (o.run_dir.empty()) o.run_dir = "runs/fashion-mnist-" + o.model;
  return o;
}

}  // namespace fashion
