#include "nn/containers.h"

#include <typeinfo>

#include "nn/layers.h"
#include "nn/normalization.h"

namespace ember::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) { add_child(std::to_string(size()), std::move(module)); }

namespace {
// Exactly a BatchNorm1d/2d or a ReLU: a subclass may override forward, and then is run as written.
bool is_batch_norm(const Module& m) { return typeid(m) == typeid(BatchNorm1d) || typeid(m) == typeid(BatchNorm2d); }
bool is_relu(const Module& m) { return typeid(m) == typeid(ReLU); }
// Exactly a MaxPool2d of 2x2 windows, stride 2, no padding or dilation, floor mode.
bool is_max_pool_2x2(const Module& m) {
  if (typeid(m) != typeid(MaxPool2d)) return false;
  const Pool2dOptions& o = static_cast<const MaxPool2d&>(m).options;
  return o.kernel_size == Size2(2) && (o.stride_ == Size2(0) || o.stride_ == Size2(2)) && o.padding_ == Size2(0) &&
         o.dilation_ == Size2(1) && !o.ceil_mode_;
}
}  // namespace

Tensor Sequential::forward(const Tensor& x) {
  const auto& modules = children();
  Tensor h = x;
  for (size_t i = 0; i < modules.size(); ++i) {
    if (i + 2 < modules.size() && is_batch_norm(*modules[i]) && is_relu(*modules[i + 1]) && is_max_pool_2x2(*modules[i + 2])) {
      h = static_cast<BatchNorm&>(*modules[i]).forward_relu_max_pool(h);
      i += 2;
      continue;
    }
    if (i + 1 < modules.size() && is_batch_norm(*modules[i]) && is_relu(*modules[i + 1])) {
      h = static_cast<BatchNorm&>(*modules[i]).forward_relu(h);
      ++i;
      continue;
    }
    h = modules[i]->forward(h);
  }
  return h;
}

namespace {
std::shared_ptr<Module> at(const Module& m, size_t i, size_t n) {
  EMBER_CHECK_INDEX(i < n, m.type_name(), ": index ", i, " is out of range for ", n, " modules");
  return m.children()[i];
}
}  // namespace

std::shared_ptr<Module> Sequential::operator[](size_t i) const { return at(*this, i, size()); }

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) : ModuleList() {
  for (const auto& m : modules) push_back(m);
}
void ModuleList::push_back(std::shared_ptr<Module> module) { add_child(std::to_string(size()), std::move(module)); }
std::shared_ptr<Module> ModuleList::operator[](size_t i) const { return at(*this, i, size()); }

bool ModuleDict::contains(const std::string& name) const {
  for (const auto& [n, c] : named_children())
    if (n == name) return true;
  return false;
}

}  // namespace ember::nn
