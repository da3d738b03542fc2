// Optimizer: param groups with their own hyper-parameters, per-parameter state keyed by index,
// zero_grad, step, and state dicts in PyTorch's exact layout:
//   {"state": {0: {"step": tensor(3.), "exp_avg": ..., ...}, ...},
//    "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1, ...]}]}
// Hyper-parameters live in each group's io::Dict with PyTorch's key order and value types (an unset
// SGD momentum is the int 0, as in PyTorch), so a state dict round-trips through torch.load and
// torch.save unchanged. Subclasses write only the per-parameter update.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/stateful.h"
#include "io/value.h"

namespace ember::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  io::Dict options;  // hyper-parameters; missing keys are filled from the optimizer's defaults

  double number(const std::string& key) const { return options.at(key).to_double(); }
  bool flag(const std::string& key) const { return options.at(key).to_bool(); }
  double lr() const { return number("lr"); }
  void set_lr(double lr) { options.insert("lr", lr); }
};

class Optimizer : public io::Stateful {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Applies one update to every parameter that has a gradient (without recording autograd).
  void step();
  // Clears the gradients of every parameter (to undefined by default, as PyTorch 2).
  void zero_grad(bool set_to_none = true);
  // Adds a group; `options` override the defaults. A parameter may belong to one group only.
  void add_param_group(std::vector<Tensor> params, io::Dict options = {});

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  const io::Dict& defaults() const { return defaults_; }
  const std::string& name() const { return name_; }
  // The state of parameter `index` (position across all groups), created empty on first use.
  io::Dict& state(int64_t index) { return state_[index]; }
  int64_t num_params() const;

  io::Value state_dict() const override;
  // Checks the group count, each group's parameter count and every state tensor's shape against
  // this optimizer and names what differs; then replaces state and hyper-parameters (state tensors
  // are copied and converted to their parameter's dtype, except "step").
  void load_state_dict(const io::Value& state_dict) override;

 protected:
  // Throws ValueError for invalid hyper-parameters ("Adam: invalid beta parameter at index 1 ...").
  // A function, not a virtual: the base constructor validates the groups before the subclass exists.
  using Validator = std::function<void(const io::Dict& options)>;
  Optimizer(std::string name, io::Dict defaults, std::vector<ParamGroup> groups, Validator validate);
  // Updates `param` from param.grad(). Called under NoGradGuard.
  virtual void update(const ParamGroup& group, Tensor& param, io::Dict& state) = 0;

 private:
  std::string name_;
  Validator validate_;
  io::Dict defaults_;
  std::vector<ParamGroup> groups_;
  std::map<int64_t, io::Dict> state_;
};

// Shared validation helpers: "SGD: invalid learning rate -1: expected >= 0".
void check_non_negative(const std::string& optimizer, const io::Dict& options, const char* key, const char* what);

}  // namespace ember::optim
