#include "models.h"

namespace fashion {

using namespace ember;

std::shared_ptr<nn::Sequential> make_model(const std::string& name) {
  using std::make_shared;
  if (name == "mlp")
    return make_shared<nn::Sequential>(make_shared<nn::Linear>(784, 512), make_shared<nn::BatchNorm1d>(512),
                                       make_shared<nn::ReLU>(), make_shared<nn::Dropout>(0.2), make_shared<nn::Linear>(512, 256),
                                       make_shared<nn::BatchNorm1d>(256), make_shared<nn::ReLU>(), make_shared<nn::Dropout>(0.2),
                                       make_shared<nn::Linear>(256, 10));
  if (name == "cnn")
    return make_shared<nn::Sequential>(
        make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 32, 3).padding(1)), make_shared<nn::BatchNorm2d>(32),
        make_shared<nn::ReLU>(), make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)),
        make_shared<nn::Conv2d>(nn::Conv2dOptions(32, 64, 3).padding(1)), make_shared<nn::BatchNorm2d>(64),
        make_shared<nn::ReLU>(), make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)), make_shared<nn::Flatten>(),
        make_shared<nn::Dropout>(0.25), make_shared<nn::Linear>(3136, 128), make_shared<nn::ReLU>(),
        make_shared<nn::Linear>(128, 10));
  throw ValueError("--model must be mlp or cnn, found '" + name + "'");
}

Tensor model_input(const std::string& name, const Tensor& images) {
  return name == "mlp" ? images.reshape({images.size(0), 784}) : images;
}

}  // namespace fashion
