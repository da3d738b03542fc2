#include "optim/optimizer.h"

#include <algorithm>
#include <unordered_set>

#include "core/autograd/grad_mode.h"

namespace ember::optim {

namespace {

// What tells optimizers' state dicts apart (PyTorch's carry no class name): hyper-parameter keys
// only one family has, and the per-parameter state entries it keeps. Families ember lacks are
// listed so that an error can name where a state came from.
struct Family {
  const char* name;
  std::vector<std::string> signature;   // param_group keys that identify the family
  std::vector<std::string> state_keys;  // per-parameter state entries
};
const std::vector<Family>& families() {
  static const std::vector<Family> f = {
      {"SGD", {"momentum", "dampening", "nesterov"}, {"momentum_buffer"}},
      {"Adam/AdamW", {"betas", "amsgrad"}, {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {"RMSprop", {"alpha", "centered"}, {"step", "square_avg", "momentum_buffer", "grad_avg"}},
      {"Adagrad", {"lr_decay", "initial_accumulator_value"}, {"step", "sum"}},
      {"Adadelta", {"rho"}, {}},
      {"ASGD", {"lambd", "t0"}, {}},
      {"Rprop", {"etas", "step_sizes"}, {}},
      {"NAdam", {"momentum_decay"}, {}},
      {"LBFGS", {"max_iter", "history_size"}, {}},
      {"Adamax", {"betas"}, {}},
  };
  return f;
}

bool has_all(const io::Dict& d, const std::vector<std::string>& keys) {
  for (const std::string& k : keys)
    if (!d.contains(k)) return false;
  return !keys.empty();
}

const Family* family_of(const io::Dict& options) {
  for (const Family& f : families())
    if (has_all(options, f.signature)) return &f;
  return nullptr;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "'" : ", '") + x + "'";
  return s;
}

}  // namespace

void check_non_negative(const std::string& optimizer, const io::Dict& options, const char* key, const char* what) {
  double v = options.at(key).to_double();
  EMBER_CHECK_VALUE(v >= 0.0, optimizer, ": invalid ", what, " ", v, ": expected >= 0");
}

Optimizer::Optimizer(std::string name, io::Dict defaults, std::vector<ParamGroup> groups, Validator validate)
    : name_(std::move(name)), validate_(std::move(validate)), defaults_(std::move(defaults)) {
  EMBER_CHECK_VALUE(!groups.empty(), name_, ": got an empty parameter list");
  for (ParamGroup& g : groups) add_param_group(std::move(g.params), std::move(g.options));
}

void Optimizer::add_param_group(std::vector<Tensor> params, io::Dict options) {
  EMBER_CHECK_VALUE(!params.empty(), name_, ": a parameter group needs at least one parameter");
  std::unordered_set<const TensorImpl*> seen;
  for (const ParamGroup& g : groups_)
    for (const Tensor& p : g.params) seen.insert(p.impl());
  for (const Tensor& p : params) {
    EMBER_CHECK_VALUE(p.defined() && p.is_leaf(), name_, ": can only optimize defined leaf tensors");
    EMBER_CHECK_VALUE(p.is_floating_point(), name_, ": can only optimize floating-point tensors, found ", p.dtype());
    EMBER_CHECK_VALUE(seen.insert(p.impl()).second, name_, ": some parameters appear in more than one parameter group");
  }
  // Defaults first, in their order; then the group's own extra keys.
  ParamGroup group;
  group.params = std::move(params);
  group.options = io::Dict();
  for (const auto& [k, v] : defaults_) group.options.insert(k, options.contains(k) ? options.at(k) : v);
  for (const auto& [k, v] : options)
    if (!group.options.contains(k)) group.options.insert(k, v);
  validate_(group.options);
  groups_.push_back(std::move(group));
}

int64_t Optimizer::num_params() const {
  int64_t n = 0;
  for (const ParamGroup& g : groups_) n += static_cast<int64_t>(g.params.size());
  return n;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  int64_t index = 0;
  for (ParamGroup& g : groups_)
    for (Tensor& p : g.params) {
      if (p.grad().defined()) update(g, p, state_[index]);
      ++index;
    }
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (ParamGroup& g : groups_)
    for (Tensor& p : g.params) {
      if (!p.grad().defined()) continue;
      if (set_to_none) p.set_grad(Tensor());
      else p.grad().zero_();
    }
}

io::Value Optimizer::state_dict() const {
  io::Dict state;
  for (const auto& [index, s] : state_)
    if (!s.empty()) state.insert(index, io::Value(s));
  io::List groups;
  int64_t index = 0;
  for (const ParamGroup& g : groups_) {
    io::Dict d = g.options;
    io::List ids;
    for (size_t i = 0; i < g.params.size(); ++i) ids.push_back(index++);
    d.insert("params", io::Value(std::move(ids)));
    groups.push_back(io::Value(std::move(d)));
  }
  io::Dict out;
  out.insert("state", io::Value(std::move(state)));
  out.insert("param_groups", io::Value(std::move(groups)));
  return io::Value(std::move(out));
}

void Optimizer::load_state_dict(const io::Value& sd) {
  EMBER_CHECK_VALUE(sd.is_dict() && sd.contains("state") && sd.contains("param_groups"), name_,
                    ".load_state_dict: expected a dict with 'state' and 'param_groups', found ", io::summary(sd).substr(0, 200));
  const io::List& groups = sd.at("param_groups").list();
  EMBER_CHECK_VALUE(groups.size() == groups_.size(), name_, ".load_state_dict: the state has ", groups.size(),
                    " parameter groups, this optimizer has ", groups_.size());
  std::vector<Tensor> params;  // by global index
  for (size_t g = 0; g < groups.size(); ++g) {
    size_t n = groups[g].at("params").list().size();
    EMBER_CHECK_VALUE(n == groups_[g].params.size(), name_, ".load_state_dict: param_groups[", g, "] has ", n,
                      " parameters in the state, ", groups_[g].params.size(), " in this optimizer");
    for (const Tensor& p : groups_[g].params) params.push_back(p);
  }
  // Another optimizer's state (Adam given SGD's): refuse, naming both.
  const Family* mine = family_of(defaults_);
  if (mine)
    for (size_t g = 0; g < groups.size(); ++g) {
      EMBER_CHECK_VALUE(groups[g].is_dict(), name_, ".load_state_dict: param_groups[", g, "] is a ", groups[g].type_name(), ", not a dict");
      const io::Dict& keys = groups[g].dict();
      if (has_all(keys, mine->signature)) continue;
      const Family* theirs = family_of(keys);
      std::vector<std::string> names;
      for (const auto& [k, v] : keys)
        if (k.is_string() && k.str() != "params") names.push_back(k.str());
      throw ValueError(str(name_, ".load_state_dict: this is the state of ",
                           theirs ? str("an ", theirs->name, " optimizer") : std::string("another optimizer"),
                           ", not of ", name_, ": its param_groups[", g, "] has ", joined(names), "; ", name_, "'s have ",
                           joined(mine->signature)));
    }
  // Validate everything before changing anything.
  std::map<int64_t, io::Dict> loaded;
  for (const auto& [key, value] : sd.at("state").dict()) {
    int64_t index = key.is_int() ? key.to_int() : std::stoll(key.str());
    EMBER_CHECK_VALUE(index >= 0 && index < static_cast<int64_t>(params.size()), name_, ".load_state_dict: state[",
                      index, "] names a parameter this optimizer does not have (", params.size(), " parameters)");
    const Tensor& p = params[index];
    EMBER_CHECK_VALUE(value.is_dict(), name_, ".load_state_dict: state[", index, "] is a ", value.type_name(), ", not a dict");
    io::Dict s;
    for (const auto& [k, v] : value.dict()) {
      EMBER_CHECK_VALUE(k.is_string(), name_, ".load_state_dict: state[", index, "] has a non-string key ", k.repr());
      std::string name = k.str();
      if (mine && std::find(mine->state_keys.begin(), mine->state_keys.end(), name) == mine->state_keys.end())
        throw ValueError(str(name_, ".load_state_dict: state[", index, "] holds '", name, "', which ", name_,
                             " does not keep (its per-parameter state: ", joined(mine->state_keys), ")"));
      bool number_step = name == "step" && (v.is_int() || v.is_double());
      bool empty_buffer = name == "momentum_buffer" && v.is_none();  // SGD without momentum
      EMBER_CHECK_VALUE(v.is_tensor() || number_step || empty_buffer, name_, ".load_state_dict: state[", index, "]['", name,
                        "']: expected a tensor, found ", v.type_name());
      if (v.is_tensor() && name != "step") {
        const Tensor& t = v.to_tensor();
        EMBER_CHECK_VALUE(t.sizes() == p.sizes(), name_, ".load_state_dict: state[", index, "]['", name,
                          "']: expected shape ", p.sizes(), " (the parameter's), found ", t.sizes());
        s.insert(k, t.detach().to(p.dtype()).to(p.device()).clone());
      } else if (v.is_tensor()) {
        EMBER_CHECK_VALUE(v.to_tensor().numel() == 1, name_, ".load_state_dict: state[", index, "]['step']: expected one number, found a tensor of shape ",
                          v.to_tensor().sizes());
        s.insert(k, v.to_tensor().detach().clone());
      } else {
        s.insert(k, v);
      }
    }
    loaded[index] = std::move(s);
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    io::Dict options = groups_[g].options;
    for (const auto& [k, v] : groups[g].dict())
      if (!(k.is_string() && k.str() == "params")) options.insert(k, v);
    validate_(options);
    groups_[g].options = std::move(options);
  }
  state_ = std::move(loaded);
}

}  // namespace ember::optim
