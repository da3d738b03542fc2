// Evaluation-mode inference from a checkpoint: rebuild the model, load its weights, switch to eval
// (Dropout off, BatchNorm on running statistics), and predict under NoGradGuard.
//
//   build/bin/eval_inference CHECKPOINT [--model mlp|cnn] [--count N]
// CHECKPOINT: a train_fashion_mnist checkpoint, or a PyTorch state_dict of the same Sequential.
#include <cstdio>
#include <cstring>

#include "ember.h"
#include "train_fashion_mnist/models.h"

using namespace ember;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: eval_inference CHECKPOINT [--model mlp|cnn] [--count N]\n");
    return 2;
  }
  std::string model_name = "mlp";
  int64_t count = 10;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_name = argv[i + 1];
    if (!std::strcmp(argv[i], "--count")) count = std::atoll(argv[i + 1]);
  }
  try {
    auto model = fashion::make_model(model_name);
    io::Value file = io::load(argv[1]);
    model->load_state_dict(file.contains("model_state_dict") ? file.at("model_state_dict") : file);
    model->eval();

    io::FashionMnist test(io::FashionMnist::Split::Test);
    std::vector<int64_t> first(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) first[i] = i;
    io::Batch batch = test.get_batch(first);
    NoGradGuard no_grad;
    Tensor probs = softmax(model->forward(fashion::model_input(model_name, batch.input)), 1);  // [count, 10]
    ValuesIndices top = max(probs, 1);
    int64_t right = 0;
    for (int64_t i = 0; i < count; ++i) {
      int64_t guess = top.indices[i].item<int64_t>(), truth = batch.target[i].item<int64_t>();
      right += guess == truth;
      std::printf("image %2lld: %-12s (p=%.3f)  truth %s\n", static_cast<long long>(i), io::FashionMnist::kClassNames[guess],
                  top.values[i].item(), io::FashionMnist::kClassNames[truth]);
    }
    std::printf("%lld of %lld right\n", static_cast<long long>(right), static_cast<long long>(count));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eval_inference: %s\n", e.what());
    return 2;
  }
}
