// batch_norm's batch statistics in float32 against a float64 two-pass reference, on channels that
// defeat a one-pass shifted sum (an outlier as the channel's first value, a mean far from zero
// against a tiny spread) as well as ordinary ones: the kernel must notice and re-centre.
#include <gtest/gtest.h>

#include <cmath>

#include "ember.h"

using namespace ember;

TEST(BatchNormStats, MeanAndVarianceHoldOnChannelsThatDefeatAShiftedSum) {
  const int64_t n = 16, c = 4, s = 50;
  Generator gen(3);
  const int before = get_num_threads();
  std::vector<float> x = randn({n * c * s}, TensorOptions(kFloat32), &gen).to_vector<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < s; ++j) {
      float& v1 = x[(b * c + 1) * s + j];
      v1 = 1000.0f + 1e-3f * v1;                // channel 1: mean 1000, spread 1e-3
      float& v3 = x[(b * c + 3) * s + j];
      v3 = 0.5f * v3 + 3.0f;                    // channel 3: ordinary, off zero
    }
  x[2 * s] = 1e4f;                              // channel 2: its first value an outlier
  for (int64_t b = 0; b < n; ++b) x[(b * c + 0) * s] = 7.0f;  // channel 0: first values far from the rest, repeated
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor running_mean = zeros({c}), running_var = ones({c});
    batch_norm(tensor(x, {n, c, s}), running_mean, running_var, Tensor(), Tensor(), true, /*momentum=*/1.0, 1e-5);
    std::vector<float> got_mean = running_mean.to_vector<float>(), got_var = running_var.to_vector<float>();
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0, count = static_cast<double>(n * s);
      for (int64_t b = 0; b < n; ++b)
        for (int64_t j = 0; j < s; ++j) sum += x[(b * c + ch) * s + j];
      double mean = sum / count;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t j = 0; j < s; ++j) sq += std::pow(x[(b * c + ch) * s + j] - mean, 2);
      double unbiased = sq / (count - 1);  // momentum 1: the running variance is the batch's, unbiased
      EXPECT_NEAR(got_mean[ch], mean, 1e-6 * std::abs(mean) + 1e-7) << "channel " << ch << " at " << threads << " thread(s)";
      EXPECT_NEAR(got_var[ch], unbiased, 1e-5 * unbiased) << "channel " << ch << " at " << threads << " thread(s)";
    }
  }
  set_num_threads(before);
}
