// Scheduler states cross between ember and PyTorch through real files, both ways: a state ember
// saves, loaded into the matching torch.optim.lr_scheduler and stepped, continues ember's
// learning-rate sequence, and the reverse. Runs when /usr/bin/python3 imports torch.
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"
#include "support/python.h"
#include "support/temp_dir.h"

using namespace ember;

namespace {

struct ScheduledRun {
  Tensor p = ones({3}, kFloat64).requires_grad_();
  optim::SGD opt{{p}, optim::SGDOptions(0.5).momentum(0.9)};
  std::unique_ptr<io::Stateful> scheduler;
  std::function<void()> step_scheduler;

  explicit ScheduledRun(const std::string& name) {
    auto use = [&](auto s) {
      auto* raw = s.get();
      step_scheduler = [raw] { raw->step(); };
      scheduler = std::move(s);
    };
    if (name == "step") use(std::make_unique<optim::StepLR>(opt, 3, 0.5));
    else if (name == "multistep") use(std::make_unique<optim::MultiStepLR>(opt, std::vector<int64_t>{2, 5, 5, 9}, 0.5));
    else if (name == "exponential") use(std::make_unique<optim::ExponentialLR>(opt, 0.9));
    else if (name == "cosine") use(std::make_unique<optim::CosineAnnealingLR>(opt, 7, 0.01));
    else if (name == "linear") use(std::make_unique<optim::LinearLR>(opt, 0.25, 1.0, 4));
    else if (name == "onecycle") use(std::make_unique<optim::OneCycleLR>(opt, optim::OneCycleOptions(1.0, 20)));
    else if (name == "onecycle_linear")
      use(std::make_unique<optim::OneCycleLR>(opt, optim::OneCycleOptions(1.0, 20).anneal_strategy("linear")));
    else if (name == "sequential") {
      std::vector<std::shared_ptr<optim::LRScheduler>> parts{std::make_shared<optim::LinearLR>(opt, 0.5, 1.0, 3),
                                                             std::make_shared<optim::ExponentialLR>(opt, 0.9)};
      use(std::make_unique<optim::SequentialLR>(opt, parts, std::vector<int64_t>{3}));
    } else if (name == "sequential_multistep") {
      std::vector<std::shared_ptr<optim::LRScheduler>> parts{
          std::make_shared<optim::LinearLR>(opt, 0.5, 1.0, 3),
          std::make_shared<optim::MultiStepLR>(opt, std::vector<int64_t>{2, 4, 4}, 0.5)};
      use(std::make_unique<optim::SequentialLR>(opt, parts, std::vector<int64_t>{7}));
    } else {
      auto s = std::make_unique<optim::ReduceLROnPlateau>(opt, optim::ReduceLROnPlateauOptions().factor(0.5).patience(1));
      auto* raw = s.get();
      step_scheduler = [raw] { raw->step(1.0); };
      scheduler = std::move(s);
    }
  }
  // Steps as the Python side does; returns (lr, momentum) after each.
  std::vector<std::pair<double, double>> steps(int n) {
    std::vector<std::pair<double, double>> out;
    for (int i = 0; i < n; ++i) {
      p.set_grad(full({3}, 0.1, kFloat64));
      opt.step();
      step_scheduler();
      out.emplace_back(opt.param_groups()[0].lr(), opt.param_groups()[0].number("momentum"));
    }
    return out;
  }
};

std::string python(const std::string& args) {
  return last_line(run_command("/usr/bin/python3 " EMBER_SOURCE_DIR "/tests/optim/torch_schedulers.py " + args));
}

void expect_same(const std::vector<std::pair<double, double>>& ember_lrs, const std::string& torch_json) {
  nlohmann::json t = nlohmann::json::parse(torch_json);
  ASSERT_EQ(t.size(), ember_lrs.size());
  for (size_t i = 0; i < ember_lrs.size(); ++i) {
    EXPECT_NEAR(ember_lrs[i].first, t[i]["lr"].get<double>(), 1e-12) << "lr after step " << i + 1;
    EXPECT_NEAR(ember_lrs[i].second, t[i]["momentum"].get<double>(), 1e-12) << "momentum after step " << i + 1;
  }
}

std::string temp_file(const std::string& name) {
  return ember::testing::temp_path(name + ".pt").string();
}

class SchedulerInterop : public ::testing::TestWithParam<std::string> {};

TEST_P(SchedulerInterop, PyTorchContinuesEmbersState) {
  EMBER_SKIP_WITHOUT_TORCH();
  ScheduledRun run(GetParam());
  run.steps(5);
  io::Value file = io::Dict();
  file["optimizer"] = run.opt.state_dict();
  file["scheduler"] = run.scheduler->state_dict();
  std::string path = temp_file(GetParam() + "_ember");
  io::save(file, path);
  expect_same(run.steps(8), python("continue " + path + " " + GetParam() + " 8"));
}

TEST_P(SchedulerInterop, EmberContinuesPyTorchsState) {
  EMBER_SKIP_WITHOUT_TORCH();
  std::string path = temp_file(GetParam() + "_torch");
  std::string torch_lrs = python("save " + path + " " + GetParam() + " 5 8");
  ScheduledRun run(GetParam());
  io::Value saved = io::load(path);
  run.p.detach().copy_(saved.at("param").to_tensor());
  run.opt.load_state_dict(saved.at("optimizer"));
  run.scheduler->load_state_dict(saved.at("scheduler"));
  expect_same(run.steps(8), torch_lrs);
}

INSTANTIATE_TEST_SUITE_P(Schedulers, SchedulerInterop,
                         ::testing::Values("step", "multistep", "exponential", "cosine", "linear", "onecycle", "onecycle_linear",
                                           "plateau", "sequential", "sequential_multistep"),
                         [](const auto& i) { return i.param; });

}  // namespace
