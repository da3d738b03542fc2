// train_fashion_mnist: ember's main job. Trains on Fashion-MNIST and, run again with the same
// command, resumes bit-exactly from the newest valid checkpoint. See --help.
#include <cstdio>
#include <exception>

#include "options.h"
#include "trainer.h"

int main(int argc, char** argv) {
  try {
    fashion::Options options = fashion::parse_options(argc, argv);
    fashion::Trainer trainer(options);
    return options.eval_only ? trainer.evaluate_only() : trainer.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_fashion_mnist: error: %s\n", e.what());
    return 2;
  }
}
