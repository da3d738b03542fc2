// The two Fashion-MNIST models, as nn::Sequential with exactly these children, so their state
// dicts match PyTorch's nn.Sequential key for key:
//   mlp: 0 Linear(784,512) 1 BatchNorm1d(512) 2 ReLU 3 Dropout(0.2) 4 Linear(512,256)
//        5 BatchNorm1d(256) 6 ReLU 7 Dropout(0.2) 8 Linear(256,10); input [N, 784]
//   cnn: 0 Conv2d(1,32,3,p=1) 1 BatchNorm2d(32) 2 ReLU 3 MaxPool2d(2) 4 Conv2d(32,64,3,p=1)
//        5 BatchNorm2d(64) 6 ReLU 7 MaxPool2d(2) 8 Flatten 9 Dropout(0.25) 10 Linear(3136,128)
//        11 ReLU 12 Linear(128,10); input [N, 1, 28, 28]
#pragma once

#include <memory>
#include <string>

#include "ember.h"

namespace fashion {

std::shared_ptr<ember::nn::Sequential> make_model(const std::string& name);
// Images [N, 1, 28, 28] in [0, 1] -> the model's input layout.
ember::Tensor model_input(const std::string& name, const ember::Tensor& images);

}  // namespace fashion
