#include "nn/containers.h"

namespace ember::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) { add_child(std::to_string(size()), std::move(module)); }

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& m : children()) h = m->forward(h);
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
