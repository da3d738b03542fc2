// Stateless layers: activations, dropout, pooling and reshaping. Each wraps one functional op;
// their options are part of their config so whole-model save can rebuild them.
#pragma once

#include "nn/module.h"

namespace ember::nn {

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override { return {{"negative_slope", negative_slope}}; }
  std::string extra_repr() const override { return str("negative_slope=", negative_slope); }
  double negative_slope;
};

class GELU : public Module {
 public:
  GELU() : Module("GELU") {}
  Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;
};

class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override;
};

class Softmax : public Module {
 public:
  explicit Softmax(int64_t dim) : Module("Softmax"), dim(dim) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override { return {{"dim", dim}}; }
  std::string extra_repr() const override { return str("dim=", dim); }
  int64_t dim;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim) : Module("LogSoftmax"), dim(dim) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override { return {{"dim", dim}}; }
  std::string extra_repr() const override { return str("dim=", dim); }
  int64_t dim;
};

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

// Zeroes elements with probability p in training (scaling the rest by 1/(1-p)); identity in eval.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override { return {{"p", p}}; }
  std::string extra_repr() const override { return str("p=", p, ", inplace=False"); }
  double p;
};

// Zeroes whole channels of [N, C, H, W] in training.
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override { return {{"p", p}}; }
  std::string extra_repr() const override { return str("p=", p, ", inplace=False"); }
  double p;
};

struct Pool2dOptions {
  Size2 kernel_size;
  Size2 stride_ = 0;  // 0: the kernel size
  Size2 padding_ = 0;
  Size2 dilation_ = 1;  // max pooling only
  bool ceil_mode_ = false;
  bool count_include_pad_ = true;  // average pooling only
  Pool2dOptions(Size2 kernel) : kernel_size(kernel) {}  // NOLINT
  Pool2dOptions& stride(Size2 s) { stride_ = s; return *this; }
  Pool2dOptions& padding(Size2 p) { padding_ = p; return *this; }
  Pool2dOptions& dilation(Size2 d) { dilation_ = d; return *this; }
  Pool2dOptions& ceil_mode(bool c) { ceil_mode_ = c; return *this; }
  Pool2dOptions& count_include_pad(bool c) { count_include_pad_ = c; return *this; }
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dOptions options) : Module("MaxPool2d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override;
  std::string extra_repr() const override;
  Pool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dOptions options) : Module("AvgPool2d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override;
  std::string extra_repr() const override;
  Pool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : Module("AdaptiveAvgPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override { return {{"output_size", {output_size.h, output_size.w}}}; }
  std::string extra_repr() const override { return str("output_size=(", output_size.h, ", ", output_size.w, ")"); }
  Size2 output_size;
};

// Flattens dims start_dim..end_dim (default: all but the batch dim).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_dim, end_dim); }
  nlohmann::json config() const override { return {{"start_dim", start_dim}, {"end_dim", end_dim}}; }
  std::string extra_repr() const override { return str("start_dim=", start_dim, ", end_dim=", end_dim); }
  int64_t start_dim, end_dim;
};

// Splits dim into `sizes`.
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, Shape sizes) : Module("Unflatten"), dim(dim), sizes(std::move(sizes)) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override { return {{"dim", dim}, {"unflattened_size", sizes}}; }
  std::string extra_repr() const override;
  int64_t dim;
  Shape sizes;
};

}  // namespace ember::nn
