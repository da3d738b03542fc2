// The main job's --device: refused with the reason where there is no GPU; where there is one, a
// run moves between devices through its checkpoints (GPU -> CPU -> GPU) and finishes.
#include <filesystem>

#include <unistd.h>

#include <gtest/gtest.h>

#include "ember.h"
#include "process.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

const std::string kTrainer = EMBER_BIN_DIR "/train_fashion_mnist";

std::vector<std::string> args(const fs::path& dir, const std::string& device, std::vector<std::string> extra = {}) {
  std::vector<std::string> a{kTrainer, "--run-dir", dir.string(), "--device", device, "--epochs", "2", "--train-subset", "960",
                             "--test-subset", "300", "--batch-size", "32", "--save-every-steps", "5", "--seed", "4"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace

TEST(MainJobDevice, CudaWithoutAGpuIsRefusedWithTheReason) {
  if (ember::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  fs::path dir = ember::testing::vacant_temp_path("refused");
  ProcessResult r = run_process(args(dir, "cuda"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(r.has("--device cuda")) << "the error names the flag";
  EXPECT_TRUE(r.has(ember::cuda::unavailable_reason())) << "and says why";
  EXPECT_FALSE(fs::exists(dir / "metrics.jsonl")) << "nothing was started";
  ProcessResult bad = run_process(args(dir, "gpu"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(bad.has("invalid device 'gpu'"));
}

TEST(MainJobDevice, RunMovesBetweenGpuAndCpuThroughItsCheckpoints) {
  if (!ember::cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << ember::cuda::unavailable_reason();
  fs::path dir = ember::testing::vacant_temp_path("moves");
  ASSERT_EQ(run_process(args(dir, "cuda", {"--max-steps", "12"})).exit_code, 0);
  ProcessResult on_cpu = run_process(args(dir, "cpu", {"--max-steps", "40"}));
  ASSERT_EQ(on_cpu.exit_code, 0);
  EXPECT_TRUE(on_cpu.has("resuming from")) << "the CPU run continues the GPU run's checkpoint";
  ProcessResult back = run_process(args(dir, "cuda"));
  ASSERT_EQ(back.exit_code, 0);
  EXPECT_TRUE(back.has("resuming from"));
  EXPECT_TRUE(back.has("done: 2 epochs, 60 steps"));
  fs::remove_all(dir);
}
