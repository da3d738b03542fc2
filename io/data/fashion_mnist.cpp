#include "io/data/fashion_mnist.h"

#include <sys/stat.h>

#include "core/ops/arithmetic.h"
#include "core/ops/factories.h"
#include "core/ops/indexing.h"
#include "core/ops/reduce.h"
#include "io/data/idx.h"

namespace ember::io {

namespace {
Tensor read_required(const std::string& path) {
  struct stat st {};
  EMBER_CHECK_VALUE(stat(path.c_str(), &st) == 0, "Fashion-MNIST file not found: ", path,
                    " (install the Debian package dataset-fashion-mnist: scripts/setup does)");
  return read_idx(path);
}
}  // namespace

FashionMnist::FashionMnist(Split split, const std::string& dir) {
  std::string stem = split == Split::Train ? "train" : "t10k";
  std::string images_path = dir + "/" + stem + "-images-idx3-ubyte.gz";
  std::string labels_path = dir + "/" + stem + "-labels-idx1-ubyte.gz";
  images_ = read_required(images_path);
  Tensor labels = read_required(labels_path);
  EMBER_CHECK_VALUE(images_.dim() == 3 && images_.size(1) == 28 && images_.size(2) == 28, images_path,
                    ": expected images of shape [N, 28, 28], found ", images_.sizes());
  EMBER_CHECK_VALUE(labels.dim() == 1 && labels.size(0) == images_.size(0), labels_path, ": expected ", images_.size(0),
                    " labels to match ", images_path, ", found shape ", labels.sizes());
  EMBER_CHECK_VALUE(labels.numel() == 0 || max(labels).item() <= 9, labels_path, ": labels must be 0..9, found ",
                    max(labels).item());
  labels_ = labels.to(kInt64);
}

Batch FashionMnist::get_batch(const std::vector<int64_t>& indices) const {
  Tensor idx = tensor(indices);
  Tensor pixels = index_select(images_, 0, idx).to(kFloat32);  // [B, 28, 28]
  return {div(pixels, 255.0).unsqueeze(1), index_select(labels_, 0, idx)};
}

}  // namespace ember::io
