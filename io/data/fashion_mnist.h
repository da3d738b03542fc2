// Fashion-MNIST from Debian's dataset-fashion-mnist package (gzip'd IDX files).
#pragma once

#include <string>

#include "io/data/dataset.h"

namespace ember::io {

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// The train (60000) or test (10000) split: inputs float32 [N, 1, 28, 28] scaled to [0, 1] (pixels
// / 255), targets int64 [N] in 0..9. A missing file gives an error naming the path and the Debian
// package that provides it; a corrupt one an error naming what is wrong.
class FashionMnist : public Dataset {
 public:
  enum class Split { Train, Test };
  explicit FashionMnist(Split split, const std::string& dir = kFashionMnistDir);
  int64_t size() const override { return labels_.size(0); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  const Tensor& images() const { return images_; }  // uint8 [N, 28, 28]
  const Tensor& labels() const { return labels_; }  // int64 [N]

  static constexpr const char* kClassNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

 private:
  Tensor images_, labels_;
};

}  // namespace ember::io
