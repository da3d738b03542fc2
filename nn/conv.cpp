#include "nn/conv.h"

#include <cmath>

#include "core/ops/conv.h"
#include "core/ops/factories.h"
#include "nn/init.h"

namespace ember::nn {

Conv2d::Conv2d(Conv2dOptions o) : Module("Conv2d"), options(o) {
  EMBER_CHECK_VALUE(o.groups_ > 0 && o.in_channels % o.groups_ == 0 && o.out_channels % o.groups_ == 0,
                    "Conv2d: in_channels (", o.in_channels, ") and out_channels (", o.out_channels,
                    ") must be divisible by groups (", o.groups_, ")");
  weight = register_parameter("weight",
                              empty({o.out_channels, o.in_channels / o.groups_, o.kernel_size.h, o.kernel_size.w}));
  bias = register_parameter("bias", o.bias_ ? empty({o.out_channels}) : Tensor());
  reset_parameters();
}

void Conv2d::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, options.stride_, options.padding_, options.dilation_, options.groups_);
}

namespace {
nlohmann::json pair(Size2 s) { return nlohmann::json::array({s.h, s.w}); }
std::string tuple(Size2 s) { return str("(", s.h, ", ", s.w, ")"); }
}  // namespace

nlohmann::json Conv2d::config() const {
  return {{"in_channels", options.in_channels}, {"out_channels", options.out_channels},
          {"kernel_size", pair(options.kernel_size)}, {"stride", pair(options.stride_)},
          {"padding", pair(options.padding_)}, {"dilation", pair(options.dilation_)},
          {"groups", options.groups_}, {"bias", options.bias_}};
}

std::string Conv2d::extra_repr() const {
  std::string s = str(options.in_channels, ", ", options.out_channels, ", kernel_size=", tuple(options.kernel_size),
                      ", stride=", tuple(options.stride_));
  if (!(options.padding_ == Size2(0))) s += ", padding=" + tuple(options.padding_);
  if (!(options.dilation_ == Size2(1))) s += ", dilation=" + tuple(options.dilation_);
  if (options.groups_ != 1) s += str(", groups=", options.groups_);
  if (!options.bias_) s += ", bias=False";
  return s;
}

}  // namespace ember::nn
