// Every layer and loss of tests/fixtures/nn_layers.json (recorded from PyTorch by
// tests/fixtures/scripts/record_nn_layers.py): with PyTorch's weights and input, ember's output,
// input gradient, parameter gradients and updated running buffers match within 1e-5.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"

using namespace ember;
using json = nlohmann::json;

namespace {

Tensor decode(const json& j) {
  return tensor(j["values"].get<std::vector<double>>(), j["shape"].get<Shape>(), parse_dtype(j["dtype"]));
}

const json& cases() {
  static const json all = [] {
    std::ifstream in(EMBER_FIXTURES_DIR "/nn_layers.json");
    return json::parse(in);
  }();
  return all["cases"];
}

io::Value state_of(const json& c) {
  io::Dict d(true);
  for (auto& [k, v] : c["state_dict"].items()) d.insert(k, decode(v));
  return io::Value(std::move(d));
}

std::shared_ptr<nn::Module> make_layer(const json& c) {
  std::string type = c["type"];
  const json& cfg = c["config"];
  auto tensor_or_none = [&](const char* key) {
    return c["state_dict"].contains(key) ? decode(c["state_dict"][key]) : Tensor();
  };
  auto reduction = [&] { return nn::parse_reduction(cfg.value("reduction", "mean")); };
  if (type == "CrossEntropyLoss" || type == "NLLLoss") {
    auto o = nn::CrossEntropyOptions().weight(tensor_or_none("weight")).ignore_index(cfg.value("ignore_index", -100))
                 .label_smoothing(cfg.value("label_smoothing", 0.0)).reduction(reduction());
    if (type == "NLLLoss") return std::make_shared<nn::NLLLoss>(o);
    return std::make_shared<nn::CrossEntropyLoss>(o);
  }
  if (type == "MSELoss") return std::make_shared<nn::MSELoss>(reduction());
  if (type == "L1Loss") return std::make_shared<nn::L1Loss>(reduction());
  if (type == "SmoothL1Loss") return std::make_shared<nn::SmoothL1Loss>(reduction(), cfg.value("beta", 1.0));
  if (type == "BCEWithLogitsLoss")
    return std::make_shared<nn::BCEWithLogitsLoss>(tensor_or_none("weight"), tensor_or_none("pos_weight"), reduction());
  if (type == "Sequential")  // Linear(6,8), BatchNorm1d(8), ReLU, Dropout(0.2), Linear(8,3)
    return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(6, 8), std::make_shared<nn::BatchNorm1d>(8),
                                            std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.2),
                                            std::make_shared<nn::Linear>(8, 3));
  return nn::build({{"type", type}, {"config", cfg}});
}

void expect_close(const Tensor& got, const json& want, const std::string& what) {
  Tensor expected = decode(want);
  ASSERT_EQ(got.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(allclose(got.to(kFloat64), expected.to(kFloat64), 1e-5, 1e-5))
      << what << "\n got " << got << "\nwant " << expected;
}

class PyTorchLayers : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchLayers, OutputsGradientsAndBuffersMatch) {
  const json* found = nullptr;
  for (const json& c : cases())
    if (c["name"] == GetParam()) found = &c;
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  auto layer = make_layer(c);
  layer->load_state_dict(state_of(c));
  layer->train(c["train"].get<bool>());
  Tensor x = decode(c["input"]);
  if (x.is_floating_point()) x.requires_grad_();
  Tensor out;
  if (auto* loss = dynamic_cast<nn::Loss*>(layer.get()))
    out = loss->forward(x, decode(c["target"]));
  else
    out = layer->forward(x);
  expect_close(out, c["output"], "output");
  sum(mul(out, decode(c["seed"]))).backward();
  if (!c["input_grad"].is_null()) expect_close(x.grad(), c["input_grad"], "input gradient");
  for (auto& [name, p] : layer->named_parameters()) {
    ASSERT_TRUE(c["param_grads"].contains(name)) << name;
    expect_close(p.grad(), c["param_grads"][name], "gradient of " + name);
  }
  for (auto& [name, b] : layer->named_buffers())
    if (c["buffers_after"].contains(name)) expect_close(b, c["buffers_after"][name], "buffer " + name);
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const json& c : cases()) out.push_back(c["name"]);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PyTorchLayers, ::testing::ValuesIn(names()), [](const auto& info) { return info.param; });

}  // namespace
