// scripts/gpu-check on a machine without a GPU: it runs nothing, says so, writes a summary that
// says so, and exits 77 (a skip, never a pass).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "ember.h"
#include "process.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {
std::string joined(const ProcessResult& r) {
  std::string all;
  for (const std::string& l : r.lines) all += l + "\n";
  return all;
}
}  // namespace

TEST(GpuCheck, RunWithoutAGpuReportsNoGpuCleanly) {
  if (ember::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU: scripts/gpu-check --run would run everything";
  fs::path out = ember::testing::temp_path("gpu_check");
  fs::remove_all(out);
  ProcessResult r = run_process({std::string(EMBER_SOURCE_DIR) + "/scripts/gpu-check", "--run", out.string(),
                                 (out / "no-pack").string()});
  EXPECT_EQ(r.exit_code, 77) << joined(r);
  EXPECT_TRUE(r.has("no GPU here")) << joined(r);
  std::ifstream in(out / "summary.json");
  std::stringstream summary;
  summary << in.rdbuf();
  EXPECT_NE(summary.str().find("\"status\": \"no-gpu\""), std::string::npos) << summary.str();
  fs::remove_all(out);
}

TEST(GpuCheck, UsageWithoutArgumentsIsExitTwo) {
  ProcessResult r = run_process({std::string(EMBER_SOURCE_DIR) + "/scripts/gpu-check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.has("--pack")) << joined(r);
}
