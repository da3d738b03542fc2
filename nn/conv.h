// Conv2d.
#pragma once

#include "nn/module.h"

namespace ember::nn {

struct Conv2dOptions {
  int64_t in_channels, out_channels;
  Size2 kernel_size;
  Size2 stride_ = 1, padding_ = 0, dilation_ = 1;
  int64_t groups_ = 1;
  bool bias_ = true;
  Conv2dOptions(int64_t in, int64_t out, Size2 kernel) : in_channels(in), out_channels(out), kernel_size(kernel) {}
  Conv2dOptions& stride(Size2 s) { stride_ = s; return *this; }
  Conv2dOptions& padding(Size2 p) { padding_ = p; return *this; }
  Conv2dOptions& dilation(Size2 d) { dilation_ = d; return *this; }
  Conv2dOptions& groups(int64_t g) { groups_ = g; return *this; }
  Conv2dOptions& bias(bool b) { bias_ = b; return *this; }
};

// [N, C_in, H, W] -> [N, C_out, H', W']. weight [out, in/groups, kh, kw] and bias [out] initialised
// as PyTorch (uniform with bound 1/sqrt(in/groups * kh * kw)).
class Conv2d : public Module {
 public:
  explicit Conv2d(Conv2dOptions options);
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override;
  std::string extra_repr() const override;
  void reset_parameters();

  Conv2dOptions options;
  Tensor weight, bias;
};

}  // namespace ember::nn
