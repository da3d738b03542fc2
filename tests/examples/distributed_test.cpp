// The main job data-parallel under `ember launch -n 2`: a run whose processes are all SIGKILLed
// (the launcher with them, as in a power cut) and started again with the same command ends
// byte-identical to an uninterrupted two-process run; its checkpoints resume on one process; and
// --sync-batch-norm synchronizes its batch norms.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ember.h"
#include "process.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> launch_job(const fs::path& dir, const std::string& processes) {
  return {EMBER_BIN_DIR "/ember", "launch", "-n", processes, "--", EMBER_BIN_DIR "/train_fashion_mnist", "--run-dir", dir.string(),
          "--epochs", "2", "--train-subset", "1600", "--test-subset", "500", "--batch-size", "32", "--log-every", "1",
          "--save-every-steps", "7", "--seed", "3"};
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(DistributedJob, KilledEverywhereAndRestartedEndsByteIdenticalAndResumesOnOneProcess) {
#ifndef EMBER_HAVE_GLOO
  GTEST_SKIP() << "built without Gloo (apt-get install libgloo-dev, then rebuild)";
#endif
  fs::path whole = ember::testing::fresh_temp_dir("whole"), killed = ember::testing::fresh_temp_dir("killed");
  // The launcher SIGKILLed below cannot remove its rendezvous directory: keep it in ours.
  setenv("TMPDIR", ember::testing::process_temp_dir().c_str(), 1);
  ProcessResult a = run_process(launch_job(whole, "2"));
  ASSERT_EQ(a.exit_code, 0) << a.lines.back();
  ASSERT_TRUE(a.has("on 2 processes (global batch 64)"));
  ASSERT_TRUE(a.has("done: 2 epochs, 50 steps"));  // 1600 images / 64 per global step x 2 epochs
  ProcessResult b = run_process(launch_job(killed, "2"), [&](const std::string& line) {
    if (line.rfind("epoch 1/2 step 17/", 0) == 0) std::system(("pkill -9 -f '" + killed.string() + "'").c_str());
    return 0;
  });
  EXPECT_NE(b.exit_code, 0);
  EXPECT_FALSE(b.has("done:"));
  ProcessResult c = run_process(launch_job(killed, "2"));
  ASSERT_EQ(c.exit_code, 0) << c.lines.back();
  EXPECT_TRUE(c.has("resuming from"));
  EXPECT_TRUE(read(whole / "ckpt-0000000050.pt") == read(killed / "ckpt-0000000050.pt")) << "final checkpoints differ";
  EXPECT_TRUE(read(whole / "metrics.jsonl") == read(killed / "metrics.jsonl")) << "metrics.jsonl files differ";

  // A checkpoint of the two-process run continues on one process (the global batch halves).
  fs::path single = ember::testing::fresh_temp_dir("single");
  fs::copy_file(whole / "ckpt-0000000050.pt", single / "ckpt-0000000050.pt");
  io::Value state = io::load((single / "ckpt-0000000050.pt").string());
  EXPECT_EQ(state.at("world_size").to_int(), 2);
  EXPECT_TRUE(state.at("model_state_dict").contains("0.weight"));  // the plain model's keys
  ProcessResult d = run_process({EMBER_BIN_DIR "/train_fashion_mnist", "--run-dir", single.string(), "--eval-only"});
  EXPECT_EQ(d.exit_code, 0) << d.lines.back();
}

// --sync-batch-norm: the job's batch norms take the global batch's statistics (dist::
// convert_sync_batch_norm), so its running statistics differ from a run where each process
// normalizes its own share; the run completes and resumes like any other.
TEST(DistributedJob, SyncBatchNormRunsOnTheGlobalBatchsStatistics) {
#ifndef EMBER_HAVE_GLOO
  GTEST_SKIP() << "built without Gloo (apt-get install libgloo-dev, then rebuild)";
#endif
  auto job = [](const fs::path& dir, bool sync, const char* steps = "4") {
    std::vector<std::string> argv = launch_job(dir, "2");
    for (const char* extra : {"--max-steps", steps}) argv.push_back(extra);
    if (sync) argv.push_back("--sync-batch-norm");
    return argv;
  };
  fs::path synced = ember::testing::fresh_temp_dir("synced"), plain = ember::testing::fresh_temp_dir("plain");
  ProcessResult a = run_process(job(synced, true));
  ASSERT_EQ(a.exit_code, 0) << a.lines.back();
  EXPECT_TRUE(a.has("on 2 processes (global batch 64, batch norm synchronized)"));
  ProcessResult b = run_process(job(plain, false));
  ASSERT_EQ(b.exit_code, 0) << b.lines.back();
  auto running_mean = [](const fs::path& dir) {
    return io::load((dir / "ckpt-0000000004.pt").string()).at("model_state_dict").at("1.running_mean").to_tensor();
  };
  double diff = max(abs(sub(running_mean(synced), running_mean(plain)))).item();
  EXPECT_GT(diff, 1e-6) << "the synchronized statistics should not be one process's";
  ProcessResult c = run_process(job(synced, true, "6"));  // two steps more: resumes from step 4
  EXPECT_EQ(c.exit_code, 0) << c.lines.back();
  EXPECT_TRUE(c.has("resuming from"));
  EXPECT_TRUE(fs::exists(synced / "ckpt-0000000006.pt"));
}
