// Sequential, ModuleList and ModuleDict: modules that hold other modules.
#pragma once

#include <initializer_list>

#include "nn/module.h"

namespace ember::nn {

// Chains its children's forward; children are named "0", "1", ... as in PyTorch, so state dict
// keys match torch.nn.Sequential's ("0.weight", "1.running_mean", ...). A BatchNorm1d/2d directly
// followed by a ReLU runs as one fused op (BatchNorm::forward_relu): the same values and
// gradients, bit for bit, one pass over the activations fewer each way; and followed by a ReLU
// and a 2x2 stride-2 MaxPool2d, as another (BatchNorm::forward_relu_max_pool), which never writes
// the activations out.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  template <class... Ms>
  explicit Sequential(std::shared_ptr<Ms>... modules) : Sequential({std::shared_ptr<Module>(modules)...}) {}

  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Module> operator[](size_t i) const;
  size_t size() const { return children().size(); }
};

// A list of modules, registered as "0", "1", ...; it has no forward of its own.
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> module);
  std::shared_ptr<Module> operator[](size_t i) const;
  size_t size() const { return children().size(); }
};

// Modules by name, in insertion order; it has no forward of its own.
class ModuleDict : public Module {
 public:
  ModuleDict() : Module("ModuleDict") {}
  void insert(const std::string& name, std::shared_ptr<Module> module) { add_child(name, std::move(module)); }
  std::shared_ptr<Module> operator[](const std::string& name) const { return child(name); }
  bool contains(const std::string& name) const;
  size_t size() const { return children().size(); }
};

}  // namespace ember::nn
