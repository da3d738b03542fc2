// CheckpointManager: retention invariants over randomized sequences of saves, metrics and crashes;
// corrupt-checkpoint fallback; stale temp files; background saves that must not see later changes.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "ember.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

// The pid of a process that has exited: a crashed writer's temp files carry one.
std::string dead_pid() {
  static pid_t pid = [] {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, nullptr, 0);
    return p;
  }();
  return std::to_string(pid);
}

std::set<int64_t> steps_on_disk(const fs::path& dir) {
  std::set<int64_t> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind("ckpt-", 0) == 0) out.insert(std::stoll(n.substr(5, 10)));
  }
  return out;
}

io::Value state_for(int64_t step) {
  io::Value v = io::Dict();
  v["step"] = step;
  v["w"] = full({3}, static_cast<double>(step));
  return v;
}

}  // namespace

TEST(CheckpointManager, RetentionInvariantsUnderRandomSavesAndCrashes) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 6; ++trial) {
    fs::path dir = ember::testing::vacant_temp_path("retention" + std::to_string(trial));
    int64_t keep_last = 1 + trial % 3, keep_best = trial % 2 ? 2 : 0, keep_every = trial % 3 == 2 ? 10 : 0;
    auto policy = io::CheckpointPolicy().keep_last(keep_last).keep_every(keep_every);
    if (keep_best) policy.keep_best(keep_best, "acc", true);
    std::map<int64_t, double> all_metrics;  // every checkpoint ever committed
    auto manager = std::make_unique<io::CheckpointManager>(dir.string(), policy);
    int64_t step = 0;
    for (int i = 0; i < 40; ++i) {
      step += 1 + static_cast<int64_t>(rng() % 4);
      double acc = std::uniform_real_distribution<double>(0, 1)(rng);
      all_metrics[step] = acc;
      manager->save(step, state_for(step), {{"acc", acc}});
      if (rng() % 5 == 0) {  // crash: a half-written temp file is left behind, the process restarts
        std::ofstream(dir / (".ckpt-9999999999.pt.tmp-" + dead_pid() + "-1")) << "partial";
        manager.reset();
        manager = std::make_unique<io::CheckpointManager>(dir.string(), policy);
        EXPECT_FALSE(fs::exists(dir / (".ckpt-9999999999.pt.tmp-" + dead_pid() + "-1")));
      }
      // Invariants after every commit:
      std::set<int64_t> disk = steps_on_disk(dir);
      std::vector<int64_t> committed;
      for (const auto& [s, m] : all_metrics) committed.push_back(s);
      EXPECT_TRUE(disk.count(step)) << "the newest checkpoint must exist";
      for (size_t k = committed.size() > static_cast<size_t>(keep_last) ? committed.size() - keep_last : 0; k < committed.size(); ++k)
        EXPECT_TRUE(disk.count(committed[k])) << "keep_last " << keep_last << " dropped step " << committed[k];
      if (keep_best) {
        std::vector<std::pair<double, int64_t>> ranked;
        for (const auto& [s, m] : all_metrics) ranked.emplace_back(-m, s);
        std::sort(ranked.begin(), ranked.end());
        for (int k = 0; k < keep_best && k < static_cast<int>(ranked.size()); ++k)
          EXPECT_TRUE(disk.count(ranked[k].second)) << "best " << k << " (step " << ranked[k].second << ") was deleted";
      }
      if (keep_every)
        for (int64_t s : committed)
          if (s % keep_every == 0) EXPECT_TRUE(disk.count(s)) << "every-" << keep_every << " step " << s << " was deleted";
      std::set<int64_t> indexed;
      for (const auto& c : manager->list()) indexed.insert(c.step);
      EXPECT_EQ(indexed, disk) << "index and directory disagree";
    }
    auto latest = manager->latest();
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->info.step, step);
    EXPECT_EQ(latest->state.at("step").to_int(), step);
    EXPECT_EQ(latest->state.at("checkpoint").at("metrics").at("acc").to_double(), all_metrics[step]);
  }
}

TEST(CheckpointManager, CorruptNewestIsMovedAsideAndReported) {
  fs::path dir = ember::testing::vacant_temp_path("corrupt");
  io::CheckpointManager m(dir.string(), io::CheckpointPolicy().keep_last(5));
  for (int64_t s : {10, 20, 30}) m.save(s, state_for(s));
  {
    std::fstream f(m.path_for(30), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
  }
  auto latest = m.latest();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->info.step, 20);
  std::vector<std::string> messages = m.take_messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("ckpt-0000000030.pt is corrupt"), std::string::npos) << messages[0];
  EXPECT_TRUE(fs::exists(dir / "corrupt" / "ckpt-0000000030.pt"));
  // A rebuilt manager (after a crash) agrees, and new saves continue from there.
  io::CheckpointManager again(dir.string(), io::CheckpointPolicy().keep_last(5));
  EXPECT_EQ(again.latest()->info.step, 20);
}

TEST(CheckpointManager, IndexIsRebuiltFromTheFilesWhenLost) {
  fs::path dir = ember::testing::vacant_temp_path("reindex");
  {
    io::CheckpointManager m(dir.string(), io::CheckpointPolicy().keep_last(2).keep_best(1, "acc", true));
    m.save(1, state_for(1), {{"acc", 0.9}});
    m.save(2, state_for(2), {{"acc", 0.1}});
    m.save(3, state_for(3), {{"acc", 0.2}});
  }
  fs::remove(dir / "checkpoints.json");
  io::CheckpointManager m(dir.string(), io::CheckpointPolicy().keep_last(2).keep_best(1, "acc", true));
  EXPECT_EQ(m.best()->info.step, 1);  // metrics recovered from the checkpoints themselves
  EXPECT_EQ(m.list().size(), 3u);
}

TEST(CheckpointManager, BackgroundSaveIsUnaffectedByLaterChanges) {
  fs::path dir = ember::testing::vacant_temp_path("background");
  io::CheckpointManager m(dir.string(), io::CheckpointPolicy().background(true));
  Tensor w = zeros({1 << 18});
  io::Value state = io::Dict();
  state["w"] = w;
  state["view"] = w.narrow(0, 10, 5);
  m.save(1, state);
  w.fill_(7.0);  // right after save() returns
  m.wait();
  io::Value back = io::load(m.path_for(1));
  EXPECT_EQ(max(back.at("w").to_tensor()).item(), 0.0);
  EXPECT_TRUE(back.at("view").to_tensor().storage().is_same(back.at("w").to_tensor().storage()));  // sharing kept
  EXPECT_GE(m.last_stall_ms(), 0.0);
}

// A reader opening a directory must not remove the temp file of a save still in flight in another
// process; a dead writer's leftovers are removed.
TEST(CheckpointManager, KeepsALiveWritersTempFileAndRemovesADeadOnes) {
  fs::path dir = ember::testing::vacant_temp_path("temps");
  fs::create_directories(dir);
  pid_t live = fork();
  if (live == 0) {
    sleep(30);
    _exit(0);
  }
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  fs::path in_flight = dir / (".ckpt-0000000005.pt.tmp-" + std::to_string(live) + "-0");
  fs::path leftover = dir / (".ckpt-0000000004.pt.tmp-" + std::to_string(dead) + "-0");
  std::ofstream(in_flight) << "partial";
  std::ofstream(leftover) << "partial";
  ASSERT_TRUE(fs::exists(in_flight) && fs::exists(leftover));
  io::CheckpointManager reader(dir.string());
  EXPECT_TRUE(fs::exists(in_flight));
  EXPECT_FALSE(fs::exists(leftover));
  kill(live, SIGKILL);
  waitpid(live, nullptr, 0);
  io::CheckpointManager after(dir.string());
  EXPECT_FALSE(fs::exists(in_flight));
}

// A kill between a checkpoint's rename and the index write (or during retention's deletes) leaves
// the directory ahead of its index; the next writer finishes that commit.
TEST(CheckpointManager, FinishesACommitAKillInterrupted) {
  fs::path dir = ember::testing::vacant_temp_path("interrupted");
  {
    io::CheckpointManager m(dir.string(), io::CheckpointPolicy().keep_last(2));
    for (int step : {1, 2}) {
      io::Value v = io::Dict();
      v["x"] = step;
      m.save(step, v);
    }
  }
  fs::copy_file(dir / "ckpt-0000000002.pt", dir / "ckpt-0000000003.pt");  // committed, never indexed
  io::CheckpointManager m(dir.string(), io::CheckpointPolicy().keep_last(2));
  EXPECT_TRUE(fs::exists(dir / "ckpt-0000000001.pt"));  // constructing alone changes nothing
  m.finish_interrupted_commit();
  EXPECT_FALSE(fs::exists(dir / "ckpt-0000000001.pt"));  // retention, as the interrupted commit would have
  ASSERT_EQ(m.list().size(), 2u);
  EXPECT_EQ(m.list().back().step, 3);
  io::CheckpointManager again(dir.string(), io::CheckpointPolicy().keep_last(2));
  EXPECT_EQ(again.list().size(), 2u);
}
