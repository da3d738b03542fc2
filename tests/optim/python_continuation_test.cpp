// An optimizer state saved by ember, restored into PyTorch through a real file, continues ember's
// trajectory (PyTorch-saved states continuing in ember are tested in pytorch_optim_test.cpp).
// Runs when /usr/bin/python3 can import torch; skipped otherwise.
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"
#include "support/python.h"
#include "support/temp_dir.h"

using namespace ember;

namespace {

std::unique_ptr<optim::Optimizer> make(const std::string& name, std::vector<Tensor> params) {
  if (name == "sgd")
    return std::make_unique<optim::SGD>(params, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01));
  if (name == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions(0.01));
  return std::make_unique<optim::AdamW>(params, optim::AdamOptions(0.01).weight_decay(0.05).amsgrad(true));
}

class Continuation : public ::testing::TestWithParam<std::string> {};

TEST_P(Continuation, PyTorchContinuesEmbersTrajectory) {
  EMBER_SKIP_WITHOUT_TORCH();
  Generator g(5);
  Tensor x = randn({16, 4}, kFloat64, &g), y = randn({16, 3}, kFloat64, &g);
  Tensor w = mul(randn({3, 4}, kFloat64, &g), 0.5).requires_grad_(), b = zeros({3}, kFloat64).requires_grad_();
  auto opt = make(GetParam(), {w, b});
  auto step = [&] {
    opt->zero_grad();
    mean(square(sub(tanh(add(matmul(x, w.t()), b)), y))).backward();
    opt->step();
  };
  for (int i = 0; i < 4; ++i) step();
  io::Value file = io::Dict();
  file["X"] = x;
  file["Y"] = y;
  file["w"] = w.detach().clone();
  file["b"] = b.detach().clone();
  file["optimizer_state_dict"] = opt->state_dict();
  std::string path = ember::testing::temp_path("continue.pt").string();
  io::save(file, path);
  for (int i = 0; i < 4; ++i) step();  // ember's own continuation

  std::string cmd = "/usr/bin/python3 " EMBER_SOURCE_DIR "/tests/optim/torch_continue.py " + path + " " + GetParam() + " 4";
  nlohmann::json torch_result = nlohmann::json::parse(last_line(run_command(cmd)));
  EXPECT_TRUE(allclose(w, tensor(torch_result["w"].get<std::vector<double>>(), Shape{3, 4}, kFloat64), 0, 1e-10));
  EXPECT_TRUE(allclose(b, tensor(torch_result["b"].get<std::vector<double>>(), Shape{3}, kFloat64), 0, 1e-10));
}

INSTANTIATE_TEST_SUITE_P(Optimizers, Continuation, ::testing::Values("sgd", "adam", "adamw_amsgrad"),
                         [](const auto& i) { return i.param; });

}  // namespace
