// Bit-for-bit comparisons of float32 tensors, for the tests of fused ops that promise the unfused
// ops' exact results (batch_norm_relu, batch_norm_relu_max_pool2d, Sequential's fusions).
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ember.h"

// True when a and b hold the same float32 bits, element for element.
inline bool same_bits(const ember::Tensor& a, const ember::Tensor& b) {
  std::vector<float> x = a.contiguous().to_vector<float>(), y = b.contiguous().to_vector<float>();
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// Fails the test at the first element whose bits differ, naming it.
inline void expect_same_bits(const ember::Tensor& got, const ember::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  std::vector<float> g = got.contiguous().to_vector<float>(), w = want.contiguous().to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_EQ(std::memcmp(&g[i], &w[i], sizeof(float)), 0) << what << ", element " << i << ": " << g[i] << " vs " << w[i];
}

// float32 values in {-1, -0.5, 0, 0.5, 1}: they repeat within a channel, so that some normalize to
// exactly 0 (where a ReLU's mask decides) and pooling windows tie.
inline ember::Tensor input_with_ties(const ember::Shape& shape, ember::Generator& gen) {
  return ember::mul(ember::randint(-2, 3, shape, ember::TensorOptions(ember::kFloat32), &gen), 0.5);
}
