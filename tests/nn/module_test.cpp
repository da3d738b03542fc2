// Module: registration, traversal, train/eval, zero_grad, to(dtype), state dicts as PyTorch,
// strict and non-strict loading, prefixes, printing.
#include <gtest/gtest.h>

#include "ember.h"
#include "support/error_of.h"

using namespace ember;

namespace {

// Sequential(Linear(4,8), BatchNorm1d(8), ReLU, Dropout, Linear(8,3)): the model of
// shared/fixtures/pytorch-1.13/model_state_dict.pt.
std::shared_ptr<nn::Sequential> fixture_model() {
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::BatchNorm1d>(8),
                                          std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.5),
                                          std::make_shared<nn::Linear>(8, 3));
}


class Custom : public nn::Module {
 public:
  Custom() : Module("Custom") {
    scale = register_parameter("scale", ones({2}));
    steps = register_buffer("steps", zeros({1}), /*persistent=*/false);
    inner = register_module("inner", std::make_shared<nn::Linear>(2, 2));
  }
  Tensor forward(const Tensor& x) override { return mul(inner->forward(x), scale); }
  Tensor scale, steps;
  std::shared_ptr<nn::Linear> inner;
};

}  // namespace

TEST(Module, StateDictKeysShapesAndDtypesMatchPyTorch) {
  auto model = fixture_model();
  io::Value sd = model->state_dict();
  std::vector<std::string> expected{"0.weight",        "0.bias",       "1.weight", "1.bias",
                                    "1.running_mean", "1.running_var", "1.num_batches_tracked",
                                    "4.weight",        "4.bias"};
  EXPECT_EQ(sd.dict().string_keys(), expected);
  EXPECT_TRUE(sd.dict().ordered());
  EXPECT_EQ(sd.at("0.weight").to_tensor().sizes(), (Shape{8, 4}));
  EXPECT_EQ(sd.at("4.weight").to_tensor().sizes(), (Shape{3, 8}));
  const Tensor& nbt = sd.at("1.num_batches_tracked").to_tensor();
  EXPECT_EQ(nbt.dtype(), kInt64);
  EXPECT_EQ(nbt.dim(), 0);
  for (const auto& [k, v] : sd.dict()) EXPECT_FALSE(v.to_tensor().requires_grad()) << k.str();
  // _metadata as PyTorch writes it: every module, BatchNorm at version 2.
  const io::Value& meta = sd.dict().attributes->at("_metadata");
  EXPECT_EQ(meta.dict().string_keys(), (std::vector<std::string>{"", "0", "1", "2", "3", "4"}));
  EXPECT_EQ(meta.at("1").at("version").to_int(), 2);
  EXPECT_EQ(meta.at("0").at("version").to_int(), 1);
}

TEST(Module, LoadCopiesIntoExistingTensors) {
  auto a = fixture_model(), b = fixture_model();
  Tensor w = b->parameters()[0];  // an optimizer would hold this handle
  b->load_state_dict(a->state_dict());
  EXPECT_TRUE(equal(w, a->parameters()[0]));
  EXPECT_TRUE(w.is_same(b->parameters()[0]));
  EXPECT_FALSE(w.storage().is_same(a->parameters()[0].storage()));
}

TEST(Module, StrictLoadNamesEveryBadKeyAndChangesNothing) {
  auto model = fixture_model();
  Tensor before = model->parameters()[0].clone();
  io::Value sd = fixture_model()->state_dict();
  sd.dict().erase("0.bias");
  sd["extra.weight"] = ones({1});
  sd["1.running_var"] = ones({5});
  std::string msg = error_of([&] { model->load_state_dict(sd); });
  EXPECT_NE(msg.find("Missing key(s) in state_dict: \"0.bias\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("Unexpected key(s) in state_dict: \"extra.weight\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("1.running_var: expected shape [8], found [5]"), std::string::npos) << msg;
  EXPECT_TRUE(equal(model->parameters()[0], before));  // nothing was copied
}

TEST(Module, NonStrictLoadReturnsMissingAndUnexpected) {
  auto model = fixture_model();
  io::Value sd = fixture_model()->state_dict();
  sd.dict().erase("4.bias");
  sd["head.weight"] = ones({1});
  nn::LoadResult r = model->load_state_dict(sd, false);
  EXPECT_EQ(r.missing_keys, std::vector<std::string>{"4.bias"});
  EXPECT_EQ(r.unexpected_keys, std::vector<std::string>{"head.weight"});
  EXPECT_TRUE(equal(model->parameters()[0], sd.at("0.weight").to_tensor()));
  sd["1.running_var"] = ones({5});
  EXPECT_THROW(model->load_state_dict(sd, false), ValueError);  // shape mismatch: always an error
}

TEST(Module, Version1StateDictGetsNumBatchesTracked) {
  auto model = fixture_model();
  io::Value sd = fixture_model()->state_dict();
  sd.dict().erase("1.num_batches_tracked");
  sd.dict().attributes = nullptr;  // no _metadata: as an old PyTorch state dict
  model->load_state_dict(sd);
  EXPECT_EQ(model->named_buffers()[2].second.item(), 0.0);
}

TEST(Module, RegistrationRules) {
  Custom m;
  EXPECT_THROW(m.register_parameter("scale", ones({1})), ValueError);
  EXPECT_THROW(m.register_buffer("a.b", ones({1})), ValueError);
  EXPECT_THROW(m.register_module("", std::make_shared<nn::ReLU>()), ValueError);
  EXPECT_EQ(m.named_parameters().size(), 3u);  // scale, inner.weight, inner.bias
  EXPECT_EQ(m.named_parameters()[1].first, "inner.weight");
  EXPECT_EQ(m.named_buffers().size(), 1u);
  EXPECT_FALSE(m.state_dict().contains("steps"));  // non-persistent
  auto mods = m.named_modules();
  ASSERT_EQ(mods.size(), 2u);
  EXPECT_EQ(mods[1].first, "inner");
}

TEST(Module, TrainEvalRecursesAndIsOnlyAFlag) {
  auto model = fixture_model();
  model->eval();
  for (auto& [name, m] : model->named_modules()) EXPECT_FALSE(m->is_training()) << name;
  EXPECT_TRUE(is_grad_enabled());
  Tensor y = model->forward(randn({2, 4}));
  EXPECT_TRUE(y.requires_grad());  // eval does not turn off autograd
  model->train();
  EXPECT_TRUE((*model)[1]->is_training());
}

TEST(Module, ZeroGradAndToDtype) {
  auto model = fixture_model();
  sum(model->forward(randn({4, 4}))).backward();
  EXPECT_TRUE(model->parameters()[0].grad().defined());
  model->zero_grad(false);
  EXPECT_EQ(sum(model->parameters()[0].grad()).item(), 0.0);
  model->zero_grad();
  EXPECT_FALSE(model->parameters()[0].grad().defined());
  auto lin = std::dynamic_pointer_cast<nn::Linear>((*model)[0]);
  model->to(kFloat64);
  EXPECT_EQ(lin->weight.dtype(), kFloat64);  // the member handle sees the conversion
  EXPECT_EQ(model->named_buffers()[2].second.dtype(), kInt64);  // integer buffers stay
  EXPECT_EQ(model->forward(randn({2, 4}, kFloat64)).dtype(), kFloat64);
}

TEST(Module, ApplyVisitsChildrenThenSelf) {
  auto model = fixture_model();
  std::vector<std::string> seen;
  model->apply([&](nn::Module& m) { seen.push_back(m.type_name()); });
  EXPECT_EQ(seen, (std::vector<std::string>{"Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "Sequential"}));
}

TEST(Module, PrintsLikePyTorch) {
  auto model = fixture_model();
  EXPECT_EQ(model->repr(),
            "Sequential(\n"
            "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
            "  (1): BatchNorm1d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (2): ReLU()\n"
            "  (3): Dropout(p=0.5, inplace=False)\n"
            "  (4): Linear(in_features=8, out_features=3, bias=True)\n"
            ")");
  nn::Conv2d conv(nn::Conv2dOptions(1, 32, 3).padding(1));
  EXPECT_EQ(conv.repr(), "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
}

TEST(Module, DataParallelPrefix) {
  io::Value sd = fixture_model()->state_dict();
  nn::add_prefix_to_state_dict(sd, "module.");
  EXPECT_EQ(sd.dict().string_keys()[0], "module.0.weight");
  EXPECT_TRUE(sd.dict().attributes->at("_metadata").contains("module"));
  nn::consume_prefix_in_state_dict_if_present(sd, "module.");
  EXPECT_EQ(sd.dict().string_keys()[0], "0.weight");
  EXPECT_TRUE(sd.dict().attributes->at("_metadata").contains(""));
  fixture_model()->load_state_dict(sd);
}

TEST(Module, DefaultInitialisationBounds) {
  nn::Linear lin(100, 10);
  double bound = 1.0 / std::sqrt(100.0);
  EXPECT_LE(max(abs(lin.weight)).item(), bound);
  EXPECT_GT(max(abs(lin.weight)).item(), 0.8 * bound);
  EXPECT_LE(max(abs(lin.bias)).item(), bound);
  nn::Conv2d conv(nn::Conv2dOptions(4, 8, 3));
  EXPECT_LE(max(abs(conv.weight)).item(), 1.0 / std::sqrt(36.0));
}
