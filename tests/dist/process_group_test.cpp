// The Gloo process group across real processes: results, bitwise agreement, and failures that
// name the peer within the timeout.
#include <gtest/gtest.h>

#include <cmath>

#include "dist/ranks.h"
#include "ember.h"

using namespace ember;
using ember::testing::bin;

namespace {

bool same_bytes(const Tensor& a, const Tensor& b) { return equal(a, b); }  // dtype, shape and every byte

double value(int rank, int64_t i) { return std::sin(0.37 * (rank + 1) + 1e-3 * static_cast<double>(i)) / 3.0; }

}  // namespace

TEST(LocalGroup, IsTheIdentityAndChecksItsInput) {
  dist::LocalProcessGroup g;
  Tensor t = tensor({1.0, 2.0});
  g.allreduce(t, dist::ReduceOp::average);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_EQ(g.allgather(t).sizes(), (Shape{1, 2}));
  EXPECT_THROW(g.broadcast(t, 1), ValueError);
  Tensor strided = zeros({4, 4}).t();
  EXPECT_THROW(g.allreduce(strided), ValueError);
  EXPECT_EQ(g.broadcast_string("hello"), "hello");
  EXPECT_NO_THROW(g.agree("", "nothing"));
  EXPECT_THROW(g.agree("disk full", "saving"), Error);
}

TEST(Rendezvous, ReadsTheLaunchersEnvironmentAndNamesABadVariable) {
  setenv("WORLD_SIZE", "3", 1);
  setenv("RANK", "2", 1);
  setenv("EMBER_STORE", "/tmp/x", 1);
  dist::Rendezvous r = dist::Rendezvous::from_environment();
  EXPECT_EQ(r.rank, 2);
  EXPECT_EQ(r.world_size, 3);
  setenv("RANK", "3", 1);
  EXPECT_THROW(dist::Rendezvous::from_environment(), ValueError);
  setenv("RANK", "two", 1);
  try {
    dist::Rendezvous::from_environment();
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("RANK"), std::string::npos) << e.what();
  }
  setenv("RANK", "0", 1);
  unsetenv("EMBER_STORE");
  EXPECT_THROW(dist::Rendezvous::from_environment(), ValueError);
  unsetenv("WORLD_SIZE");
  unsetenv("RANK");
  EXPECT_EQ(dist::Rendezvous::from_environment().world_size, 1);
}

TEST(RankSeed, KeepsRankZerosSeedAndSeparatesTheOthers) {
  EXPECT_EQ(dist::rank_seed(42, 0), 42u);
  EXPECT_NE(dist::rank_seed(42, 1), dist::rank_seed(42, 2));
  EXPECT_NE(dist::rank_seed(42, 1), 42u);
}

class Collectives : public ::testing::TestWithParam<int> {};

TEST_P(Collectives, AgreeBitwiseOnEveryRankForAwkwardSizes) {
  EMBER_SKIP_WITHOUT_GLOO();
  int n = GetParam();
  std::string dir = ember::testing::fresh_dir("coll" + std::to_string(n));
  auto results = ember::testing::run_ranks({bin("dist_worker"), "collectives", dir}, n, dir);
  for (int r = 0; r < n; ++r) ASSERT_EQ(results[static_cast<size_t>(r)].exit_code, 0) << "rank " << r << ": " << results[static_cast<size_t>(r)].output;
  std::vector<io::Value> files;
  for (int r = 0; r < n; ++r) files.push_back(io::load(dir + "/rank-" + std::to_string(r) + ".pt"));
  for (const auto& [key, v] : files[0].dict()) {
    if (!v.is_tensor()) continue;
    for (int r = 1; r < n; ++r) EXPECT_TRUE(same_bytes(v.to_tensor(), files[static_cast<size_t>(r)].at(key.str()).to_tensor())) << key.str() << " differs on rank " << r;
  }
  for (int64_t size : {int64_t{0}, int64_t{1}, int64_t{7919}, int64_t{7000003}}) {
    std::string s = std::to_string(size);
    Tensor sum = files[0].at("sum_" + s).to_tensor(), avg = files[0].at("average_" + s).to_tensor();
    Tensor mx = files[0].at("max_" + s).to_tensor(), sum64 = files[0].at("sum64_" + s).to_tensor();
    Tensor bc = files[0].at("broadcast_" + s).to_tensor();
    ASSERT_EQ(sum.numel(), size);
    const float* ps = sum.data_ptr<float>();
    const float* pa = avg.data_ptr<float>();
    const float* pm = mx.data_ptr<float>();
    const double* p64 = sum64.data_ptr<double>();
    const float* pb = bc.data_ptr<float>();
    for (int64_t i = 0; i < size; i += (size > 10000 ? 997 : 1)) {
      double expect = 0, best = -1e9;
      for (int r = 0; r < n; ++r) {
        expect += static_cast<float>(value(r, i));
        best = std::max(best, static_cast<double>(static_cast<float>(value(r, i))));
      }
      ASSERT_NEAR(ps[i], expect, 1e-6) << s << "[" << i << "]";
      ASSERT_NEAR(pa[i], expect / n, 1e-6);
      ASSERT_EQ(pm[i], static_cast<float>(best));
      double e64 = 0;
      for (int r = 0; r < n; ++r) e64 += value(r, i);
      ASSERT_NEAR(p64[i], e64, 1e-14);
      ASSERT_EQ(pb[i], static_cast<float>(value(n - 1, i)));  // the last rank's values
    }
  }
  EXPECT_EQ(files[0].at("sum_int64").to_tensor().to_vector<int64_t>()[1], 1000000007LL * n * (n - 1) / 2);
  Tensor gathered = files[0].at("allgather").to_tensor();
  ASSERT_EQ(gathered.sizes(), (Shape{n, 5}));
  for (int r = 0; r < n; ++r) EXPECT_EQ(gathered[r].to_vector<float>()[4], static_cast<float>(value(r, 4)));
  EXPECT_EQ(files[0].at("allgather_empty").to_tensor().sizes(), (Shape{n, 0}));
}

INSTANTIATE_TEST_SUITE_P(Ranks, Collectives, ::testing::Values(2, 3, 4));

TEST(PeerFailure, ARankKilledDuringACollectiveIsNamedByTheOthersWithinTheTimeout) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("die");
  auto results = ember::testing::run_ranks({bin("dist_worker"), "die-in-collective"}, 3, dir, {{"EMBER_DIST_TIMEOUT", "20"}});
  EXPECT_EQ(results[1].exit_code, -1);  // SIGKILLed
  for (int r : {0, 2}) {
    const auto& res = results[static_cast<size_t>(r)];
    EXPECT_EQ(res.exit_code, 3) << res.output;
    EXPECT_NE(res.output.find("allreduce (collective #3)"), std::string::npos) << res.output;
    EXPECT_NE(res.output.find("rank 1 (process"), std::string::npos) << res.output;
    EXPECT_NE(res.output.find("has exited"), std::string::npos) << res.output;
    EXPECT_LT(res.seconds, 20) << res.output;
  }
}

TEST(PeerFailure, AHungRankIsNamedWhenTheTimeoutExpires) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("hang");
  auto results = ember::testing::run_ranks({bin("dist_worker"), "hang-in-collective"}, 2, dir, {{"EMBER_DIST_TIMEOUT", "3"}}, {}, 40);
  const auto& res = results[0];
  EXPECT_EQ(res.exit_code, 3) << res.output;
  EXPECT_NE(res.output.find("rank 1 (process"), std::string::npos) << res.output;
  EXPECT_NE(res.output.find("has not reached it: it is still in collective #2 (allreduce)"), std::string::npos) << res.output;
  EXPECT_LT(res.seconds, 30) << res.output;
}

TEST(Rendezvous, MismatchedWorldSizesFailAtStartNamingTheRank) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("worlds");
  auto results = ember::testing::run_ranks({bin("dist_worker"), "collectives", dir}, 2, dir, {{"EMBER_DIST_TIMEOUT", "20"}},
                                           {{}, {{"WORLD_SIZE", "3"}}}, 40);
  for (const auto& res : results) {
    EXPECT_EQ(res.exit_code, 3) << res.output;
    EXPECT_NE(res.output.find("WORLD_SIZE=3"), std::string::npos) << res.output;
    EXPECT_LT(res.seconds, 15) << res.output;
  }
  EXPECT_NE(results[0].output.find("rank 1"), std::string::npos) << results[0].output;
}

TEST(Rendezvous, ARankThatNeverComesIsNamed) {
  EMBER_SKIP_WITHOUT_GLOO();
  std::string dir = ember::testing::fresh_dir("absent");
  // World size 3, only ranks 0 and 1 started.
  auto results = ember::testing::run_ranks({bin("dist_worker"), "collectives", dir}, 2, dir, {{"EMBER_DIST_TIMEOUT", "2"}, {"WORLD_SIZE", "3"}}, {}, 40);
  for (const auto& res : results) {
    EXPECT_EQ(res.exit_code, 3) << res.output;
    EXPECT_NE(res.output.find("rank 2 of 3 did not join within 2 s"), std::string::npos) << res.output;
  }
}
