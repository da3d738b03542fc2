#include "nn/linear.h"

#include <cmath>

#include "core/ops/factories.h"
#include "core/ops/indexing.h"
#include "core/ops/linalg.h"
#include "nn/init.h"

namespace ember::nn {

Linear::Linear(LinearOptions o) : Module("Linear"), options(o) {
  EMBER_CHECK_VALUE(o.in_features >= 0 && o.out_features >= 0, "Linear: expected non-negative features, found ",
                    o.in_features, " and ", o.out_features);
  weight = register_parameter("weight", empty({o.out_features, o.in_features}));
  bias = register_parameter("bias", o.bias_ ? empty({o.out_features}) : Tensor());
  reset_parameters();
}

void Linear::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    double bound = options.in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(options.in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

nlohmann::json Linear::config() const {
  return {{"in_features", options.in_features}, {"out_features", options.out_features}, {"bias", options.bias_}};
}

std::string Linear::extra_repr() const {
  return str("in_features=", options.in_features, ", out_features=", options.out_features,
             ", bias=", options.bias_ ? "True" : "False");
}

Embedding::Embedding(EmbeddingOptions o) : Module("Embedding"), options(o) {
  weight = register_parameter("weight", empty({o.num_embeddings, o.embedding_dim}));
  init::normal_(weight);
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices); }

nlohmann::json Embedding::config() const {
  return {{"num_embeddings", options.num_embeddings}, {"embedding_dim", options.embedding_dim}};
}

std::string Embedding::extra_repr() const { return str(options.num_embeddings, ", ", options.embedding_dim); }

}  // namespace ember::nn
