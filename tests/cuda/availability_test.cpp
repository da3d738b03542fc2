// What a machine without a GPU sees (CI, the development machine), and the location rules of
// files saved on a GPU: these run everywhere.
#include <filesystem>

#include <unistd.h>

#include <gtest/gtest.h>

#include "ember.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

using namespace ember;

namespace {

std::string temp_file(const std::string& name) {
  return ember::testing::temp_path(name).string();
}

}  // namespace

TEST(CudaAvailability, AbsentDeviceSaysWhyAndLeavesTheCpuWorking) {
  int count = cuda::device_count();
  Device beyond(DeviceType::CUDA, count);  // one past the last device: absent on every machine
  std::string m = error_of([&] { empty({2, 3}, TensorOptions().device(beyond)); });
  EXPECT_NE(m.find(beyond.str()), std::string::npos) << m;
  EXPECT_NE(m.find("not available"), std::string::npos) << m;
  if (!cuda::is_available()) {
    EXPECT_FALSE(cuda::unavailable_reason().empty());
    EXPECT_NE(m.find(cuda::unavailable_reason()), std::string::npos) << m;
    EXPECT_EQ(cuda::memory_allocated(), 0u);
    cuda::synchronize();  // no-ops without a device
    cuda::empty_cache();
  }
  EXPECT_TRUE(equal(add(ones({2}), ones({2})), full({2}, 2.0)));
}

TEST(CudaAvailability, BuildReportsTheBackend) {
#ifdef EMBER_HAVE_CUDA_TESTS
  EXPECT_TRUE(cuda::is_built());
#endif
  EXPECT_FALSE(cuda::describe().empty());
}

TEST(CudaLocations, FileSavedOnAbsentGpuNeedsMapLocation) {
  std::string path = temp_file("gpu.pt");
  Tensor t = arange(6, kFloat32).reshape({2, 3});
  t.storage().set_saved_location("cuda:7");  // as if saved from the eighth GPU
  io::Dict d;
  d.insert("w", t);
  io::save(io::Value(d), path);
  std::string m = error_of([&] { io::load(path); });
  EXPECT_NE(m.find("cuda:7"), std::string::npos) << m;
  EXPECT_NE(m.find("map_location"), std::string::npos) << m;
  Tensor on_cpu = io::load(path, io::LoadOptions().map_location(kCPU)).at("w").to_tensor();
  EXPECT_EQ(on_cpu.device(), kCPU);
  EXPECT_TRUE(equal(on_cpu, t));
  Tensor mapped = io::load(path, io::LoadOptions().map_location(std::map<std::string, std::string>{{"cuda:7", "cpu"}}))
                      .at("w")
                      .to_tensor();
  EXPECT_TRUE(equal(mapped, t));
  Tensor by_function = io::load(path, io::LoadOptions().map_location([](const std::string& saved) {
                                  EXPECT_EQ(saved, "cuda:7");
                                  return kCPU;
                                })).at("w").to_tensor();
  EXPECT_TRUE(equal(by_function, t));
  std::filesystem::remove(path);
}

TEST(CudaLocations, MapLocationOntoAnAbsentGpuIsAClearError) {
  if (cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  std::string path = temp_file("cpu.pt");
  io::save(io::Value(ones({3})), path);
  std::string m = error_of([&] { io::load(path, io::LoadOptions().map_location(Device("cuda"))); });
  EXPECT_NE(m.find("cuda:0"), std::string::npos) << m;
  EXPECT_NE(m.find("not available"), std::string::npos) << m;
  std::filesystem::remove(path);
}
