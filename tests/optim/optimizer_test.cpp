// Optimizer mechanics: groups, validation, load checks, clipping.
#include <cmath>

#include <gtest/gtest.h>

#include "ember.h"
#include "support/error_of.h"

using namespace ember;

namespace {
}  // namespace

TEST(Optimizer, HyperParametersAreValidated) {
  Tensor p = zeros({2}).requires_grad_();
  EXPECT_NE(error_of([&] { optim::SGD({p}, optim::SGDOptions(-1)); }).find("invalid learning rate -1"), std::string::npos);
  EXPECT_NE(error_of([&] { optim::Adam({p}, optim::AdamOptions().betas(0.9, 1.0)); }).find("beta parameter at index 1"),
            std::string::npos);
  EXPECT_THROW(optim::SGD({p}, optim::SGDOptions(0.1).nesterov(true)), ValueError);
  EXPECT_THROW(optim::Adam({p}, optim::AdamOptions().eps(-1)), ValueError);
  EXPECT_THROW(optim::SGD(std::vector<Tensor>{}, optim::SGDOptions(0.1)), ValueError);
  EXPECT_THROW(optim::SGD({p, p}, optim::SGDOptions(0.1)), ValueError);  // one group per parameter
}

TEST(Optimizer, ParamGroupsHaveTheirOwnOptions) {
  Tensor a = ones({1}).requires_grad_(), b = ones({1}).requires_grad_();
  optim::SGD opt({{{a}, {}}, {{b}, [] { io::Dict d; d.insert("lr", 0.5); return d; }()}}, optim::SGDOptions(0.1));
  a.set_grad(ones({1}));
  b.set_grad(ones({1}));
  opt.step();
  EXPECT_FLOAT_EQ(a.item(), 0.9f);
  EXPECT_FLOAT_EQ(b.item(), 0.5f);
  io::Value sd = opt.state_dict();
  EXPECT_EQ(sd.at("param_groups").at_index(1).at("params").at_index(0).to_int(), 1);
  EXPECT_EQ(sd.at("param_groups").at_index(0).dict().string_keys().back(), "params");
  EXPECT_TRUE(sd.at("param_groups").at_index(0).at("momentum").is_int());  // PyTorch's int 0 default
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optimizer, LoadStateDictSaysWhatDiffers) {
  Tensor a = ones({3}).requires_grad_(), b = ones({2}).requires_grad_();
  optim::Adam opt({a, b});
  a.set_grad(ones({3}));
  b.set_grad(ones({2}));
  opt.step();
  io::Value sd = opt.state_dict();

  Tensor c = ones({3}).requires_grad_();
  optim::Adam fewer({c});
  EXPECT_NE(error_of([&] { fewer.load_state_dict(sd); }).find("param_groups[0] has 2 parameters in the state, 1 in this optimizer"),
            std::string::npos);
  Tensor d = ones({3}).requires_grad_(), e = ones({5}).requires_grad_();
  optim::Adam wrong_shape({d, e});
  std::string msg = error_of([&] { wrong_shape.load_state_dict(sd); });
  EXPECT_NE(msg.find("state[1]['exp_avg']: expected shape [5] (the parameter's), found [2]"), std::string::npos) << msg;
  EXPECT_FALSE(wrong_shape.state_dict().at("state").contains(0));  // a failed load changed nothing
}

TEST(Clip, GradNormAndValue) {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({1}).requires_grad_();
  a.set_grad(tensor({3.0, 0.0}));
  b.set_grad(tensor({4.0}));
  double norm = optim::clip_grad_norm_({a, b}, 1.0);
  EXPECT_NEAR(norm, 5.0, 1e-6);
  EXPECT_NEAR(a.grad().to_vector<float>()[0], 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(b.grad().item(), 4.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(optim::clip_grad_norm_({a, b}, 10.0, INFINITY), 4.0 / (5.0 + 1e-6), 1e-6);
  a.set_grad(tensor({-3.0, 0.5}));
  optim::clip_grad_value_({a}, 1.0);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{-1.0f, 0.5f}));
  b.set_grad(tensor({NAN}));
  EXPECT_THROW(optim::clip_grad_norm_({b}, 1.0, 2.0, true), ValueError);
}

// Adam's fused kernel (contiguous parameters) and its op-by-op fallback (views) follow the same
// trajectory, for every variant; both are checked against PyTorch in pytorch_optim_test.
TEST(Optimizer, FusedAdamMatchesTheOpByOpUpdate) {
  struct Variant {
    const char* name;
    bool adamw;
    optim::AdamOptions options;
  };
  std::vector<Variant> variants{{"adam", false, optim::AdamOptions(0.01)},
                                {"adam_l2_amsgrad", false, optim::AdamOptions(0.01).weight_decay(0.1).amsgrad(true)},
                                {"adamw_maximize", true, optim::AdamOptions(0.01).maximize(true)},
                                {"adamw_amsgrad", true, optim::AdamOptions(0.02).weight_decay(0.3).amsgrad(true)}};
  for (const Variant& v : variants) {
    Generator g(11);
    Tensor start = randn({3, 5}, TensorOptions(kFloat64), &g);
    Tensor fused = start.clone().requires_grad_(true);
    Tensor viewed = start.t().contiguous().t();  // same values, transposed strides
    ASSERT_FALSE(viewed.is_contiguous());
    viewed.requires_grad_(true);
    auto make = [&](Tensor p) -> std::unique_ptr<optim::Optimizer> {
      if (v.adamw) return std::make_unique<optim::AdamW>(std::vector<Tensor>{p}, v.options);
      return std::make_unique<optim::Adam>(std::vector<Tensor>{p}, v.options);
    };
    auto a = make(fused), b = make(viewed);
    for (int step = 0; step < 12; ++step) {
      Tensor grad = randn({3, 5}, TensorOptions(kFloat64), &g);
      fused.set_grad(grad.clone());
      viewed.set_grad(grad.t().contiguous().t());
      a->step();
      b->step();
    }
    EXPECT_LT(max(abs(sub(fused.detach(), viewed.detach()))).item<double>(), 1e-12) << v.name;
    EXPECT_GT(max(abs(sub(fused.detach(), start))).item<double>(), 1e-3) << v.name << ": the parameters moved";
  }
}

namespace {

// One step of `opt` on a [2, 3] parameter, so it has per-parameter state.
void take_a_step(optim::Optimizer& opt) {
  Tensor& p = opt.param_groups()[0].params[0];
  p.set_grad(full({2, 3}, 0.5));
  opt.step();
}

}  // namespace

// Every optimizer refuses another optimizer's state, naming both; nothing changes.
TEST(Optimizer, RefusesAnotherOptimizersStateNamingBoth) {
  Tensor p = ones({2, 3}).requires_grad_();
  optim::SGD sgd({p}, optim::SGDOptions(0.1).momentum(0.9));
  optim::Adam adam({p}, optim::AdamOptions(1e-3));
  optim::RMSprop rms({p}, optim::RMSpropOptions(1e-2));
  optim::Adagrad adagrad({p}, optim::AdagradOptions(1e-2));
  std::vector<optim::Optimizer*> all{&sgd, &adam, &rms, &adagrad};
  for (optim::Optimizer* o : all) take_a_step(*o);
  for (optim::Optimizer* target : all)
    for (optim::Optimizer* source : all) {
      if (target == source) continue;
      io::Value before = target->state_dict();
      std::string m = error_of([&] { target->load_state_dict(source->state_dict()); });
      EXPECT_NE(m.find(target->name() + ".load_state_dict: this is the state of an "), std::string::npos) << m;
      std::string source_family = source->name() == "Adam" ? "Adam/AdamW" : source->name();
      EXPECT_NE(m.find(source_family + " optimizer, not of " + target->name()), std::string::npos) << m;
      EXPECT_EQ(io::summary(target->state_dict()), io::summary(before)) << "a refused load changed " << target->name();
    }
  // Adam and AdamW share one layout: each continues the other's state, as in PyTorch.
  optim::AdamW adamw({p}, optim::AdamOptions(1e-3));
  EXPECT_NO_THROW(adamw.load_state_dict(adam.state_dict()));
}

TEST(Optimizer, RefusesStateEntriesOfTheWrongKindOrShape) {
  Tensor p = ones({2, 3}).requires_grad_();
  optim::Adam adam({p}, optim::AdamOptions(1e-3));
  take_a_step(adam);
  auto with_entry = [&](const std::string& key, io::Value v) {
    io::Value sd = adam.state_dict();
    io::Dict state = sd.at("state").dict().at(0).dict();  // a copy of parameter 0's entries
    state.insert(key, v);
    io::Dict all;
    all.insert(0, io::Value(state));
    io::Dict out;
    out.insert("state", io::Value(all));
    out.insert("param_groups", sd.at("param_groups"));
    return io::Value(out);
  };
  std::string m = error_of([&] { adam.load_state_dict(with_entry("momentum_buffer", zeros({2, 3}))); });
  EXPECT_NE(m.find("state[0] holds 'momentum_buffer', which Adam does not keep"), std::string::npos) << m;
  m = error_of([&] { adam.load_state_dict(with_entry("exp_avg", zeros({3, 2}))); });
  EXPECT_NE(m.find("state[0]['exp_avg']: expected shape [2, 3]"), std::string::npos) << m;
  m = error_of([&] { adam.load_state_dict(with_entry("exp_avg_sq", io::Value("zeros"))); });
  EXPECT_NE(m.find("state[0]['exp_avg_sq']: expected a tensor, found str"), std::string::npos) << m;
  m = error_of([&] { adam.load_state_dict(with_entry("step", zeros({2}))); });
  EXPECT_NE(m.find("state[0]['step']: expected one number"), std::string::npos) << m;
  EXPECT_NO_THROW(adam.load_state_dict(with_entry("step", io::Value(int64_t{7}))));  // files before PyTorch 1.12
}
