// Acceptance tests of built-in resume, on train_fashion_mnist at a small setting:
//  - SIGKILL at random steps (also while a background save is in flight), restarted each time,
//    ends byte-identical to an uninterrupted run: final checkpoint file and metrics.jsonl;
//  - a corrupt or truncated newest checkpoint makes resume fall back to the previous one, and say so;
//  - SIGTERM saves the current step, exits 75, and the continuation is bit-exact.
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include <gtest/gtest.h>

#include "ember.h"
#include "process.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

const std::string kTrainer = EMBER_BIN_DIR "/train_fashion_mnist";

std::vector<std::string> args(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a{kTrainer, "--run-dir", dir.string(), "--epochs", "2", "--train-subset", "1600", "--test-subset", "500",
                             "--batch-size", "32", "--log-every", "1", "--save-every-steps", "7", "--seed", "3"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int step_of(const std::string& line) {  // "epoch 1/2 step 17/100 ..." -> 17
  static const std::regex re("step (\\d+)/");
  std::smatch m;
  return std::regex_search(line, m, re) ? std::stoi(m[1]) : -1;
}

const fs::path& reference_run() {
  static fs::path dir = [] {
    fs::path d = ember::testing::fresh_temp_dir("reference");
    ProcessResult r = run_process(args(d));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(r.has("done: 2 epochs, 100 steps"));
    return d;
  }();
  return dir;
}

void expect_same_as_reference(const fs::path& dir) {
  const fs::path& ref = reference_run();
  ASSERT_TRUE(fs::exists(dir / "ckpt-0000000100.pt")) << "the run did not finish";
  EXPECT_TRUE(read(dir / "ckpt-0000000100.pt") == read(ref / "ckpt-0000000100.pt")) << "final checkpoint files differ";
  EXPECT_TRUE(read(dir / "metrics.jsonl") == read(ref / "metrics.jsonl")) << "metrics.jsonl files differ";
  // And semantically: model, optimizer, scheduler, RNG and loader state.
  io::Value a = io::load((dir / "ckpt-0000000100.pt").string()), b = io::load((ref / "ckpt-0000000100.pt").string());
  for (const char* key : {"model_state_dict", "optimizer_state_dict", "scheduler_state_dict", "rng_states", "data_loader_state"})
    EXPECT_EQ(io::save_to_bytes(a.at(key)), io::save_to_bytes(b.at(key))) << key;
}

}  // namespace

TEST(Resume, SigkillAtRandomStepsIsBitExact) {
  for (bool background : {false, true}) {
    fs::path dir = ember::testing::fresh_temp_dir(background ? "killed_async" : "killed");
    // Four kill points at random steps, each past the previous (and past a checkpoint after it).
    std::mt19937 rng(background ? 11 : 7);
    std::vector<int> targets;
    for (int t = 0; targets.size() < 4;) {
      t += std::uniform_int_distribution<int>(8, 22)(rng);
      targets.push_back(std::min(t, 95));
    }
    int kills = 0;
    for (size_t attempt = 0; attempt < targets.size() + 1; ++attempt) {
      int target = attempt < targets.size() ? targets[attempt] : 1 << 30;
      std::vector<std::string> a = args(dir, background ? std::vector<std::string>{"--async-save"} : std::vector<std::string>{});
      int step = 0;
      ProcessResult r = run_process(a, [&](const std::string& line) {
        step = std::max(step, step_of(line));
        // With background saves, kill right after a save was handed to the writer thread.
        bool after_save = line.find("(background)") != std::string::npos;
        return (step >= target && (!background || after_save)) ? SIGKILL : 0;
      });
      if (r.signal == SIGKILL) {
        ++kills;
        continue;
      }
      ASSERT_EQ(r.exit_code, 0);
      ASSERT_TRUE(r.has("done:"));
      break;
    }
    EXPECT_EQ(kills, 4) << "the test should have killed the run four times";
    expect_same_as_reference(dir);
  }
}

TEST(Resume, CorruptNewestCheckpointFallsBackAndSaysSo) {
  for (bool truncate : {false, true}) {
    fs::path dir = ember::testing::fresh_temp_dir(truncate ? "truncated" : "flipped");
    ASSERT_EQ(run_process(args(dir, {"--max-steps", "30"})).exit_code, 0);
    fs::path newest = dir / "ckpt-0000000030.pt";
    std::string bytes = read(newest);
    if (truncate) bytes.resize(bytes.size() / 2);
    else bytes[bytes.size() / 2] ^= 0x20;
    std::ofstream(newest, std::ios::binary | std::ios::trunc) << bytes;
    ProcessResult r = run_process(args(dir));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(r.has("ckpt-0000000030.pt is corrupt")) << "resume must say it skipped the corrupt checkpoint";
    EXPECT_TRUE(r.has("resuming from " + (dir / "ckpt-0000000028.pt").string()));
    EXPECT_TRUE(fs::exists(dir / "corrupt" / "ckpt-0000000030.pt"));  // moved aside, not deleted
    expect_same_as_reference(dir);
  }
}

TEST(Resume, SigtermSavesTheCurrentStepAndExits75) {
  fs::path dir = ember::testing::fresh_temp_dir("sigterm");
  ProcessResult r = run_process(args(dir), [](const std::string& line) { return step_of(line) == 45 ? SIGTERM : 0; });
  ASSERT_EQ(r.exit_code, 75);
  ASSERT_TRUE(r.has("preempted by signal"));
  // The checkpoint is of the step where the signal arrived, the one the trainer names: 45 or later,
  // since the trainer runs on while the test reads its output (a step or two on a busy machine).
  std::vector<io::CheckpointInfo> list = io::CheckpointManager(dir.string()).list();
  ASSERT_FALSE(list.empty());
  int64_t saved = list.back().step;
  EXPECT_GE(saved, 45);
  EXPECT_TRUE(r.has("saved step " + std::to_string(saved) + " ")) << "the exit message names step " << saved;
  ProcessResult rest = run_process(args(dir));
  EXPECT_EQ(rest.exit_code, 0);
  EXPECT_TRUE(rest.has("resuming from"));
  expect_same_as_reference(dir);
}

TEST(Resume, FinishedRunSaysSo) {
  fs::path dir = ember::testing::fresh_temp_dir("finished");
  ASSERT_EQ(run_process(args(dir)).exit_code, 0);
  ProcessResult again = run_process(args(dir));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_TRUE(again.has("is finished"));
  ProcessResult other = run_process(args(dir, {"--lr", "0.5"}));
  EXPECT_EQ(other.exit_code, 2);  // a resumed run must use the same settings
}

// Re-running a command that reached --max-steps does nothing (a scheduler re-runs the same
// command after a preemption); it used to train one more step each time.
TEST(Resume, RerunAtMaxStepsDoesNothing) {
  fs::path dir = ember::testing::fresh_temp_dir("max_steps");
  ASSERT_EQ(run_process(args(dir, {"--max-steps", "30"})).exit_code, 0);
  std::string checkpoint = read(dir / "ckpt-0000000030.pt"), metrics = read(dir / "metrics.jsonl");
  for (int i = 0; i < 2; ++i) {
    ProcessResult again = run_process(args(dir, {"--max-steps", "30"}));
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_TRUE(again.has("is at --max-steps 30: step 30 is saved")) << (again.lines.empty() ? "" : again.lines.back());
  }
  EXPECT_FALSE(fs::exists(dir / "ckpt-0000000031.pt"));
  EXPECT_EQ(io::CheckpointManager(dir.string()).list().back().step, 30);
  EXPECT_TRUE(read(dir / "ckpt-0000000030.pt") == checkpoint);
  EXPECT_TRUE(read(dir / "metrics.jsonl") == metrics);
  // And the run continues from there without the limit, as if it had never stopped.
  ASSERT_EQ(run_process(args(dir)).exit_code, 0);
  expect_same_as_reference(dir);
}

// Two trainers on one run directory: the second fails at once, naming the first; the first's
// metrics.jsonl gets every row once.
TEST(Resume, SecondTrainerOnTheSameRunDirectoryIsRefused) {
  fs::path dir = ember::testing::fresh_temp_dir("two_trainers");
  ProcessResult second;
  pid_t first_pid = 0;
  // The first trainer is stopped (SIGSTOP) at its first step while the second runs: it holds the
  // lock then however far its output is ahead of this reader on a busy machine.
  ProcessResult first = run_process(
      args(dir),
      [&](const std::string& line) {
        if (step_of(line) >= 1 && second.lines.empty()) {
          kill(first_pid, SIGSTOP);
          second = run_process(args(dir));
          kill(first_pid, SIGCONT);
        }
        return 0;
      },
      [&](pid_t pid) { first_pid = pid; });
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_TRUE(second.has("is in use by pid")) << (second.lines.empty() ? "" : second.lines[0]);
  expect_same_as_reference(dir);
}
