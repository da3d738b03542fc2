// DistributedDataParallel across processes: replicas agree, runs repeat bitwise, two processes
// match one on the global batch, and mismatched replicas fail at start naming rank and parameter.
#include <gtest/gtest.h>

#include "dist/ranks.h"
#include "ember.h"

using namespace ember;
using ember::testing::bin;

namespace {

// Runs the ddp scenario with n ranks; returns each rank's final state dict.
std::vector<io::Value> train_ddp(const std::string& model, int n, const std::string& tag) {
  std::string dir = ember::testing::fresh_dir("ddp-" + model + "-" + tag);
  auto results = ember::testing::run_ranks({bin("dist_worker"), "ddp", model, "6", dir}, n, dir);
  std::vector<io::Value> states;
  for (int r = 0; r < n; ++r) {
    EXPECT_EQ(results[static_cast<size_t>(r)].exit_code, 0) << results[static_cast<size_t>(r)].output;
    states.push_back(io::load(dir + "/rank-" + std::to_string(r) + ".pt"));
  }
  return states;
}

bool bitwise_equal(const io::Value& a, const io::Value& b) {
  for (const auto& [k, v] : a.dict()) {
    const Tensor &x = v.to_tensor(), &y = b.at(k.str()).to_tensor();
    if (x.sizes() != y.sizes() || std::memcmp(x.data(), y.data(), x.nbytes()) != 0) return false;
  }
  return a.dict().size() == b.dict().size();
}

}  // namespace

TEST(DataParallel, OneProcessStateDictHasPyTorchsModulePrefixAndLoadsIntoThePlainModel) {
  dist::LocalProcessGroup group;
  manual_seed(1);
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 2), std::make_shared<nn::BatchNorm1d>(2));
  dist::DistributedDataParallel ddp(model, group);
  io::Value state = ddp.state_dict();
  EXPECT_TRUE(state.contains("module.0.weight"));
  EXPECT_TRUE(state.contains("module.1.running_mean"));
  nn::consume_prefix_in_state_dict_if_present(state, "module.");
  auto plain = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 2), std::make_shared<nn::BatchNorm1d>(2));
  plain->load_state_dict(state);
  EXPECT_EQ(plain->state_dict().at("0.weight").to_tensor().to_vector<float>(),
            model->state_dict().at("0.weight").to_tensor().to_vector<float>());
  Tensor loss = ddp.forward(randn({4, 3})).sum();
  loss.backward();  // a group of one: the gradients are the local ones
  EXPECT_TRUE(model->parameters()[0].grad().defined());
}

class DataParallelModels : public ::testing::TestWithParam<std::string> {};

TEST_P(DataParallelModels, TwoProcessesRepeatBitwiseAndMatchOneProcessOnTheGlobalBatch) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string model = GetParam();
  auto a = train_ddp(model, 2, "a"), b = train_ddp(model, 2, "b"), single = train_ddp(model, 1, "single");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(bitwise_equal(a[0], a[1])) << "the replicas drifted apart";
  EXPECT_TRUE(bitwise_equal(a[0], b[0])) << "two identical runs differ";
  auto four = train_ddp(model, 4, "four");
  for (const auto& [k, v] : single[0].dict()) {
    for (const auto* other : {&a[0], &four[0]}) {
      Tensor x = v.to_tensor(), y = other->at(k.str()).to_tensor();
      double diff = max(abs(sub(x, y))).item();
      EXPECT_LT(diff, 1e-5) << k.str() << ": DDP differs from one process on the global batch by " << diff;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, DataParallelModels, ::testing::Values("mlp", "cnn"));

TEST(DataParallel, ReplicasOfDifferentModelsFailAtStartNamingTheRankAndTheParameter) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("mismatch");
  auto results = ember::testing::run_ranks({bin("dist_worker"), "mismatched-model"}, 2, dir, {{"EMBER_DIST_TIMEOUT", "20"}});
  for (const auto& res : results) {
    EXPECT_EQ(res.exit_code, 3) << res.output;
    EXPECT_NE(res.output.find("rank 1: this rank has parameter '0.weight' float32 [17, 10] where rank 0 has parameter '0.weight' float32 [16, 10]"),
              std::string::npos) << res.output;
  }
}

TEST(DataParallel, NoSyncAccumulatesLocallyAndTheNextBackwardAveragesTheSums) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("nosync");
  auto results = ember::testing::run_ranks({bin("dist_worker"), "no-sync"}, 2, dir);
  for (const auto& res : results) {
    EXPECT_EQ(res.exit_code, 0) << res.output;
    EXPECT_NE(res.output.find("no_sync ok"), std::string::npos) << res.output;
  }
}
