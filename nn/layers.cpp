#include "nn/layers.h"

#include "core/ops/activation.h"
#include "core/ops/dropout.h"
#include "core/ops/pool.h"
#include "core/ops/softmax.h"

namespace ember::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Softmax::forward(const Tensor& x) { return softmax(x, dim); }
Tensor LogSoftmax::forward(const Tensor& x) { return log_softmax(x, dim); }

namespace {
double checked_p(double p) {
  EMBER_CHECK_VALUE(p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, found ", p);
  return p;
}
nlohmann::json pair(Size2 s) { return nlohmann::json::array({s.h, s.w}); }
std::string number_or_pair(Size2 s) { return s.h == s.w ? std::to_string(s.h) : str("(", s.h, ", ", s.w, ")"); }
}  // namespace

Dropout::Dropout(double p) : Module("Dropout"), p(checked_p(p)) {}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training()); }
Dropout2d::Dropout2d(double p) : Module("Dropout2d"), p(checked_p(p)) {}
Tensor Dropout2d::forward(const Tensor& x) { return dropout2d(x, p, is_training()); }

Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, options.kernel_size, options.stride_, options.padding_, options.dilation_, options.ceil_mode_);
}
nlohmann::json MaxPool2d::config() const {
  return {{"kernel_size", pair(options.kernel_size)}, {"stride", pair(options.stride_)},
          {"padding", pair(options.padding_)}, {"dilation", pair(options.dilation_)}, {"ceil_mode", options.ceil_mode_}};
}
std::string MaxPool2d::extra_repr() const {
  Size2 stride = options.stride_ == Size2(0) ? options.kernel_size : options.stride_;
  return str("kernel_size=", number_or_pair(options.kernel_size), ", stride=", number_or_pair(stride),
             ", padding=", number_or_pair(options.padding_), ", dilation=", number_or_pair(options.dilation_),
             ", ceil_mode=", options.ceil_mode_ ? "True" : "False");
}

Tensor AvgPool2d::forward(const Tensor& x) {
  return avg_pool2d(x, options.kernel_size, options.stride_, options.padding_, options.ceil_mode_,
                    options.count_include_pad_);
}
nlohmann::json AvgPool2d::config() const {
  return {{"kernel_size", pair(options.kernel_size)}, {"stride", pair(options.stride_)},
          {"padding", pair(options.padding_)}, {"ceil_mode", options.ceil_mode_},
          {"count_include_pad", options.count_include_pad_}};
}
std::string AvgPool2d::extra_repr() const {
  Size2 stride = options.stride_ == Size2(0) ? options.kernel_size : options.stride_;
  return str("kernel_size=", number_or_pair(options.kernel_size), ", stride=", number_or_pair(stride),
             ", padding=", number_or_pair(options.padding_));
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }

Tensor Unflatten::forward(const Tensor& x) {
  int64_t d = wrap_dim(dim, x.dim(), "Unflatten");
  Shape out(x.sizes().begin(), x.sizes().begin() + d);
  out.insert(out.end(), sizes.begin(), sizes.end());
  out.insert(out.end(), x.sizes().begin() + d + 1, x.sizes().end());
  return x.reshape(out);
}
std::string Unflatten::extra_repr() const {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return str("dim=", dim, ", unflattened_size=", s, sizes.size() == 1 ? ",)" : ")");
}

}  // namespace ember::nn
