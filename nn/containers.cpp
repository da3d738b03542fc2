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
}  // namespace

Tensor Sequential::forward(const Tensor& x) {
  const auto& modules = children();
  Tensor h = x;
  for (size_t i = 0; i < modules.size(); ++i) {
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
