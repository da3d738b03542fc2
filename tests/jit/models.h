// The models the jit tests trace and export: the main job's mlp and cnn shapes, a ResNet-style
// model with residual blocks (a user-written Module), and one with Embedding and LayerNorm.
#pragma once

#include "ember.h"

namespace ember::testing {

// conv-bn-relu-conv-bn, plus the input, then relu: what a ResNet basic block computes.
class ResidualBlock : public nn::Module {
 public:
  explicit ResidualBlock(int64_t c) : nn::Module("ResidualBlock") {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(c, c, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(c));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(c, c, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(c));
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = relu(bn1->forward(conv1->forward(x)));
    return relu(add(bn2->forward(conv2->forward(y)), x));
  }
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
};

class TinyResNet : public nn::Module {
 public:
  TinyResNet() : nn::Module("TinyResNet") {
    stem = register_module("stem", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 8, 3).padding(1)));
    block1 = register_module("block1", std::make_shared<ResidualBlock>(8));
    block2 = register_module("block2", std::make_shared<ResidualBlock>(8));
    fc = register_module("fc", std::make_shared<nn::Linear>(16, 10));
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = block2->forward(block1->forward(relu(stem->forward(x))));
    Tensor pooled = adaptive_avg_pool2d(y, {1, 1}).flatten(1);
    Tensor maxed = max_pool2d(y, {28, 28}).flatten(1);
    return fc->forward(cat({pooled, maxed}, 1));  // concatenation of two poolings
  }
  std::shared_ptr<nn::Conv2d> stem;
  std::shared_ptr<ResidualBlock> block1, block2;
  std::shared_ptr<nn::Linear> fc;
};

// Token ids [batch, 6] -> embedding -> LayerNorm -> GELU -> flatten -> linear -> log-softmax.
class TokenModel : public nn::Module {
 public:
  TokenModel() : nn::Module("TokenModel") {
    embed = register_module("embed", std::make_shared<nn::Embedding>(nn::EmbeddingOptions(20, 8)));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({8})));
    head = register_module("head", std::make_shared<nn::Linear>(48, 5));
  }
  Tensor forward(const Tensor& ids) override {
    Tensor h = gelu(norm->forward(embed->forward(ids)));
    return log_softmax(head->forward(h.flatten(1)), 1);
  }
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;
};

inline std::shared_ptr<nn::Module> make_mlp() {
  using std::make_shared;
  return make_shared<nn::Sequential>(make_shared<nn::Flatten>(), make_shared<nn::Linear>(784, 64), make_shared<nn::BatchNorm1d>(64),
                                     make_shared<nn::ReLU>(), make_shared<nn::Dropout>(0.2), make_shared<nn::Linear>(64, 10));
}

inline std::shared_ptr<nn::Module> make_cnn() {
  using std::make_shared;
  return make_shared<nn::Sequential>(
      make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 8, 3).padding(1)), make_shared<nn::BatchNorm2d>(8), make_shared<nn::ReLU>(),
      make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)), make_shared<nn::Conv2d>(nn::Conv2dOptions(8, 16, 3).padding(1)),
      make_shared<nn::ReLU>(), make_shared<nn::AvgPool2d>(nn::Pool2dOptions(2)), make_shared<nn::Flatten>(),
      make_shared<nn::Dropout>(0.25), make_shared<nn::Linear>(16 * 7 * 7, 10), make_shared<nn::Sigmoid>());
}

// Gives every BatchNorm non-trivial running statistics (a few training-mode forwards).
inline void warm_up(nn::Module& m, const Tensor& x) {
  NoGradGuard no_grad;
  m.train();
  for (int i = 0; i < 3; ++i) m.forward(x);
  m.eval();
}

}  // namespace ember::testing
