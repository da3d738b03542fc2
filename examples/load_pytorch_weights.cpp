// Loading weights trained in PyTorch. In Python:
//     model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(), nn.Linear(8, 3))
//     torch.save(model.state_dict(), "model_state_dict.pt")
// Here the same Sequential loads it with strict key checking and runs in eval mode.
//
//   build/bin/load_pytorch_weights model_state_dict.pt
#include <cstdio>

#include "ember.h"

using namespace ember;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: load_pytorch_weights STATE_DICT.pt\n");
    return 2;
  }
  try {
    auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::BatchNorm1d>(8),
                                                  std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.5),
                                                  std::make_shared<nn::Linear>(8, 3));
    io::Value state = io::load(argv[1]);  // torch.save's zip format, read without Python
    std::printf("%s holds %zu tensors:\n", argv[1], state.size());
    for (const auto& [key, value] : state.dict())
      std::printf("  %-22s %s\n", key.str().c_str(), io::summary(value).c_str());
    model->load_state_dict(state);  // strict: every key must match, with the same shapes
    model->eval();
    NoGradGuard no_grad;
    Tensor out = model->forward(tensor({0.5, -1.0, 2.0, 0.0, 1.0, 1.0, 1.0, 1.0}, Shape{2, 4}));
    std::printf("%s\n", model->repr().c_str());
    std::printf("eval-mode output for two inputs:\n%s\n", to_string(out).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_pytorch_weights: %s\n", e.what());
    return 2;
  }
}
