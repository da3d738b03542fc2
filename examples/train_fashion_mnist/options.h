// Command-line flags of train_fashion_mnist (see --help).
#pragma once

#include <cstdint>
#include <string>

#include "ember.h"

namespace fashion {

struct Options {
  std::string model = "mlp";
  int64_t epochs = 10;
  int64_t batch_size = 128;
  double lr = 1e-3;
  std::string optimizer = "adam";
  uint64_t seed = 0;
  int threads = 1;
  bool sync_batch_norm = false;  // with several processes: batch norm statistics over the global batch
  std::string device = "cpu";
  std::string run_dir;  // default: runs/fashion-mnist-<model>
  int64_t save_every_steps = 500;
  int64_t keep = 3;
  bool async_save = false;
  int64_t max_steps = 0;  // 0: no limit
  bool eval_only = false;
  std::string eval_checkpoint;  // empty: the run's best
  bool no_resume = false;
  int64_t train_subset = 0, test_subset = 0;  // 0: the whole split (for tests)
  int64_t log_every = 50;
  std::string data_dir = ember::io::kFashionMnistDir;

  // The settings a resumed run must share with the run that wrote the checkpoint.
  ember::io::Value config() const;
};

// Parses argv; prints usage and exits 0 for --help, throws ember::ValueError on bad flags.
Options parse_options(int argc, char** argv);

}  // namespace fashion
