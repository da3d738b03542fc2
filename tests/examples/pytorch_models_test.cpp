// The trainer's models against PyTorch: an ember checkpoint's model_state_dict loads with
// strict=True into the same nn.Sequential in PyTorch and gives the same eval-mode logits (1e-4);
// a PyTorch state_dict loads into ember's model and gives PyTorch's logits, and --eval-only
// evaluates it. Runs when /usr/bin/python3 can import torch; skipped otherwise.
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "train_fashion_mnist/models.h"
#include "ember.h"
#include "support/python.h"
#include "process.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::string python(const std::string& args) {
  return run_command("/usr/bin/python3 " EMBER_SOURCE_DIR "/tests/examples/torch_models.py " + args);
}

class PyTorchModels : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchModels, EmberCheckpointLoadsStrictlyInPyTorchWithTheSameLogits) {
  EMBER_SKIP_WITHOUT_TORCH();
  std::string model = GetParam();
  fs::path dir = ember::testing::fresh_temp_dir("ckpt_" + model);
  ProcessResult r = run_process({EMBER_BIN_DIR "/train_fashion_mnist", "--model", model, "--run-dir", dir.string(),
                                 "--train-subset", "512", "--test-subset", "100", "--batch-size", "64", "--max-steps", "5"});
  ASSERT_EQ(r.exit_code, 0);
  io::CheckpointManager ckpts(dir.string());
  auto latest = ckpts.latest();
  ASSERT_TRUE(latest.has_value());
  auto net = fashion::make_model(model);
  net->load_state_dict(latest->state.at("model_state_dict"));
  net->eval();
  Generator g(9);
  Tensor images = rand({16, 1, 28, 28}, {}, &g);
  io::Value io_file = io::Dict();
  io_file["input"] = images;
  {
    NoGradGuard no_grad;
    io_file["logits"] = net->forward(fashion::model_input(model, images));
  }
  io::save(io_file, (dir / "io.pt").string());
  double diff = std::stod(python("check " + model + " " + latest->info.path + " " + (dir / "io.pt").string()));
  EXPECT_LT(diff, 1e-4);
}

TEST_P(PyTorchModels, PyTorchStateDictLoadsInEmberAndEvaluates) {
  EMBER_SKIP_WITHOUT_TORCH();
  std::string model = GetParam();
  fs::path dir = ember::testing::fresh_temp_dir("export_" + model);
  python("export " + model + " " + (dir / "state.pt").string() + " " + (dir / "io.pt").string());
  auto net = fashion::make_model(model);
  net->load_state_dict(io::load((dir / "state.pt").string()));  // strict
  net->eval();
  io::Value io_file = io::load((dir / "io.pt").string());
  NoGradGuard no_grad;
  Tensor logits = net->forward(fashion::model_input(model, io_file.at("input").to_tensor()));
  EXPECT_TRUE(allclose(logits, io_file.at("logits").to_tensor(), 0, 1e-4));
  ProcessResult r = run_process({EMBER_BIN_DIR "/train_fashion_mnist", "--model", model, "--eval-only", (dir / "state.pt").string(),
                                 "--test-subset", "200"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.has("test accuracy")) << (r.lines.empty() ? "" : r.lines.back());
}

INSTANTIATE_TEST_SUITE_P(Models, PyTorchModels, ::testing::Values("mlp", "cnn"), [](const auto& i) { return i.param; });

}  // namespace
