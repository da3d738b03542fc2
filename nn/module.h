// nn::Module: parameters, buffers and children registered by name, train/eval, state dicts.
//
//   class Net : public nn::Module {
//    public:
//     Net() : Module("Net") { fc = register_module("fc", std::make_shared<nn::Linear>(4, 2)); }
//     Tensor forward(const Tensor& x) override { return fc->forward(x); }
//     std::shared_ptr<nn::Linear> fc;
//   };
//
// Names contain no '.'; a state dict names entries by dotted paths ("0.weight",
// "1.running_mean") exactly as PyTorch, so state dicts move between the two. Modules never
// mention devices beyond to(Device).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "io/stateful.h"
#include "io/value.h"

namespace ember::nn {

// What load_state_dict(strict = false) could not match.
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module : public std::enable_shared_from_this<Module>, public io::Stateful {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The one-input forward that Sequential chains; modules with other signatures add their own.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  // "Linear", "Sequential", ...: PyTorch's class name, used in printing and by the registry.
  const std::string& type_name() const { return type_name_; }
  // The layer's options as JSON (empty for modules without options); see nn/registry.h.
  virtual nlohmann::json config() const { return nlohmann::json::object(); }
  // The text inside the parentheses when printed: "in_features=4, out_features=2, bias=True".
  virtual std::string extra_repr() const { return ""; }
  // The state dict version PyTorch records for this module in `_metadata` (BatchNorm: 2).
  virtual int64_t state_dict_version() const { return 1; }

  // --- registration: each returns what it registered ---
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  // A persistent buffer is saved in the state dict (running stats); a non-persistent one is not.
  Tensor register_buffer(const std::string& name, Tensor tensor, bool persistent = true);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // --- traversal (registration order; dotted names relative to this module) ---
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  std::vector<std::shared_ptr<Module>> children() const;
  // This module (named "") and every descendant, depth first.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();
  // The registered parameter, buffer or child of that name; throws naming the module if absent.
  Tensor parameter(const std::string& name) const;
  Tensor buffer(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;

  // --- modes ---
  // Sets training mode here and in every descendant (a flag only: NoGradGuard is separate).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Clears gradients: to undefined (set_to_none, the default, as PyTorch 2) or to zeros.
  void zero_grad(bool set_to_none = true);
  // Converts every parameter and buffer in place (the handles members hold see the change);
  // to(dtype) converts floating-point tensors only, as PyTorch.
  void to(DType dtype);
  void to(Device device);
  // Calls fn on every descendant and then on this module.
  void apply(const std::function<void(Module&)>& fn);

  // --- state dicts (PyTorch layout) ---
  // state_dict(): an OrderedDict of detached parameters and persistent buffers, with `_metadata`
  // as PyTorch writes it.
  io::Value state_dict() const override;
  // Copies values into the existing tensors (optimizers keep their references). strict: throws
  // naming every missing, unexpected and shape-mismatched key. Non-strict: returns missing and
  // unexpected keys; a shape mismatch still throws.
  LoadResult load_state_dict(const io::Value& state_dict, bool strict);
  // Stateful: a strict load.
  void load_state_dict(const io::Value& state_dict) override { load_state_dict(state_dict, true); }

  // Multi-line PyTorch-style tree.
  std::string repr() const;

 protected:
  // Upgrades an older state dict in place before matching (BatchNorm adds num_batches_tracked
  // to version-1 dicts). `version` is the module's `_metadata` version, if recorded.
  virtual void upgrade_state_dict(io::Dict& dict, const std::string& prefix, std::optional<int64_t> version) const {}
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  struct Entry {
    std::string name;
    Tensor tensor;
    bool persistent = true;
  };
  static void check_name(const std::string& name, const char* what);
  void check_unique(const std::string& name) const;
  void collect_state(const std::string& prefix, io::Dict& out, io::Dict& metadata) const;
  void match_state(const std::string& prefix, io::Dict& dict, const io::Dict* metadata,
                   std::vector<std::string>& missing, std::vector<std::string>& mismatched,
                   std::vector<std::pair<Tensor, Tensor>>& copies) const;
  void for_each_tensor(const std::function<void(Tensor&)>& fn);

  std::string type_name_;
  bool training_ = true;
  std::vector<Entry> parameters_;
  std::vector<Entry> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

// Removes `prefix` from every key that starts with it (the "module." DataParallel adds),
// in the dict and its `_metadata`, as torch.nn.modules.utils.consume_prefix_in_state_dict_if_present.
void consume_prefix_in_state_dict_if_present(io::Value& state_dict, const std::string& prefix);
// The reverse: prepends `prefix` to every key.
void add_prefix_to_state_dict(io::Value& state_dict, const std::string& prefix);

}  // namespace ember::nn
