// `ember launch` and resume in a distributed loop: a rank SIGKILLed at a random step is restarted
// with the others and the run ends byte-identical to an uninterrupted one; a checkpoint of two
// processes resumes on one and on three, every remaining sample seen exactly once; SIGTERM is
// forwarded and gives 75.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "dist/ranks.h"
#include "ember.h"
#include "process.h"

using namespace ember;
using ember::testing::bin;
namespace fs = std::filesystem;

namespace {

std::string newest_checkpoint(const std::string& dir) {
  std::string best;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) == 0 && name > best) best = name;
  }
  return dir + "/" + best;
}

std::multiset<int64_t> seen_samples(const std::string& prefix, int ranks) {
  std::multiset<int64_t> seen;
  for (int r = 0; r < ranks; ++r) {
    std::ifstream in(prefix + ".rank-" + std::to_string(r));
    for (int64_t i; in >> i;) seen.insert(i);
  }
  return seen;
}

}  // namespace

TEST(Launch, ARankKilledAtARandomStepIsRestartedWithTheOthersAndTheRunEndsByteIdentical) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("killed");
  ASSERT_EQ(ember::testing::launch({"-n", "2"}, {bin("dist_loop"), dir + "/whole", "40", "0", dir + "/seen-whole"}, dir), 0)
      << ember::testing::read_text(dir + "/launch.log");
  std::mt19937 pick(static_cast<unsigned>(::getpid()));
  int kill_step = 4 + static_cast<int>(pick() % 33), kill_rank = static_cast<int>(pick() % 2);
  int rc = ember::testing::launch({"-n", "2", "--max-restarts", "2"}, {bin("dist_loop"), dir + "/killed", "40", "0", dir + "/seen-killed"}, dir,
                                  {{"EMBER_TEST_KILL_RANK", std::to_string(kill_rank)}, {"EMBER_TEST_KILL_STEP", std::to_string(kill_step)},
                                   {"EMBER_DIST_TIMEOUT", "30"}});
  std::string log = ember::testing::read_text(dir + "/launch.log");
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("rank " + std::to_string(kill_rank) + " was killed by signal 9"), std::string::npos) << log;
  EXPECT_NE(log.find("restarting all 2 processes (restart 1 of 2)"), std::string::npos) << log;
  std::string a = newest_checkpoint(dir + "/whole"), b = newest_checkpoint(dir + "/killed");
  EXPECT_EQ(fs::path(a).filename(), fs::path(b).filename());
  EXPECT_EQ(ember::testing::read_text(a), ember::testing::read_text(b)) << "killed at step " << kill_step << " on rank " << kill_rank;
}

TEST(Launch, ACheckpointOfTwoProcessesResumesOnOneAndOnThreeSeeingEveryRemainingSampleOnce) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("reshape");
  ASSERT_EQ(ember::testing::launch({"-n", "2"}, {bin("dist_loop"), dir + "/run", "3", "0", dir + "/seen-first"}, dir), 0)
      << ember::testing::read_text(dir + "/launch.log");
  std::multiset<int64_t> first = seen_samples(dir + "/seen-first", 2);
  ASSERT_EQ(first.size(), 24u);  // 3 steps x 2 ranks x 4
  for (int world : {1, 3}) {
    std::string run = dir + "/run-on-" + std::to_string(world);
    fs::copy(dir + "/run", run, fs::copy_options::recursive);
    std::string seen = dir + "/seen-" + std::to_string(world);
    ASSERT_EQ(ember::testing::launch({"-n", std::to_string(world)}, {bin("dist_loop"), run, "0", "1", seen}, dir), 0)
        << ember::testing::read_text(dir + "/launch.log");
    std::multiset<int64_t> all = first;
    for (int64_t i : seen_samples(seen, world)) all.insert(i);
    EXPECT_EQ(all.size(), 120u) << world << " processes";
    for (int64_t i = 0; i < 120; ++i) EXPECT_EQ(all.count(i), 1u) << "sample " << i << " on " << world << " processes";
    io::Value last = io::load(newest_checkpoint(run));
    EXPECT_EQ(last.at("world_size").to_int(), world);
    EXPECT_EQ(last.at("epoch").to_int(), 1);
  }
}

TEST(Launch, ForwardsSigtermToEveryRankAndExits75WithACheckpoint) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("preempt");
  ProcessResult r = run_process({bin("ember"), "launch", "-n", "2", "--", bin("dist_loop"), dir + "/run", "100000", "0", dir + "/seen"},
                                [](const std::string& line) { return line == "step 5" ? SIGTERM : 0; });
  EXPECT_EQ(r.exit_code, 75);
  io::Value last = io::load(newest_checkpoint(dir + "/run"));
  EXPECT_GE(last.at("global_step").to_int(), 5);
  EXPECT_LT(last.at("global_step").to_int(), 100000);
}

TEST(Launch, GivesUpAfterMaxRestartsWithTheFailingStatus) {
  std::string dir = ember::testing::fresh_dir("fails");
  EXPECT_EQ(ember::testing::launch({"-n", "2", "--max-restarts", "1"}, {"/bin/sh", "-c", "exit 7"}, dir), 7);
  std::string log = ember::testing::read_text(dir + "/launch.log");
  EXPECT_NE(log.find("exited with status 7"), std::string::npos) << log;
  EXPECT_NE(log.find("restart 1 of 1"), std::string::npos) << log;
  EXPECT_EQ(ember::testing::launch({"-n", "2"}, {"/bin/true"}, dir), 0);
  EXPECT_EQ(ember::testing::launch({"-n", "0"}, {"/bin/true"}, dir), 2);  // usage error
  EXPECT_EQ(ember::testing::launch({"-n", "1"}, {dir + "/no-such-program"}, dir), 127);
}
