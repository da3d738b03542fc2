// Optimizers and schedulers against PyTorch (tests/fixtures/optim.json, recorded by
// tests/fixtures/scripts/record_optim.py): trajectories, continuing from PyTorch's state, state
// dict layout, lr sequences.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"

using namespace ember;
using json = nlohmann::json;

namespace {

const json& fixture() {
  static const json all = [] {
    std::ifstream in(EMBER_FIXTURES_DIR "/optim.json");
    return json::parse(in);
  }();
  return all;
}

// The script's encoding of Python values -> io::Value.
io::Value from_json(const json& j) {
  if (j.is_null()) return io::Value();
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    io::List l;
    for (const json& x : j) l.push_back(from_json(x));
    return l;
  }
  if (j.contains("tensor"))
    return tensor(j["tensor"].get<std::vector<double>>(), j["shape"].get<Shape>(), parse_dtype(j["dtype"]));
  if (j.contains("float")) {
    if (j["float"].is_string()) return j["float"] == "inf" ? INFINITY : -INFINITY;
    return j["float"].get<double>();
  }
  if (j.contains("tuple")) {
    io::Tuple t;
    for (const json& x : j["tuple"]) t.items.push_back(from_json(x));
    return t;
  }
  io::Dict d;
  for (const json& kv : j["dict"]) {
    io::Key k = kv[0].is_string() ? io::Key(kv[0].get<std::string>()) : io::Key(kv[0].get<int64_t>());
    d.insert(k, from_json(kv[1]));
  }
  return d;
}

Tensor vec(const char* key, Shape shape) { return tensor(fixture()[key].get<std::vector<double>>(), shape, kFloat64); }

struct Problem {
  Tensor x = vec("X", {16, 4}), y = vec("Y", {16, 3});
  Tensor w = vec("W0", {3, 4}).requires_grad_(), b = vec("B0", {3}).requires_grad_();
  void backward() {
    Tensor loss = mean(square(sub(tanh(add(matmul(x, w.t()), b)), y)));
    loss.backward();
  }
};

double num(const json& kw, const char* key, double fallback) {
  if (!kw.contains(key)) return fallback;
  const json& v = kw[key];
  return v.is_object() ? v["float"].get<double>() : v.get<double>();
}

std::unique_ptr<optim::Optimizer> make(const json& c, std::vector<Tensor> params) {
  std::string type = c["type"];
  json kw = json::object();  // the script encodes the kwargs dict as {"dict": [[key, value], ...]}
  for (const json& kv : c["kwargs"]["dict"]) kw[kv[0].get<std::string>()] = kv[1];
  auto flag = [&](const char* key) { return kw.value(key, false); };
  // Only the options the script passed are set, so unset ones keep PyTorch's defaults (and types).
  auto set = [&](const char* key, auto&& setter) {
    if (kw.contains(key)) setter(num(kw, key, 0));
  };
  if (type == "SGD") {
    optim::SGDOptions o(num(kw, "lr", 0));
    set("momentum", [&](double v) { o.momentum(v); });
    set("dampening", [&](double v) { o.dampening(v); });
    set("weight_decay", [&](double v) { o.weight_decay(v); });
    o.nesterov(flag("nesterov")).maximize(flag("maximize"));
    return std::make_unique<optim::SGD>(params, o);
  }
  if (type == "Adam" || type == "AdamW") {
    optim::AdamOptions o(num(kw, "lr", 1e-3));
    if (kw.contains("betas")) o.betas(kw["betas"]["tuple"][0]["float"], kw["betas"]["tuple"][1]["float"]);
    set("eps", [&](double v) { o.eps(v); });
    set("weight_decay", [&](double v) { o.weight_decay(v); });
    o.amsgrad(flag("amsgrad")).maximize(flag("maximize"));
    if (type == "Adam") return std::make_unique<optim::Adam>(params, o);
    return std::make_unique<optim::AdamW>(params, o);
  }
  if (type == "RMSprop") {
    optim::RMSpropOptions o(num(kw, "lr", 1e-2));
    set("alpha", [&](double v) { o.alpha(v); });
    set("momentum", [&](double v) { o.momentum(v); });
    set("weight_decay", [&](double v) { o.weight_decay(v); });
    o.centered(flag("centered"));
    return std::make_unique<optim::RMSprop>(params, o);
  }
  optim::AdagradOptions o(num(kw, "lr", 1e-2));
  set("lr_decay", [&](double v) { o.lr_decay(v); });
  set("weight_decay", [&](double v) { o.weight_decay(v); });
  set("initial_accumulator_value", [&](double v) { o.initial_accumulator_value(v); });
  return std::make_unique<optim::Adagrad>(params, o);
}

void expect_params(const Problem& p, const json& want, const std::string& what) {
  EXPECT_TRUE(allclose(p.w, tensor(want[0].get<std::vector<double>>(), Shape{3, 4}, kFloat64), 0, 1e-10)) << what << " w";
  EXPECT_TRUE(allclose(p.b, tensor(want[1].get<std::vector<double>>(), Shape{3}, kFloat64), 0, 1e-10)) << what << " b";
}

// Same structure and values: keys in order, Python types, tensors within 1e-10.
void expect_same_value(const io::Value& got, const io::Value& want, const std::string& path) {
  ASSERT_EQ(got.type_name(), want.type_name()) << path;
  switch (want.kind()) {
    case io::Value::Kind::Tensor:
      EXPECT_EQ(got.to_tensor().dtype(), want.to_tensor().dtype()) << path;
      EXPECT_TRUE(allclose(got.to_tensor(), want.to_tensor(), 0, 1e-10)) << path;
      break;
    case io::Value::Kind::Double: EXPECT_NEAR(got.to_double(), want.to_double(), 1e-12) << path; break;
    case io::Value::Kind::Int: EXPECT_EQ(got.to_int(), want.to_int()) << path; break;
    case io::Value::Kind::Bool: EXPECT_EQ(got.to_bool(), want.to_bool()) << path; break;
    case io::Value::Kind::List:
    case io::Value::Kind::Tuple:
      ASSERT_EQ(got.size(), want.size()) << path;
      for (size_t i = 0; i < want.size(); ++i) expect_same_value(got.at_index(i), want.at_index(i), path + "[" + std::to_string(i) + "]");
      break;
    case io::Value::Kind::Dict: {
      std::vector<std::string> gk = got.dict().string_keys(), wk = want.dict().string_keys();
      ASSERT_EQ(gk, wk) << path;
      for (const auto& [k, v] : want.dict()) expect_same_value(got.dict().at(k), v, path + "[" + k.repr() + "]");
      break;
    }
    default: break;
  }
}

class Trajectory : public ::testing::TestWithParam<std::string> {
 protected:
  const json& c() {
    for (const json& o : fixture()["optimizers"])
      if (o["name"] == GetParam()) return o;
    throw std::runtime_error("no case");
  }
};

TEST_P(Trajectory, MatchesPyTorchStepByStep) {
  Problem p;
  auto opt = make(c(), {p.w, p.b});
  for (size_t i = 0; i < c()["params"].size(); ++i) {
    opt->zero_grad();
    p.backward();
    opt->step();
    expect_params(p, c()["params"][i], GetParam() + " step " + std::to_string(i + 1));
  }
}

TEST_P(Trajectory, StateDictHasPyTorchsLayoutAndValues) {
  Problem p;
  auto opt = make(c(), {p.w, p.b});
  for (int i = 0; i < 4; ++i) {
    opt->zero_grad();
    p.backward();
    opt->step();
  }
  expect_same_value(opt->state_dict(), from_json(c()["state_after_4"]), "state_dict");
}

TEST_P(Trajectory, ContinuesFromPyTorchsSavedState) {
  Problem p;
  {
    NoGradGuard no_grad;
    p.w.copy_(tensor(c()["params"][3][0].get<std::vector<double>>(), Shape{3, 4}, kFloat64));
    p.b.copy_(tensor(c()["params"][3][1].get<std::vector<double>>(), Shape{3}, kFloat64));
  }
  auto opt = make(c(), {p.w, p.b});
  opt->load_state_dict(from_json(c()["state_after_4"]));
  for (size_t i = 4; i < c()["params"].size(); ++i) {
    opt->zero_grad();
    p.backward();
    opt->step();
    expect_params(p, c()["params"][i], GetParam() + " resumed step " + std::to_string(i + 1));
  }
}

TEST_P(Trajectory, InterruptedAndRestoredIsBitIdentical) {
  Problem straight, first;
  auto a = make(c(), {straight.w, straight.b});
  for (int i = 0; i < 8; ++i) {
    a->zero_grad();
    straight.backward();
    a->step();
  }
  auto b = make(c(), {first.w, first.b});
  for (int i = 0; i < 3; ++i) {
    b->zero_grad();
    first.backward();
    b->step();
  }
  io::Value saved = b->state_dict();
  Problem second;
  {
    NoGradGuard no_grad;
    second.w.copy_(first.w);
    second.b.copy_(first.b);
  }
  auto c2 = make(c(), {second.w, second.b});
  c2->load_state_dict(saved);
  for (int i = 3; i < 8; ++i) {
    c2->zero_grad();
    second.backward();
    c2->step();
  }
  EXPECT_TRUE(equal(second.w, straight.w));
  EXPECT_TRUE(equal(second.b, straight.b));
}

std::vector<std::string> optimizer_names() {
  std::vector<std::string> out;
  for (const json& o : fixture()["optimizers"]) out.push_back(o["name"]);
  return out;
}
INSTANTIATE_TEST_SUITE_P(PyTorch, Trajectory, ::testing::ValuesIn(optimizer_names()), [](const auto& i) { return i.param; });

// ---- schedulers ----

struct LrRun {
  std::vector<double> lrs, momenta;
};

template <class Make>
LrRun run_schedule(std::unique_ptr<optim::Optimizer> opt, Make make, int steps = 40) {
  auto sched = make(*opt);
  LrRun r;
  for (int i = 0; i < steps; ++i) {
    const auto& g = opt->param_groups()[0];
    r.lrs.push_back(g.lr());
    r.momenta.push_back(g.options.contains("betas") ? g.options.at("betas").tuple()[0].to_double()
                                                    : g.options.at("momentum").to_double());
    opt->step();
    sched->step();
  }
  return r;
}

const json& schedule(const std::string& name) {
  for (const json& s : fixture()["schedulers"])
    if (s["name"] == name) return s;
  throw std::runtime_error("no schedule " + name);
}

void expect_sequence(const std::vector<double>& got, const json& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i].get<double>(), 1e-12 * std::max(1.0, std::abs(want[i].get<double>()))) << what << " step " << i;
}

std::unique_ptr<optim::Optimizer> sgd(double momentum = 0) {
  Tensor p = zeros({1}).requires_grad_();
  p.set_grad(zeros({1}));
  return std::make_unique<optim::SGD>(std::vector<Tensor>{p}, optim::SGDOptions(0.1).momentum(momentum));
}

TEST(Schedulers, LrSequencesMatchPyTorch) {
  using namespace optim;
  auto check = [](const std::string& name, LrRun r) {
    expect_sequence(r.lrs, schedule(name)["lrs"], name);
    expect_sequence(r.momenta, schedule(name)["momenta"], name + " momentum");
  };
  check("step", run_schedule(sgd(), [](Optimizer& o) { return std::make_unique<StepLR>(o, 7, 0.5); }));
  check("multistep", run_schedule(sgd(), [](Optimizer& o) { return std::make_unique<MultiStepLR>(o, std::vector<int64_t>{5, 12, 12, 30}, 0.3); }));
  check("exponential", run_schedule(sgd(), [](Optimizer& o) { return std::make_unique<ExponentialLR>(o, 0.9); }));
  check("cosine", run_schedule(sgd(), [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 15, 0.001); }));
  check("linear", run_schedule(sgd(), [](Optimizer& o) { return std::make_unique<LinearLR>(o, 0.25, 1.0, 8); }));
  check("onecycle_sgd", run_schedule(sgd(0.9), [](Optimizer& o) { return std::make_unique<OneCycleLR>(o, OneCycleOptions(1.0, 40)); }));
  Tensor p = zeros({1}).requires_grad_();
  p.set_grad(zeros({1}));
  check("onecycle_adam_linear_three_phase",
        run_schedule(std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions(0.1)), [](Optimizer& o) {
          return std::make_unique<OneCycleLR>(o, OneCycleOptions(0.5, 40).anneal_strategy("linear").three_phase(true).pct_start(0.25));
        }));
  check("sequential_warmup_cosine", run_schedule(sgd(), [](Optimizer& o) {
          std::vector<std::shared_ptr<LRScheduler>> parts{std::make_shared<LinearLR>(o, 0.1, 1.0, 5),
                                                          std::make_shared<CosineAnnealingLR>(o, 30)};
          return std::make_unique<SequentialLR>(o, parts, std::vector<int64_t>{5});
        }));
  check("sequential_three", run_schedule(sgd(), [](Optimizer& o) {
          std::vector<std::shared_ptr<LRScheduler>> parts{std::make_shared<ExponentialLR>(o, 0.95), std::make_shared<StepLR>(o, 4, 0.5),
                                                          std::make_shared<ExponentialLR>(o, 0.9)};
          return std::make_unique<SequentialLR>(o, parts, std::vector<int64_t>{10, 25});
        }));
}

TEST(Schedulers, ReduceLROnPlateauMatchesPyTorch) {
  auto opt = sgd();
  optim::ReduceLROnPlateau sched(*opt, optim::ReduceLROnPlateauOptions().patience(2).factor(0.5).cooldown(1).min_lr(0.01));
  std::vector<double> lrs;
  const json& metrics = fixture()["plateau_metrics"];
  for (size_t i = 0; i < schedule("plateau")["lrs"].size(); ++i) {
    lrs.push_back(opt->param_groups()[0].lr());
    sched.step(metrics[i].get<double>());
  }
  expect_sequence(lrs, schedule("plateau")["lrs"], "plateau");
}

TEST(Schedulers, StateDictRoundTripContinuesTheSequence) {
  auto a = sgd(), b = sgd();
  optim::CosineAnnealingLR sa(*a, 10, 0.01);
  for (int i = 0; i < 6; ++i) sa.step();
  io::Value state = sa.state_dict();
  EXPECT_EQ(state.dict().string_keys(), (std::vector<std::string>{"T_max", "eta_min", "base_lrs", "last_epoch", "verbose",
                                                                   "_step_count", "_get_lr_called_within_step", "_last_lr"}));
  // Resume: optimizer groups carry initial_lr and the current lr (as the optimizer's state would).
  b->load_state_dict(a->state_dict());
  optim::CosineAnnealingLR sb(*b, 10, 0.01, 5);
  sb.load_state_dict(state);
  for (int i = 0; i < 6; ++i) {
    sa.step();
    sb.step();
    EXPECT_EQ(sa.get_last_lr(), sb.get_last_lr());
  }
}

}  // namespace
