// Helpers of the CUDA tests: skipping where no GPU is present (CI, the development machine) and
// running one computation on the CPU and on the GPU for comparison.
#pragma once

#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "ember.h"

// Skips the test, saying why, unless this build has the CUDA backend and the machine a GPU.
#define EMBER_SKIP_WITHOUT_GPU()                                                           \
  do {                                                                                     \
    if (!::ember::cuda::is_available())                                                    \
      GTEST_SKIP() << "no CUDA device: " << ::ember::cuda::unavailable_reason();           \
  } while (0)

namespace ember::gpu_test {

inline const Device kGPU{DeviceType::CUDA, 0};

// Copies on `device` of each input, as leaves that require grad where the input does.
inline std::vector<Tensor> leaves_on(const std::vector<Tensor>& inputs, Device device) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    Tensor c = t.detach().to(device).clone().detach();
    if (t.requires_grad()) c.requires_grad_(true);
    out.push_back(c);
  }
  return out;
}

struct Run {
  Tensor output;              // on the CPU
  std::vector<Tensor> grads;  // on the CPU; undefined where an input needs none
};

// Runs f on `device` and backpropagates sum(output * weight), weight a fixed pseudo-random
// tensor of the output's shape, when the output requires grad.
inline Run run_on(Device device, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                  const std::vector<Tensor>& inputs) {
  std::vector<Tensor> xs = leaves_on(inputs, device);
  Tensor y = f(xs);
  Run r;
  r.output = y.detach().to(kCPU);
  if (y.requires_grad()) {
    Generator g(7);
    Tensor w = randn(y.sizes(), TensorOptions(y.dtype()), &g).to(device);
    sum(mul(y, w)).backward();
  }
  for (const Tensor& x : xs) r.grads.push_back(x.grad().defined() ? x.grad().to(kCPU) : Tensor());
  return r;
}

// Expects f on the GPU to give the CPU's output and gradients: exactly when tol is 0, else within
// rtol = atol = tol.
inline void expect_parity(const char* what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, double tol) {
  SCOPED_TRACE(what);
  Run cpu = run_on(kCPU, f, inputs), gpu = run_on(kGPU, f, inputs);
  ASSERT_EQ(cpu.output.sizes(), gpu.output.sizes());
  ASSERT_EQ(cpu.output.dtype(), gpu.output.dtype());
  if (tol == 0)
    EXPECT_TRUE(equal(cpu.output, gpu.output)) << "output differs";
  else
    EXPECT_TRUE(allclose(cpu.output, gpu.output, tol, tol, true)) << "output differs beyond " << tol;
  for (size_t i = 0; i < cpu.grads.size(); ++i) {
    ASSERT_EQ(cpu.grads[i].defined(), gpu.grads[i].defined()) << "gradient " << i;
    if (!cpu.grads[i].defined()) continue;
    EXPECT_TRUE(allclose(cpu.grads[i], gpu.grads[i], tol == 0 ? 1e-6 : tol, tol == 0 ? 1e-6 : tol, true))
        << "gradient of input " << i << " differs";
  }
}

}  // namespace ember::gpu_test
