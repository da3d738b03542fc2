// train::Checkpointer in one process: what it saves and restores, what it refuses (naming the key),
// the run-directory lock, metrics.jsonl truncation, limits, and a fresh start.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ember.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

// Everything a loop has, built the same way from a seed.
struct Loop {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Adam> opt;
  std::unique_ptr<optim::StepLR> sched;
  std::unique_ptr<io::DataLoader> loader;
  Generator gen{42};
  double loss = 0;
  io::List history;

  explicit Loop(uint64_t seed) {
    manual_seed(0);  // the same data for every loop; the rest depends on the seed
    auto data = std::make_shared<io::TensorDataset>(randn({40, 4}), randint(0, 2, {40}));
    manual_seed(seed);
    model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::Dropout>(0.5),
                                             std::make_shared<nn::Linear>(8, 2));
    opt = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions(1e-2));
    sched = std::make_unique<optim::StepLR>(*opt, 3, 0.5);
    loader = std::make_unique<io::DataLoader>(data, io::DataLoaderOptions().batch_size(8).shuffle(true).seed(9));
  }
  void register_with(train::Checkpointer& c) {
    c.add("model", *model).add("optimizer", *opt).add("scheduler", *sched).add("loader", *loader).add("gen", gen)
        .add("default_rng", default_generator()).track("loss", loss).track("history", history);
  }
  void step() {
    io::Batch b;
    if (!loader->next(b)) {
      loader->set_epoch(loader->epoch() + 1);
      ASSERT_TRUE(loader->next(b));
    }
    Tensor l = nn::cross_entropy(model->forward(b.input), b.target);
    opt->zero_grad();
    l.backward();
    opt->step();
    sched->step();
    loss = l.item();
    gen.reserve(3);
  }
};

std::string bytes_of(const io::Value& v) {
  std::vector<uint8_t> b = io::save_to_bytes(v);
  return std::string(b.begin(), b.end());
}

}  // namespace

TEST(Checkpointer, ResumeRestoresEveryComponentAndThePosition) {
  fs::path dir = ember::testing::vacant_temp_path("roundtrip");
  Loop a(1);
  train::Position at;
  {
    train::Checkpointer c(dir.string());
    a.register_with(c);
    EXPECT_FALSE(c.resume().resumed());
    for (int i = 0; i < 7; ++i) a.step();
    a.history.push_back(io::Value(0.5));
    at.step = 7, at.epoch = 1;
    c.save(at);
  }
  Loop b(2);  // different weights, data order position, generator and variables
  train::Checkpointer c(dir.string());
  b.register_with(c);
  train::Position back = c.resume();
  EXPECT_TRUE(back.resumed());
  EXPECT_EQ(back.step, 7);
  EXPECT_EQ(back.epoch, 1);
  EXPECT_FALSE(back.finished);
  EXPECT_TRUE(bytes_of(b.model->state_dict()) == bytes_of(a.model->state_dict()));
  EXPECT_TRUE(bytes_of(b.opt->state_dict()) == bytes_of(a.opt->state_dict()));
  EXPECT_TRUE(bytes_of(b.sched->state_dict()) == bytes_of(a.sched->state_dict()));
  EXPECT_EQ(b.loader->cursor(), a.loader->cursor());
  EXPECT_EQ(b.gen.get_state(), a.gen.get_state());
  EXPECT_EQ(b.loss, a.loss);
  ASSERT_EQ(b.history.size(), 1u);
  // The next steps agree (both loops draw dropout masks from the one default generator).
  GeneratorState shared = default_generator().get_state();
  a.step();
  default_generator().set_state(shared);
  b.step();
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_TRUE(bytes_of(b.model->state_dict()) == bytes_of(a.model->state_dict()));
}

TEST(Checkpointer, RefusesMissingUnregisteredAndMismatchedKeysNamingThem) {
  fs::path dir = ember::testing::vacant_temp_path("refuse");
  {
    Loop a(1);
    train::Checkpointer c(dir.string());
    a.register_with(c);
    io::Dict config;
    config.insert("model", "mlp");
    config.insert("batch", 8);
    c.must_match("config", io::Value(config));
    c.save(train::Position{3});
  }
  auto message_of = [&](const std::function<void(train::Checkpointer&)>& setup) -> std::string {
    train::Checkpointer c(dir.string());
    setup(c);
    try {
      c.resume();
    } catch (const ValueError& e) {
      return e.what();
    }
    return "(no error)";
  };
  io::Dict same;
  same.insert("model", "mlp");
  same.insert("batch", 8);
  Loop b(2);
  // A component the checkpoint lacks, and one it has that is not registered.
  std::string m = message_of([&](train::Checkpointer& c) {
    b.register_with(c);
    c.add("ema", *b.model).must_match("config", io::Value(same));
  });
  EXPECT_NE(m.find("it has no 'ema'"), std::string::npos) << m;
  m = message_of([&](train::Checkpointer& c) {
    c.add("model", *b.model).add("optimizer", *b.opt).add("scheduler", *b.sched).add("loader", *b.loader).add("gen", b.gen)
        .add("default_rng", default_generator()).track("loss", b.loss).must_match("config", io::Value(same));
  });
  EXPECT_NE(m.find("it holds 'history', not registered"), std::string::npos) << m;
  // A declared configuration that differs.
  io::Dict other = same;
  other.insert("model", "cnn");
  m = message_of([&](train::Checkpointer& c) {
    b.register_with(c);
    c.must_match("config", io::Value(other));
  });
  EXPECT_NE(m.find("config.model = 'mlp', this run has 'cnn'"), std::string::npos) << m;
  // A component whose state does not fit: the error names the component.
  auto bigger = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 9), std::make_shared<nn::Dropout>(0.5),
                                                 std::make_shared<nn::Linear>(9, 2));
  m = message_of([&](train::Checkpointer& c) {
    b.register_with(c);
    c.add("big", *bigger);
  });
  EXPECT_NE(m.find("'big'"), std::string::npos) << m;
  // Nothing was moved aside or deleted by the refusals.
  EXPECT_TRUE(fs::exists(dir / "ckpt-0000000003.pt"));
  EXPECT_FALSE(fs::exists(dir / "corrupt"));
}

TEST(Checkpointer, RegisteringTheSameNameTwiceOrAProtocolKeyIsAnError) {
  fs::path dir = ember::testing::vacant_temp_path("names");
  Loop a(1);
  train::Checkpointer c(dir.string());
  c.add("model", *a.model);
  EXPECT_THROW(c.add("model", *a.opt), ValueError);
  EXPECT_THROW(c.track("global_step", a.loss), ValueError);
  EXPECT_THROW(c.must_match("model", io::Value(1)), ValueError);
}

TEST(Checkpointer, ASecondCheckpointerOnTheSameDirectoryIsRefusedNamingTheHolder) {
  fs::path dir = ember::testing::vacant_temp_path("lock");
  auto first = std::make_unique<train::Checkpointer>(dir.string());
  first->save(train::Position{1});
  try {
    train::Checkpointer second(dir.string());
    FAIL() << "the second Checkpointer should have been refused";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("is in use by pid " + std::to_string(::getpid())), std::string::npos) << m;
    EXPECT_NE(m.find(dir.string()), std::string::npos) << m;
  }
  EXPECT_TRUE(fs::exists(dir / "ckpt-0000000001.pt"));
  first.reset();  // releases the lock
  train::Checkpointer third(dir.string());
  EXPECT_EQ(third.resume().step, 1);
}

TEST(Checkpointer, MetricsAreTruncatedToTheCheckpointOnResume) {
  fs::path dir = ember::testing::vacant_temp_path("metrics");
  {
    train::Checkpointer c(dir.string());
    c.resume();
    c.metrics().append({{"step", 1}});
    c.metrics().append({{"step", 2}});
    c.save(train::Position{2});
    c.metrics().append({{"step", 3}});  // after the checkpoint: will run again
  }
  { std::ofstream(dir / "metrics.jsonl", std::ios::app) << "{\"step\": 4, \"torn"; }  // a row torn by a kill
  train::Checkpointer c(dir.string());
  EXPECT_EQ(c.resume().step, 2);
  EXPECT_EQ(c.metrics().rows(), 2);
  std::ifstream in(dir / "metrics.jsonl");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"step\":1}\n{\"step\":2}\n");
  c.metrics().append({{"step", 3}});
  EXPECT_EQ(c.metrics().rows(), 3);
}

TEST(Checkpointer, StepLimitAndFinishedMakeTheLoopDone) {
  fs::path dir = ember::testing::vacant_temp_path("limits");
  train::Checkpointer c(dir.string(), train::CheckpointerOptions().max_steps(5));
  train::Position at;
  EXPECT_FALSE(c.done(at));
  at.step = 5;
  EXPECT_TRUE(c.done(at));
  EXPECT_TRUE(c.at_step_limit(at));
  train::Position finished;
  finished.finished = true;
  EXPECT_TRUE(c.done(finished));
  EXPECT_FALSE(train::Checkpointer(ember::testing::vacant_temp_path("no_limit").string()).done(train::Position{1000000}));
  train::Checkpointer epochs(ember::testing::vacant_temp_path("epochs").string(), train::CheckpointerOptions().max_epochs(3));
  EXPECT_FALSE(epochs.done(train::Position{100, 2}));
  EXPECT_TRUE(epochs.done(train::Position{100, 3}));
}

TEST(Checkpointer, StartingOverRemovesCheckpointsAndMetricsUnderTheLock) {
  fs::path dir = ember::testing::vacant_temp_path("over");
  {
    train::Checkpointer c(dir.string());
    c.metrics().append({{"step", 1}});
    c.save(train::Position{1});
  }
  fs::create_directories(dir / "mine");  // not the Checkpointer's: left alone
  train::Checkpointer c(dir.string(), train::CheckpointerOptions().resume(false));
  EXPECT_FALSE(c.resume().resumed());
  EXPECT_FALSE(fs::exists(dir / "ckpt-0000000001.pt"));
  EXPECT_FALSE(fs::exists(dir / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(dir / "mine"));
}

TEST(Generators, RestoreAllOrNothing) {
  Generator a(1), b(2);
  a.reserve(10);
  train::Generators set;
  set.add("a", a).add("b", b);
  io::Value saved = set.state_dict();
  a.reserve(5);
  set.load_state_dict(saved);
  EXPECT_EQ(a.get_state().offset, 10u);
  io::Value partial = io::Dict();
  partial["a"] = saved.at("a");
  GeneratorState before = a.get_state();
  a.reserve(1);
  before = a.get_state();
  EXPECT_THROW(set.load_state_dict(partial), ValueError);  // no 'b': nothing changes
  EXPECT_EQ(a.get_state(), before);
}
