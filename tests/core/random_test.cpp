// Philox against the Random123 known-answer vectors; generator state save/restore; the
// distributions' basic statistics.
#include <algorithm>
#include <numeric>

#include <gtest/gtest.h>

#include "ember.h"
#include "core/random/philox.h"

using namespace ember;

TEST(Philox, KnownAnswers) {
  // Random123 kat_vectors: philox4x32 10 rounds, counter 0 / key 0 and counter all-ones / key
  // all-ones (ember feeds a 64-bit counter into words 0-1, so only counter words 0-1 are set).
  philox::Block zero = philox::block(0, 0);
  EXPECT_EQ((std::array<uint32_t, 4>{zero[0], zero[1], zero[2], zero[3]}), (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
}

TEST(Generator, SameSeedSameStream) {
  Generator a(42), b(42);
  EXPECT_TRUE(equal(randn({100}, {}, &a), randn({100}, {}, &b)));
  Generator c(43);
  EXPECT_FALSE(equal(randn({100}, {}, &a), randn({100}, {}, &c)));
}

TEST(Generator, StateRoundTripReplaysTheStream) {
  Generator g(7);
  rand({13}, {}, &g);
  GeneratorState saved = g.get_state();
  EXPECT_EQ(saved.seed, 7u);
  EXPECT_EQ(saved.offset, 13u);
  Tensor first = randn({5, 5}, {}, &g);
  g.set_state(saved);
  EXPECT_TRUE(equal(randn({5, 5}, {}, &g), first));
}

TEST(Generator, DefaultGeneratorAndManualSeed) {
  manual_seed(3);
  Tensor a = rand({10});
  manual_seed(3);
  EXPECT_TRUE(equal(rand({10}), a));
  EXPECT_EQ(default_generator().get_state().offset, 10u);
}

TEST(Generator, StreamIndependentOfThreadCount) {
  manual_seed(11);
  set_num_threads(1);
  Tensor one = randn({100000});
  manual_seed(11);
  set_num_threads(2);
  Tensor two = randn({100000});
  set_num_threads(1);
  EXPECT_TRUE(equal(one, two));
}

TEST(Distributions, UniformNormalBernoulliStatistics) {
  Generator g(5);
  Tensor u = rand({200000}, kFloat64, &g);
  EXPECT_GE(min(u).item(), 0.0);
  EXPECT_LT(max(u).item(), 1.0);
  EXPECT_NEAR(mean(u).item(), 0.5, 0.005);
  Tensor n = randn({200000}, kFloat64, &g);
  EXPECT_NEAR(mean(n).item(), 0.0, 0.01);
  EXPECT_NEAR(ember::std(n).item(), 1.0, 0.01);
  Tensor b = bernoulli({200000}, 0.3, {}, &g);
  EXPECT_NEAR(mean(b).item(), 0.3, 0.005);
  Tensor r = randint(-3, 4, {10000}, kInt64, &g);
  EXPECT_EQ(min(r).item(), -3);
  EXPECT_EQ(max(r).item(), 3);
}

TEST(Distributions, RandpermIsAPermutation) {
  Generator g(9);
  std::vector<int64_t> p = randperm(1000, kInt64, &g).to_vector<int64_t>();
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(sorted, expected);
  EXPECT_NE(p, expected);
}

TEST(Distributions, DropoutScalesAndZeroes) {
  Generator g(1);
  Tensor x = ones({10000});
  Tensor y = dropout(x, 0.25, true, &g);
  std::vector<float> v = y.to_vector<float>();
  int64_t zeros_seen = std::count(v.begin(), v.end(), 0.0f);
  EXPECT_NEAR(zeros_seen / 10000.0, 0.25, 0.02);
  for (float f : v) EXPECT_TRUE(f == 0.0f || std::abs(f - 1.0f / 0.75f) < 1e-6);
  EXPECT_TRUE(dropout(x, 0.25, false, &g).is_same(x));  // identity outside training
}

// dropout draws its mask already scaled (bernoulli's value 1/(1-p)): the result must be the
// bits of the two-pass definition x * (bernoulli(1 - p) * (1 / (1 - p))), and its gradient the mask.
TEST(Distributions, DropoutIsTheInputTimesTheScaledMask) {
  for (DType dtype : {kFloat32, kFloat64}) {
    Generator data(3), g(11), again(11);
    Tensor x = randn({1000, 37}, TensorOptions(dtype), &data).requires_grad_(true);
    Tensor y = dropout(x, 0.3, true, &g);
    Tensor scaled_mask = mul(bernoulli({1000, 37}, 0.7, TensorOptions(dtype), &again), 1.0 / 0.7);
    EXPECT_TRUE(equal(y.detach(), mul(x.detach(), scaled_mask))) << dtype;
    sum(y).backward();
    EXPECT_TRUE(equal(x.grad(), scaled_mask)) << dtype;
  }
}

// bernoulli's float32 fill draws 32 and then 16 (AVX-512) or eight (AVX2) counters at a time
// (core/backend/cpu/philox_lanes.h), the tail in 8 lanes and then one by one:
// every element must equal the scalar definition, uniform_double(block(offset + i, seed)) < p,
// written as `value` or 0, for probabilities at the edges, lengths off both lane widths, counters
// whose low word wraps past 2^32, and any split between threads.
TEST(Distributions, BernoulliDrawsTheScalarDefinitionElementForElement) {
  const int before = get_num_threads();
  const uint64_t seed = 0x1234567890abcdefULL;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (uint64_t offset : {uint64_t{0}, uint64_t{5}, (uint64_t{1} << 32) - 13, (uint64_t{3} << 32) + 1})
      for (double p : {0.0, 1e-9, 0.3, 0.5, 0.8, 1.0 - 1e-12, 1.0})
        for (int64_t n : {1, 7, 8, 13, 16, 31, 32, 55, 20011})
          for (double value : {1.0, 1.0 / 0.7})
            for (DType dtype : {kFloat32, kFloat64}) {
              Generator g(seed);
              g.set_state({seed, offset});
              std::vector<double> got = bernoulli({n}, p, TensorOptions(dtype), &g, value).to(kFloat64).to_vector<double>();
              const double success = dtype == kFloat32 ? static_cast<double>(static_cast<float>(value)) : value;
              int64_t mismatches = 0;
              for (int64_t i = 0; i < n; ++i) {
                bool drawn = philox::uniform_double(philox::block(offset + static_cast<uint64_t>(i), seed)) < p;
                mismatches += got[static_cast<size_t>(i)] != (drawn ? success : 0.0);
              }
              EXPECT_EQ(mismatches, 0) << "p " << p << ", n " << n << ", value " << value << ", offset " << offset << ", "
                                       << threads << " threads";
            }
  }
  set_num_threads(before);
}
