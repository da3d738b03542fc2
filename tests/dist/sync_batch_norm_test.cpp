// SyncBatchNorm across processes: DDP training of a model with BatchNorm2d and BatchNorm1d on 2 and
// 3 processes, its batch norms synchronized, ends where one process ends on the global batch
// (weights and running statistics, to rounding) and bitwise the same on every rank; without the
// synchronization it does not (each replica's statistics are its own slice's), which is what the
// first check could not tell apart otherwise. DDP runs in small buckets, so the batch norms'
// backward sums are queued among its allreduces: a race between the two would pair a bucket on one
// rank with a statistic on the other.
#include <gtest/gtest.h>

#include "dist/ranks.h"
#include "ember.h"

using namespace ember;
using ember::testing::bin;

namespace {

std::vector<io::Value> train_sync_bn(bool sync, int n, const std::string& tag) {
  std::string dir = ember::testing::fresh_dir("sync-bn-" + tag);
  auto results = ember::testing::run_ranks({bin("dist_worker"), "sync-bn", sync ? "1" : "0", "4", dir}, n, dir);
  std::vector<io::Value> states;
  for (int r = 0; r < n; ++r) {
    const auto& res = results[static_cast<size_t>(r)];
    EXPECT_EQ(res.exit_code, 0) << res.output;
    if (sync && n > 1) EXPECT_NE(res.output.find("converted 2 "), std::string::npos) << res.output;
    states.push_back(io::load(dir + "/rank-" + std::to_string(r) + ".pt"));
  }
  return states;
}

// The largest difference over the state dict's float tensors.
double max_difference(const io::Value& a, const io::Value& b) {
  double worst = 0;
  for (const auto& [k, v] : a.dict()) {
    Tensor x = v.to_tensor();
    if (!is_floating(x.dtype())) continue;
    worst = std::max(worst, max(abs(sub(x, b.at(k.str()).to_tensor()))).item());
  }
  return worst;
}

}  // namespace

TEST(SyncBatchNorm, DataParallelRanksMatchOneProcessOnTheGlobalBatchAndEachOther) {
  EMBER_SKIP_WITHOUT_GLOO();
  auto single = train_sync_bn(true, 1, "one");  // a group of one: plain batch norm on all 12 samples
  for (int n : {2, 3}) {
    auto ranks = train_sync_bn(true, n, "sync-" + std::to_string(n));
    for (int r = 1; r < n; ++r) EXPECT_EQ(max_difference(ranks[0], ranks[static_cast<size_t>(r)]), 0.0) << "rank " << r << " drifted";
    double diff = max_difference(single[0], ranks[0]);
    EXPECT_LT(diff, 2e-5) << n << " synchronized processes differ from one process on the global batch by " << diff;
  }
  auto unsynced = train_sync_bn(false, 2, "plain");
  double diff = max_difference(single[0], unsynced[0]);
  EXPECT_GT(diff, 1e-3) << "per-replica batch norm should not match the global batch (diff " << diff << ")";
}
