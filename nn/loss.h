// Loss functions, functional and as modules. Reduction: "mean" (default), "sum" or "none".
#pragma once

#include <string>

#include "nn/module.h"

namespace ember::nn {

enum class Reduction { None, Mean, Sum };
Reduction parse_reduction(const std::string& name);

struct CrossEntropyOptions {
  Tensor weight_;              // [C] class weights, or undefined
  int64_t ignore_index_ = -100;
  double label_smoothing_ = 0.0;
  Reduction reduction_ = Reduction::Mean;
  CrossEntropyOptions& weight(Tensor w) { weight_ = std::move(w); return *this; }
  CrossEntropyOptions& ignore_index(int64_t i) { ignore_index_ = i; return *this; }
  CrossEntropyOptions& label_smoothing(double s) { label_smoothing_ = s; return *this; }
  CrossEntropyOptions& reduction(Reduction r) { reduction_ = r; return *this; }
};

// input: logits [N, C] or [N, C, *]; target: int64 class indices [N] or [N, *]. With label
// smoothing eps the target distribution is (1 - eps) one-hot + eps / C, as PyTorch. "mean"
// divides by the summed weights of the non-ignored targets.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options = {});
// input: log-probabilities; the same conventions without smoothing.
Tensor nll_loss(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean, double beta = 1.0);
// Sigmoid + binary cross-entropy in one stable expression; weight and pos_weight may be undefined.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor(), Reduction reduction = Reduction::Mean);

// Loss modules take (input, target).
class Loss : public Module {
 public:
  using Module::Module;
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  using Module::forward;
};

class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(CrossEntropyOptions options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override { return cross_entropy(input, target, options); }
  nlohmann::json config() const override;
  CrossEntropyOptions options;
};

class NLLLoss : public Loss {
 public:
  explicit NLLLoss(CrossEntropyOptions options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override { return nll_loss(input, target, options); }
  nlohmann::json config() const override;
  CrossEntropyOptions options;
};

class MSELoss : public Loss {
 public:
  explicit MSELoss(Reduction r = Reduction::Mean) : Loss("MSELoss"), reduction(r) {}
  Tensor forward(const Tensor& input, const Tensor& target) override { return mse_loss(input, target, reduction); }
  Reduction reduction;
};

class L1Loss : public Loss {
 public:
  explicit L1Loss(Reduction r = Reduction::Mean) : Loss("L1Loss"), reduction(r) {}
  Tensor forward(const Tensor& input, const Tensor& target) override { return l1_loss(input, target, reduction); }
  Reduction reduction;
};

class SmoothL1Loss : public Loss {
 public:
  explicit SmoothL1Loss(Reduction r = Reduction::Mean, double beta = 1.0) : Loss("SmoothL1Loss"), reduction(r), beta(beta) {}
  Tensor forward(const Tensor& input, const Tensor& target) override { return smooth_l1_loss(input, target, reduction, beta); }
  Reduction reduction;
  double beta;
};

class BCEWithLogitsLoss : public Loss {
 public:
  explicit BCEWithLogitsLoss(Tensor weight = Tensor(), Tensor pos_weight = Tensor(), Reduction r = Reduction::Mean);
  Tensor forward(const Tensor& input, const Tensor& target) override {
    return binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction);
  }
  Tensor weight, pos_weight;
  Reduction reduction;
};

}  // namespace ember::nn
