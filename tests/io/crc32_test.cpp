// CRC-32: the folded fast path against zlib, and verified loads of large records (checked on
// worker threads) catching corruption.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ember.h"
#include "io/crc32.h"
#include "io/zip.h"
#include "support/error_of.h"

using namespace ember;

namespace {
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}
}  // namespace

TEST(Crc32, KnownAnswers) {
  const char* check = "123456789";
  EXPECT_EQ(io::crc32_of(check, 9), 0xCBF43926u);  // the standard CRC-32 check value
  std::vector<uint8_t> zeros(4096, 0);
  EXPECT_EQ(io::crc32_of(zeros.data(), zeros.size()), io::crc32_reference(zeros.data(), zeros.size()));
  EXPECT_EQ(io::crc32_of(nullptr, 0), 0u);
}

TEST(Crc32, MatchesZlibForEveryLengthOffsetAndStart) {
  std::printf("folding paths on this CPU: PCLMULQDQ %s, VPCLMULQDQ with AVX2 %s, with AVX-512 %s\n",
              io::has_pclmul() ? "yes" : "no", io::has_vpclmul256() ? "yes" : "no", io::has_vpclmul() ? "yes" : "no");
  std::vector<uint8_t> bytes = random_bytes(3000, 1);
  for (size_t offset : {0, 1, 7, 15}) {
    for (size_t n = 0; n + offset <= bytes.size(); n += (n < 600 ? 1 : 37)) {
      for (uint32_t start : {0u, 0xFFFFFFFFu, 0x12345678u}) {
        uint32_t expected = io::crc32_reference(bytes.data() + offset, n, start);
        ASSERT_EQ(io::crc32_of(bytes.data() + offset, n, start), expected)
            << "offset " << offset << " length " << n << " start " << start;
        // Each folding path on its own (128-bit lanes, and 256- and 512-bit where the CPU has them).
        for (int lane_bits : {128, 256, 512})
          ASSERT_EQ(io::crc32_folded(bytes.data() + offset, n, start, lane_bits), expected)
              << lane_bits << "-bit lanes, offset " << offset << " length " << n << " start " << start;
      }
    }
  }
}

TEST(Crc32, ChainsLikeZlibAndDetectsEverySingleBitFlip) {
  std::vector<uint8_t> bytes = random_bytes(size_t{5} << 20, 2);
  uint32_t whole = io::crc32_of(bytes.data(), bytes.size());
  EXPECT_EQ(whole, io::crc32_reference(bytes.data(), bytes.size()));
  uint32_t chained = io::crc32_of(bytes.data() + 1000, bytes.size() - 1000, io::crc32_of(bytes.data(), 1000));
  EXPECT_EQ(chained, whole);
  std::mt19937 rng(3);
  for (int i = 0; i < 64; ++i) {
    size_t at = rng() % bytes.size();
    uint8_t bit = static_cast<uint8_t>(1u << (rng() % 8));
    bytes[at] ^= bit;
    ASSERT_NE(io::crc32_of(bytes.data(), bytes.size()), whole) << "flip at byte " << at;
    bytes[at] ^= bit;
  }
}

// Records of 1 MiB and more are read and checked on worker threads (with more than one thread)
// while the next ones are read: a flip in any of them still fails the load, naming the record,
// and nothing leaks or crashes; with 1 thread the same happens on the caller's thread.
class VerifiedLoad : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { set_num_threads(GetParam()); }
  void TearDown() override { set_num_threads(1); }
};

TEST_P(VerifiedLoad, CatchesCorruptionInLargeRecords) {
  io::Value v = io::Dict(true);
  for (int i = 0; i < 6; ++i) v["w" + std::to_string(i)] = full({300000}, static_cast<double>(i));  // 1.2 MB each
  std::vector<uint8_t> good = io::save_to_bytes(v);
  io::Value back = io::load_bytes(good);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(equal(back.at("w" + std::to_string(i)).to_tensor(), v.at("w" + std::to_string(i)).to_tensor()));

  auto data_offset = [&](const std::string& key) {
    io::ZipReader zip(io::memory_source(good, "mem"));
    for (const io::ZipEntry& e : zip.entries())
      if (e.name.size() >= key.size() && e.name.compare(e.name.size() - key.size(), key.size(), key) == 0) return e.data_offset;
    ADD_FAILURE() << "no record " << key;
    return uint64_t{0};
  };
  for (const char* record : {"data/0", "data/3", "data/5"}) {
    std::vector<uint8_t> bad = good;
    bad[data_offset(record) + 123457] ^= 0x10;
    std::string err = error_of([&] { io::load_bytes(bad); });
    EXPECT_NE(err.find("CRC-32 mismatch"), std::string::npos) << err;
    EXPECT_NE(err.find(record), std::string::npos) << err;
    EXPECT_NO_THROW(io::load_bytes(bad, io::LoadOptions().verify_crc(false)));
  }
  std::vector<uint8_t> two_bad = good;  // two corrupt records: one clear error
  two_bad[data_offset("data/1") + 5] ^= 1;
  two_bad[data_offset("data/2") + 5] ^= 1;
  EXPECT_NE(error_of([&] { io::load_bytes(two_bad); }).find("data/1"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Threads, VerifiedLoad, ::testing::Values(1, 2, 3));
