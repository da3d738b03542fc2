// The registry rebuilds a model from its description; outputs match after loading the weights.
#include <filesystem>

#include <gtest/gtest.h>

#include "ember.h"
#include "support/temp_dir.h"

using namespace ember;

TEST(Registry, DescribeBuildRoundTrip) {
  manual_seed(1);
  auto cnn = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 4, 3).padding(1)), std::make_shared<nn::BatchNorm2d>(4),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Dropout>(0.25), std::make_shared<nn::Linear>(4 * 14 * 14, 10));
  sum(cnn->forward(rand({2, 1, 28, 28}))).backward();  // move the running stats
  nlohmann::json d = nn::describe(*cnn);
  auto rebuilt = nn::build(nlohmann::json::parse(d.dump()));
  EXPECT_EQ(rebuilt->repr(), cnn->repr());
  rebuilt->load_state_dict(cnn->state_dict());
  cnn->eval();
  rebuilt->eval();
  Tensor x = rand({3, 1, 28, 28});
  EXPECT_TRUE(equal(rebuilt->forward(x), cnn->forward(x)));
}

TEST(Registry, UnknownTypeAndBadConfigAreClearErrors) {
  nlohmann::json d = {{"type", "Sequential"}, {"children", {{{"name", "0"}, {"type", "Transformer"}}}}};
  try {
    nn::build(d);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("model.0: unknown module type 'Transformer'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(nn::build({{"type", "Linear"}, {"config", {{"in_features", "many"}}}}), ValueError);
  EXPECT_THROW(nn::build({{"config", {}}}), ValueError);
}

TEST(Registry, UserTypesCanBeRegistered) {
  nn::register_module_type("Scaled", [](const nlohmann::json& c) {
    return std::make_shared<nn::LeakyReLU>(c.value("slope", 0.5));
  });
  EXPECT_TRUE(nn::is_registered("Scaled"));
  auto m = nn::build({{"type", "Scaled"}, {"config", {{"slope", 0.25}}}});
  EXPECT_EQ(m->forward(tensor({-4.0})).item(), -1.0);
}

TEST(ModelFile, SaveModelLoadModelGivesIdenticalOutputs) {
  manual_seed(4);
  auto model = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 3, 3).padding(1).stride(2)), std::make_shared<nn::BatchNorm2d>(3),
      std::make_shared<nn::LeakyReLU>(0.1), std::make_shared<nn::AdaptiveAvgPool2d>(Size2(2, 2)), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(12, 4), std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({4})));
  model->forward(rand({4, 1, 8, 8}));  // move the running stats
  std::string path = ember::testing::temp_path("model.pt").string();
  nn::save_model(*model, path);
  std::shared_ptr<nn::Module> back = nn::load_model(path);
  model->eval();
  back->eval();
  Tensor x = rand({2, 1, 8, 8});
  EXPECT_TRUE(equal(back->forward(x), model->forward(x)));
  EXPECT_EQ(back->repr(), model->repr());
  io::save(model->state_dict(), path);  // a plain state dict is not a model file: a clear error
  EXPECT_THROW(nn::load_model(path), ValueError);
}
