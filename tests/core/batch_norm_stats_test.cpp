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

// The [N, C] layout (BatchNorm1d) sums each channel's column in blocks of 16 channels with a
// remainder, split between threads at channel boundaries that are not multiples of 16: the batch
// statistics and all three gradients against a float64 reference written out here, and the same
// bits at 1 and 2 threads.
TEST(BatchNormStats, ColumnsOfAnNByCInputSumAcrossBlocksAndThreads) {
  const int64_t n = 600, c = 37;  // 600 samples: two chunks of channels at 2 threads (18 + 19)
  Generator gen(4);
  const int before = get_num_threads();
  std::vector<float> x = randn({n * c}, TensorOptions(kFloat32), &gen).to_vector<float>();
  std::vector<float> w = add(rand({c}, TensorOptions(kFloat32), &gen), 0.5).to_vector<float>();
  std::vector<float> dy = randn({n * c}, TensorOptions(kFloat32), &gen).to_vector<float>();
  const double eps = 1e-5;
  std::vector<Tensor> first;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor xt = tensor(x, {n, c}).requires_grad_(true), wt = tensor(w, {c}).requires_grad_(true);
    Tensor bt = zeros({c}).requires_grad_(true), running_mean = zeros({c}), running_var = ones({c});
    batch_norm(xt, running_mean, running_var, wt, bt, true, /*momentum=*/1.0, eps).backward(tensor(dy, {n, c}));
    std::vector<float> got_mean = running_mean.to_vector<float>(), got_var = running_var.to_vector<float>();
    std::vector<float> gx = xt.grad().to_vector<float>(), gw = wt.grad().to_vector<float>(), gb = bt.grad().to_vector<float>();
    for (int64_t ch = 0; ch < c; ++ch) {
      std::string where = str("channel ", ch, " at ", threads, " thread(s)");
      double mean = 0, sq = 0, sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t i = 0; i < n; ++i) mean += x[i * c + ch] / static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) sq += std::pow(x[i * c + ch] - mean, 2);
      const double invstd = 1 / std::sqrt(sq / n + eps);
      for (int64_t i = 0; i < n; ++i) {
        sum_dy += dy[i * c + ch];
        sum_dy_xhat += dy[i * c + ch] * (x[i * c + ch] - mean) * invstd;
      }
      EXPECT_NEAR(got_mean[ch], mean, 1e-6) << where;
      EXPECT_NEAR(got_var[ch], sq / (n - 1), 1e-5 * sq / (n - 1)) << where;
      EXPECT_NEAR(gb[ch], sum_dy, 1e-4) << where;
      EXPECT_NEAR(gw[ch], sum_dy_xhat, 1e-4) << where;
      for (int64_t i = 0; i < n; i += 7) {  // dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
        const double xhat = (x[i * c + ch] - mean) * invstd;
        const double want = w[ch] * invstd * (dy[i * c + ch] - sum_dy / n - xhat * sum_dy_xhat / n);
        ASSERT_NEAR(gx[i * c + ch], want, 1e-5) << where << ", sample " << i;
      }
    }
    std::vector<Tensor> results = {running_mean, running_var, xt.grad(), wt.grad(), bt.grad()};
    if (first.empty()) first = results;
    for (size_t k = 0; k < results.size(); ++k) EXPECT_TRUE(equal(results[k], first[k])) << "result " << k << " differs at 2 threads";
  }
  set_num_threads(before);
}
