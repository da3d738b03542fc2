// The nccl backend's CPU-side contract, which runs everywhere: EMBER_DIST_BACKEND selects it (and
// names a wrong value), asking for it without NCCL or a GPU fails saying which, and rank 0's
// unique id travels through the store (dist/store_file.h) whole or not at all. The collectives
// themselves run on a GPU: tests/cuda/nccl_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "dist/store_file.h"
#include "ember.h"

using namespace ember;

TEST(NcclSelection, TheEnvironmentChoosesTheBackendAndNamesAWrongOne) {
  unsetenv("WORLD_SIZE");
  unsetenv("RANK");
  unsetenv("EMBER_DIST_BACKEND");
  EXPECT_EQ(dist::Rendezvous::from_environment().backend, "gloo");
  setenv("EMBER_DIST_BACKEND", "nccl", 1);
  EXPECT_EQ(dist::Rendezvous::from_environment().backend, "nccl");
  setenv("EMBER_DIST_BACKEND", "mpi", 1);
  try {
    dist::Rendezvous::from_environment();
    ADD_FAILURE() << "EMBER_DIST_BACKEND=mpi was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("EMBER_DIST_BACKEND must be gloo or nccl, found 'mpi'"), std::string::npos) << e.what();
  }
  unsetenv("EMBER_DIST_BACKEND");
}

TEST(NcclSelection, WithoutAGpuTheGroupRefusesToStartSayingWhy) {
  if (dist::nccl_available()) GTEST_SKIP() << "NCCL and a GPU are present: tests/cuda/nccl_test.cpp covers them";
  const std::string reason = dist::nccl_unavailable_reason();
  EXPECT_FALSE(reason.empty());
  dist::Rendezvous r;
  r.backend = "nccl";
  try {
    dist::make_nccl_group(r);
    ADD_FAILURE() << "an NCCL group started without NCCL or a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the nccl backend is unavailable: " + reason), std::string::npos) << e.what();
  }
}

TEST(StoreFile, AValueArrivesWholeAndAMissingOneIsNamedAfterTheTimeout) {
  const std::string dir = ::testing::TempDir() + "ember_store_file_test";
  std::filesystem::remove_all(dir);
  const std::string path = dir + "/nccl/unique-id";
  const std::string id(128, '\x5a');
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the reader is already waiting
    dist::publish(path, id);
  });
  EXPECT_EQ(dist::await(path, id.size(), std::chrono::seconds(10), "the id"), id);
  writer.join();

  {  // a file of the wrong size (a truncated value) is waited on, then named with what it holds
    std::ofstream(dir + "/short", std::ios::binary) << "abc";
  }
  try {
    dist::await(dir + "/short", 128, std::chrono::milliseconds(100), "NCCL's unique id from rank 0");
    ADD_FAILURE() << "a 3-byte file was taken for a 128-byte value";
  } catch (const dist::PeerError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("NCCL's unique id from rank 0 in " + dir + "/short: expected 128 bytes, found 3 bytes"), std::string::npos)
        << what;
  }
  EXPECT_THROW(dist::await(dir + "/absent", 128, std::chrono::milliseconds(50), "the id"), dist::PeerError);
  std::filesystem::remove_all(dir);
}
