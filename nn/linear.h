// Linear and Embedding layers.
#pragma once

#include "nn/module.h"

namespace ember::nn {

struct LinearOptions {
  int64_t in_features, out_features;
  bool bias_ = true;
  LinearOptions(int64_t in, int64_t out) : in_features(in), out_features(out) {}
  LinearOptions& bias(bool b) { bias_ = b; return *this; }
};

// y = x W^T + b. x [*, in] -> [*, out]. weight [out, in] ~ U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's
// kaiming_uniform with a = sqrt(5)), bias likewise.
class Linear : public Module {
 public:
  explicit Linear(LinearOptions options);
  Linear(int64_t in, int64_t out) : Linear(LinearOptions(in, out)) {}
  Tensor forward(const Tensor& x) override;
  nlohmann::json config() const override;
  std::string extra_repr() const override;
  void reset_parameters();

  LinearOptions options;
  Tensor weight, bias;
};

struct EmbeddingOptions {
  int64_t num_embeddings, embedding_dim;
  EmbeddingOptions(int64_t num, int64_t dim) : num_embeddings(num), embedding_dim(dim) {}
};

// A lookup table: int64 indices [*] -> [*, embedding_dim]. weight ~ N(0, 1).
class Embedding : public Module {
 public:
  explicit Embedding(EmbeddingOptions options);
  Embedding(int64_t num, int64_t dim) : Embedding(EmbeddingOptions(num, dim)) {}
  Tensor forward(const Tensor& indices) override;
  nlohmann::json config() const override;
  std::string extra_repr() const override;

  EmbeddingOptions options;
  Tensor weight;
};

}  // namespace ember::nn
