// Acceptance of the library's resume protocol on a user-written loop (user_loop_main.cpp):
//  - SIGKILL at random points — between steps, in the middle of a save, right after one, and in
//    re-runs after the run reached its step limit — each time re-running the identical command,
//    ends with a run directory byte-identical to one uninterrupted run; with sync and background saves;
//  - the run-directory lock: a second process fails fast naming the holder and touches nothing; a
//    SIGKILLed holder never blocks the restart.
#include <fcntl.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "process.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

const std::string kLoop = EMBER_BIN_DIR "/train_user_loop";
constexpr int kSteps = 60;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every file of the run directory but the lock (whose text names the last holder) and corrupt/.
std::map<std::string, std::string> contents(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name != ".lock" && e.is_regular_file()) out[name] = read(e.path());
  }
  return out;
}

int number_after(const std::string& line, const std::string& word) {
  return line.rfind(word, 0) == 0 ? std::atoi(line.c_str() + word.size()) : -1;
}

std::vector<std::string> command(const fs::path& dir, bool background, int steps = kSteps) {
  std::vector<std::string> a{kLoop, dir.string(), std::to_string(steps)};
  if (background) a.push_back("--background");
  return a;
}

}  // namespace

TEST(UserLoop, SigkillAnywhereAndRerunEndsByteIdentical) {
  for (bool background : {false, true}) {
    SCOPED_TRACE(background ? "background saves" : "synchronous saves");
    fs::path ref = ember::testing::vacant_temp_path(background ? "ref_bg" : "ref");
    ProcessResult r = run_process(command(ref, background));
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_TRUE(r.has("done at step 60"));
    std::map<std::string, std::string> expected = contents(ref);
    ASSERT_TRUE(expected.count("ckpt-0000000060.pt"));

    fs::path dir = ember::testing::vacant_temp_path(background ? "killed_bg" : "killed");
    std::mt19937 rng(background ? 21 : 12);
    int kills = 0, progress = 0, kills_after_done = 0;
    for (int attempt = 0; attempt < 40 && kills_after_done < 3; ++attempt) {
      // Where to strike: 0 after a random step line, 1 inside a save (a random delay after
      // "saving"), 2 right after "saved", 3 during a re-run of a finished run.
      int mode = std::uniform_int_distribution<int>(0, 2)(rng);
      int target = progress + std::uniform_int_distribution<int>(1, 12)(rng);
      int delay_us = std::uniform_int_distribution<int>(0, 3000)(rng);
      bool done_before = fs::exists(dir / "ckpt-0000000060.pt");
      // 2 ms between steps, so the run cannot finish before this process has read its line
      // (on a busy machine it otherwise outruns the pipe and the kill lands on an exited process).
      std::vector<std::string> slowed = command(dir, background);
      slowed.insert(slowed.end(), {"--sleep-ms", "2"});
      ProcessResult run = run_process(slowed, [&](const std::string& line) {
        if (done_before) {  // a finished run must do nothing: kill it whenever it speaks
          std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
          return SIGKILL;
        }
        if (mode == 0 && number_after(line, "step ") >= target) return SIGKILL;
        if (mode == 1 && number_after(line, "saving ") >= target) {
          std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
          return SIGKILL;
        }
        if (mode == 2 && number_after(line, "saved ") >= target) return SIGKILL;
        return 0;
      });
      for (const std::string& line : run.lines) progress = std::max(progress, number_after(line, "step "));
      if (done_before) {
        ++kills_after_done;
        for (const std::string& line : run.lines) {
          EXPECT_NE(line.rfind("step ", 0), 0u) << "a run at its step limit trained again: " << line;
          EXPECT_NE(line.rfind("saving", 0), 0u) << "a run at its step limit saved again: " << line;
        }
      }
      if (run.signal == SIGKILL) ++kills;
      else ASSERT_EQ(run.exit_code, 0) << (run.lines.empty() ? "" : run.lines.back());
    }
    EXPECT_GE(kills, 5);
    EXPECT_EQ(kills_after_done, 3) << "the run never reached its limit";
    std::map<std::string, std::string> got = contents(dir);
    for (const auto& [name, bytes] : expected) {
      ASSERT_TRUE(got.count(name)) << name << " is missing";
      EXPECT_TRUE(got[name] == bytes) << name << " differs from the uninterrupted run's";
    }
    for (const auto& [name, bytes] : got) EXPECT_TRUE(expected.count(name)) << "unexpected file " << name;
  }
}

TEST(UserLoop, ASecondProcessOnTheRunDirectoryFailsFastAndAKilledHolderNeverBlocks) {
  fs::path dir = ember::testing::vacant_temp_path("locked");
  // The holder: a slow run in the background.
  pid_t holder = fork();
  if (holder == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execl(kLoop.c_str(), kLoop.c_str(), dir.c_str(), "100000", "--sleep-ms", "20", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(dir / "ckpt-0000000014.pt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(dir / "ckpt-0000000014.pt")) << "the holder did not start";
  kill(holder, SIGSTOP);  // freeze it, so the directory cannot change under the comparison
  std::map<std::string, std::string> before = contents(dir);
  auto start = std::chrono::steady_clock::now();
  ProcessResult second = run_process(command(dir, false, 100000));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_TRUE(second.has("is in use by pid " + std::to_string(holder) + " on host ")) << (second.lines.empty() ? "" : second.lines[0]);
  EXPECT_LT(seconds, 5.0) << "the second process must fail fast, not wait";
  EXPECT_TRUE(contents(dir) == before) << "the refused process touched the run directory";
  kill(holder, SIGKILL);
  int status = 0;
  waitpid(holder, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ProcessResult next = run_process(command(dir, false, 30));
  EXPECT_EQ(next.exit_code, 0) << (next.lines.empty() ? "" : next.lines.back());
  EXPECT_TRUE(next.has("done at step"));
}
