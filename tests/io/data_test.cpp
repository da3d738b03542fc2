// Fashion-MNIST reading (real files from dataset-fashion-mnist), corrupt IDX files, and the
// DataLoader's (seed, epoch) order and resumable cursor.
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "ember.h"
#include "support/error_of.h"
#include "io/data/dataset.h"
#include "io/data/fashion_mnist.h"
#include "io/data/idx.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

void write_gz(const fs::path& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::vector<uint8_t> idx_header(std::vector<uint32_t> dims) {
  std::vector<uint8_t> h{0, 0, 8, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(d >> s));
  return h;
}


}  // namespace

TEST(FashionMnist, ReadsBothSplits) {
  io::FashionMnist train(io::FashionMnist::Split::Train), test(io::FashionMnist::Split::Test);
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.images().sizes(), (Shape{60000, 28, 28}));
  // Every class appears 6000 times in the training split.
  Tensor counts = sum(one_hot(train.labels(), 10), {0});
  EXPECT_EQ(counts.to_vector<int64_t>(), std::vector<int64_t>(10, 6000));
  io::Batch b = test.get_batch({0, 1});
  EXPECT_EQ(b.input.sizes(), (Shape{2, 1, 28, 28}));
  EXPECT_EQ(b.input.dtype(), kFloat32);
  EXPECT_GE(min(b.input).item(), 0.0);
  EXPECT_LE(max(b.input).item(), 1.0);
  EXPECT_EQ(b.target.to_vector<int64_t>(), (std::vector<int64_t>{9, 2}));  // ankle boot, pullover
}

TEST(FashionMnist, MissingFilesNameThePackage) {
  std::string msg = error_of([] { io::FashionMnist(io::FashionMnist::Split::Test, "/nonexistent/dir"); });
  EXPECT_NE(msg.find("/nonexistent/dir/t10k-images-idx3-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dataset-fashion-mnist"), std::string::npos) << msg;
}

TEST(Idx, CorruptFilesAreClearErrors) {
  fs::path dir = ember::testing::fresh_temp_dir("idx");
  std::vector<uint8_t> good = idx_header({2, 3});
  for (int i = 0; i < 6; ++i) good.push_back(static_cast<uint8_t>(i));
  write_gz(dir / "good.gz", good);
  EXPECT_EQ(io::read_idx((dir / "good.gz").string()).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));

  std::vector<uint8_t> bad_magic = good;
  bad_magic[2] = 0x0D;  // float data
  write_gz(dir / "magic.gz", bad_magic);
  EXPECT_NE(error_of([&] { io::read_idx((dir / "magic.gz").string()); }).find("magic"), std::string::npos);

  std::vector<uint8_t> short_data(good.begin(), good.end() - 2);
  write_gz(dir / "short.gz", short_data);
  std::string msg = error_of([&] { io::read_idx((dir / "short.gz").string()); });
  EXPECT_NE(msg.find("needs 6 bytes of data, found 4"), std::string::npos) << msg;

  std::vector<uint8_t> long_data = good;
  long_data.push_back(7);
  write_gz(dir / "long.gz", long_data);
  EXPECT_NE(error_of([&] { io::read_idx((dir / "long.gz").string()); }).find("trailing data"), std::string::npos);

  write_gz(dir / "huge.gz", idx_header({1000000, 1000000}));  // claims 10^12 bytes
  msg = error_of([&] { io::read_idx((dir / "huge.gz").string()); });
  EXPECT_NE(msg.find("more than a"), std::string::npos) << msg;
  fs::remove_all(dir);
}

namespace {
std::shared_ptr<io::TensorDataset> numbers(int64_t n) {
  return std::make_shared<io::TensorDataset>(arange(0, n).to(kFloat32).unsqueeze(1), arange(0, n));
}
std::vector<int64_t> drain(io::DataLoader& loader) {
  std::vector<int64_t> seen;
  io::Batch b;
  while (loader.next(b))
    for (int64_t v : b.target.to_vector<int64_t>()) seen.push_back(v);
  return seen;
}
}  // namespace

TEST(DataLoader, OrderIsAFunctionOfSeedAndEpoch) {
  io::DataLoader a(numbers(50), io::DataLoaderOptions().batch_size(8).shuffle(true).seed(3));
  io::DataLoader b(numbers(50), io::DataLoaderOptions().batch_size(8).shuffle(true).seed(3));
  a.set_epoch(2);
  io::Batch skip;
  a.next(skip);  // drawing batches does not change a later epoch's order
  b.set_epoch(2);
  EXPECT_EQ(a.order(5), b.order(5));
  EXPECT_NE(a.order(0), a.order(1));
  std::vector<int64_t> epoch = drain(b);
  EXPECT_EQ(std::set<int64_t>(epoch.begin(), epoch.end()).size(), 50u);  // each sample once
  EXPECT_EQ(b.batches_per_epoch(), 7);
}

TEST(DataLoader, RestoredCursorYieldsExactlyTheRemainingBatches) {
  auto data = numbers(37);
  auto options = io::DataLoaderOptions().batch_size(5).shuffle(true).seed(11).drop_last(true);
  io::DataLoader full(data, options);
  full.set_epoch(4);
  std::vector<int64_t> all = drain(full);
  EXPECT_EQ(all.size(), 35u);  // drop_last

  io::DataLoader first(data, options);
  first.set_epoch(4);
  io::Batch b;
  for (int i = 0; i < 3; ++i) first.next(b);
  io::Value state = first.state_dict();
  EXPECT_EQ(state.at("cursor").to_int(), 3);

  io::DataLoader resumed(data, options);
  resumed.load_state_dict(state);
  std::vector<int64_t> rest = drain(resumed);
  EXPECT_EQ(rest, std::vector<int64_t>(all.begin() + 15, all.end()));

  io::DataLoader other_seed(data, io::DataLoaderOptions(options).seed(12));
  EXPECT_THROW(other_seed.load_state_dict(state), ValueError);
}

// DataLoaderOptions::distributed: PyTorch's DistributedSampler, resumable on another world size.
namespace {

std::vector<io::DataLoader> replicas(int64_t n, int64_t world, int64_t batch) {
  std::vector<io::DataLoader> loaders;
  for (int64_t r = 0; r < world; ++r)
    loaders.emplace_back(numbers(n), io::DataLoaderOptions().batch_size(batch).shuffle(true).seed(9).distributed(r, world));
  return loaders;
}

}  // namespace

TEST(DistributedLoader, RanksShareThePaddedOrderStridedAsPyTorch) {
  auto loaders = replicas(10, 3, 2);  // 10 samples, 3 ranks: padded to 12 with the order's first 2
  std::vector<int64_t> order = loaders[0].order(0);
  for (int64_t r = 0; r < 3; ++r) {
    std::vector<int64_t> expected;
    for (int64_t i = r; i < 12; i += 3) expected.push_back(order[static_cast<size_t>(i % 10)]);
    EXPECT_EQ(drain(loaders[static_cast<size_t>(r)]), expected) << "rank " << r;
    EXPECT_EQ(loaders[static_cast<size_t>(r)].batches_per_epoch(), 2);
  }
  EXPECT_EQ(loaders[0].state_dict().at("sample_cursor").to_int(), 12);
}

TEST(DistributedLoader, ACheckpointOfTwoRanksResumesOnOneAndOnThreeSeeingEachRemainingSampleOnce) {
  auto two = replicas(120, 2, 4);
  io::Batch b;
  std::multiset<int64_t> seen;
  for (int step = 0; step < 3; ++step)
    for (auto& l : two) {
      ASSERT_TRUE(l.next(b));
      for (int64_t i : b.target.to_vector<int64_t>()) seen.insert(i);
    }
  io::Value state = two[1].state_dict();
  EXPECT_EQ(state.at("sample_cursor").to_int(), 24);
  EXPECT_EQ(state.at("world_size").to_int(), 2);
  EXPECT_EQ(two[0].state_dict().at("sample_cursor").to_int(), 24);  // the same on every rank
  for (int64_t world : {1, 3}) {
    std::multiset<int64_t> all = seen;
    auto resumed = replicas(120, world, 4);
    for (auto& l : resumed) {
      l.load_state_dict(state);
      for (int64_t i : drain(l)) all.insert(i);
    }
    EXPECT_EQ(all.size(), 120u) << world << " ranks";
    for (int64_t i = 0; i < 120; ++i) EXPECT_EQ(all.count(i), 1u) << "sample " << i << " with " << world << " ranks";
    EXPECT_EQ(resumed[0].state_dict().at("sample_cursor").to_int(), 120);
  }
}

TEST(DistributedLoader, ResumingOnTheSameWorldSizeGivesTheUninterruptedBatches) {
  auto full = replicas(50, 3, 4);  // 50 does not divide by 3: padding must be the same after a resume
  std::vector<std::vector<int64_t>> whole;
  for (auto& l : full) whole.push_back(drain(l));
  auto first = replicas(50, 3, 4);
  io::Batch b;
  for (auto& l : first) l.next(b), l.next(b);
  for (int64_t r = 0; r < 3; ++r) {
    auto again = replicas(50, 3, 4);
    again[static_cast<size_t>(r)].load_state_dict(first[static_cast<size_t>(r)].state_dict());
    EXPECT_EQ(again[static_cast<size_t>(r)].cursor(), 2);
    std::vector<int64_t> rest = drain(again[static_cast<size_t>(r)]);
    EXPECT_EQ(rest, std::vector<int64_t>(whole[static_cast<size_t>(r)].begin() + 8, whole[static_cast<size_t>(r)].end())) << "rank " << r;
  }
}

TEST(DistributedLoader, RefusesARankOutsideTheWorld) {
  EXPECT_THROW(io::DataLoader(numbers(10), io::DataLoaderOptions().distributed(2, 2)), ValueError);
}
