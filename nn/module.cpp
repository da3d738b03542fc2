#include "nn/module.h"

#include <sstream>
#include <unordered_set>

#include "core/autograd/grad_mode.h"

namespace ember::nn {

Tensor Module::forward(const Tensor&) {
  throw Error(str(type_name_, " has no forward(Tensor): call its own forward method"));
}

void Module::check_name(const std::string& name, const char* what) {
  EMBER_CHECK_VALUE(!name.empty(), what, " name can't be empty");
  EMBER_CHECK_VALUE(name.find('.') == std::string::npos, what, " name can't contain '.', found '", name, "'");
}

void Module::check_unique(const std::string& name) const {
  auto taken = [&](const auto& list) {
    for (const auto& e : list)
      if (e.first == name) return true;
    return false;
  };
  bool dup = taken(children_);
  for (const Entry& e : parameters_) dup = dup || e.name == name;
  for (const Entry& e : buffers_) dup = dup || e.name == name;
  EMBER_CHECK_VALUE(!dup, type_name_, ": attribute '", name, "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_name(name, "parameter");
  check_unique(name);
  if (tensor.defined()) {
    EMBER_CHECK_VALUE(tensor.is_leaf(), type_name_, ": parameter '", name,
                      "' must be a leaf tensor; pass tensor.detach()");
    tensor.requires_grad_(requires_grad);
  }
  parameters_.push_back({name, tensor, true});
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor, bool persistent) {
  check_name(name, "buffer");
  check_unique(name);
  buffers_.push_back({name, tensor, persistent});
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, "module");
  check_unique(name);
  EMBER_CHECK_VALUE(module != nullptr, type_name_, ": module '", name, "' is null");
  children_.emplace_back(name, std::move(module));
}

namespace {
using Named = std::vector<std::pair<std::string, Tensor>>;
std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }
}  // namespace

Named Module::named_parameters(bool recurse) const {
  Named out;
  std::unordered_set<const TensorImpl*> seen;  // a shared parameter is listed once
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
    for (const Entry& e : m.parameters_)
      if (e.tensor.defined() && seen.insert(e.tensor.impl()).second) out.emplace_back(join(prefix, e.name), e.tensor);
    if (recurse)
      for (const auto& [name, child] : m.children_) walk(*child, join(prefix, name));
  };
  walk(*this, "");
  return out;
}

Named Module::named_buffers(bool recurse) const {
  Named out;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
    for (const Entry& e : m.buffers_)
      if (e.tensor.defined()) out.emplace_back(join(prefix, e.name), e.tensor);
    if (recurse)
      for (const auto& [name, child] : m.children_) walk(*child, join(prefix, name));
  };
  walk(*this, "");
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::function<void(const std::shared_ptr<Module>&, const std::string&)> walk = [&](const std::shared_ptr<Module>& m,
                                                                                    const std::string& prefix) {
    out.emplace_back(prefix, m);
    for (const auto& [name, child] : m->children_) walk(child, join(prefix, name));
  };
  // A module created on the stack has no shared owner: alias it without taking ownership.
  std::shared_ptr<Module> self = weak_from_this().lock();
  if (!self) self = std::shared_ptr<Module>(std::shared_ptr<Module>(), this);
  walk(self, "");
  return out;
}

Tensor Module::parameter(const std::string& name) const {
  for (const Entry& e : parameters_)
    if (e.name == name) return e.tensor;
  throw ValueError(str(type_name_, " has no parameter '", name, "'"));
}

Tensor Module::buffer(const std::string& name) const {
  for (const Entry& e : buffers_)
    if (e.name == name) return e.tensor;
  throw ValueError(str(type_name_, " has no buffer '", name, "'"));
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (const auto& [n, c] : children_)
    if (n == name) return c;
  throw ValueError(str(type_name_, " has no submodule '", name, "'"));
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      NoGradGuard no_grad;
      p.grad().zero_();
    }
  }
}

void Module::for_each_tensor(const std::function<void(Tensor&)>& fn) {
  for (Entry& e : parameters_)
    if (e.tensor.defined()) fn(e.tensor);
  for (Entry& e : buffers_)
    if (e.tensor.defined()) fn(e.tensor);
  for (auto& [name, child] : children_) child->for_each_tensor(fn);
}

namespace {
// Points t's impl at converted's data, so every handle to t sees the conversion.
void replace_data(Tensor& t, const Tensor& converted) {
  TensorImpl* impl = t.impl();
  impl->storage = converted.storage();
  impl->offset = converted.storage_offset();
  impl->sizes = converted.sizes();
  impl->strides = converted.strides();
  impl->dtype = converted.dtype();
  impl->grad = nullptr;
}
}  // namespace

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  for_each_tensor([&](Tensor& t) {
    if (t.is_floating_point() && t.dtype() != dtype) replace_data(t, t.detach().to(dtype));
  });
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for_each_tensor([&](Tensor& t) {
    if (t.device() != device) replace_data(t, t.detach().to(device));
  });
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

// ---- state dicts ----

void Module::collect_state(const std::string& prefix, io::Dict& out, io::Dict& metadata) const {
  io::Dict version;
  version.insert("version", state_dict_version());
  metadata.insert(prefix, io::Value(std::move(version)));
  for (const Entry& e : parameters_)
    if (e.tensor.defined()) out.insert(join(prefix, e.name), e.tensor.detach());
  for (const Entry& e : buffers_)
    if (e.tensor.defined() && e.persistent) out.insert(join(prefix, e.name), e.tensor.detach());
  for (const auto& [name, child] : children_) child->collect_state(join(prefix, name), out, metadata);
}

io::Value Module::state_dict() const {
  io::Dict out(true);
  io::Dict metadata(true);
  collect_state("", out, metadata);
  out.attributes = std::make_shared<io::Dict>();
  out.attributes->insert("_metadata", io::Value(std::move(metadata)));
  return io::Value(std::move(out));
}

void Module::match_state(const std::string& prefix, io::Dict& dict, const io::Dict* metadata,
                         std::vector<std::string>& missing, std::vector<std::string>& mismatched,
                         std::vector<std::pair<Tensor, Tensor>>& copies) const {
  std::optional<int64_t> version;
  if (metadata)
    if (const io::Value* m = metadata->find(prefix); m && m->is_dict() && m->contains("version") && m->at("version").is_int())
      version = m->at("version").to_int();
  upgrade_state_dict(dict, prefix.empty() ? "" : prefix + ".", version);
  auto match = [&](const Entry& e) {
    std::string key = join(prefix, e.name);
    const io::Value* v = dict.find(key);
    if (!v) {
      missing.push_back(key);
      return;
    }
    if (!v->is_tensor()) {
      mismatched.push_back(str(key, ": expected a Tensor, found ", v->type_name()));
    } else if (v->to_tensor().sizes() != e.tensor.sizes()) {
      mismatched.push_back(str(key, ": expected shape ", e.tensor.sizes(), ", found ", v->to_tensor().sizes()));
    } else {
      copies.emplace_back(e.tensor, v->to_tensor());
    }
    dict.erase(key);
  };
  for (const Entry& e : parameters_)
    if (e.tensor.defined()) match(e);
  for (const Entry& e : buffers_)
    if (e.tensor.defined() && e.persistent) match(e);
  for (const auto& [name, child] : children_) child->match_state(join(prefix, name), dict, metadata, missing, mismatched, copies);
}

LoadResult Module::load_state_dict(const io::Value& state_dict, bool strict) {
  EMBER_CHECK_VALUE(state_dict.is_dict(), "load_state_dict: expected a dict of tensors, found ", state_dict.type_name());
  io::Dict remaining = state_dict.dict();  // a copy: matching consumes keys
  const io::Dict* metadata = nullptr;
  if (state_dict.dict().attributes)
    if (const io::Value* m = state_dict.dict().attributes->find("_metadata"); m && m->is_dict()) metadata = &m->dict();
  LoadResult result;
  std::vector<std::string> mismatched;
  std::vector<std::pair<Tensor, Tensor>> copies;
  match_state("", remaining, metadata, result.missing_keys, mismatched, copies);
  result.unexpected_keys = remaining.string_keys();
  bool failed = !mismatched.empty() || (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty()));
  if (failed) {  // nothing has been copied yet: a failed load leaves the module as it was
    std::ostringstream os;
    os << "Error(s) in loading state_dict for " << type_name_ << ":";
    auto list = [&](const char* what, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      os << "\n  " << what << ": ";
      for (size_t i = 0; i < keys.size(); ++i) os << (i ? ", " : "") << '"' << keys[i] << '"';
    };
    if (strict) {
      list("Missing key(s) in state_dict", result.missing_keys);
      list("Unexpected key(s) in state_dict", result.unexpected_keys);
    }
    for (const std::string& m : mismatched) os << "\n  size mismatch for " << m;
    throw ValueError(os.str());
  }
  NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);
  return result;
}

// ---- printing ----

std::string Module::repr() const {
  std::ostringstream os;
  os << type_name_ << '(';
  std::string extra = extra_repr();
  if (children_.empty()) return os.str() + extra + ")";
  os << '\n';
  if (!extra.empty()) os << "  " << extra << '\n';
  for (const auto& [name, child] : children_) {
    std::string inner = child->repr(), indented;
    for (char c : inner) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
    os << "  (" << name << "): " << indented << '\n';
  }
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.repr(); }

// ---- prefixes ----

namespace {
void rename_keys(io::Dict& dict, const std::function<std::optional<std::string>(const std::string&)>& rename) {
  io::Dict out(dict.ordered());
  for (auto& [k, v] : dict) {
    std::optional<std::string> renamed = k.is_string() ? rename(k.str()) : std::nullopt;
    out.insert(renamed ? io::Key(*renamed) : k, v);
  }
  out.attributes = dict.attributes;
  dict = std::move(out);
}
}  // namespace

void consume_prefix_in_state_dict_if_present(io::Value& state_dict, const std::string& prefix) {
  auto strip = [&](const std::string& k) -> std::optional<std::string> {
    if (k.rfind(prefix, 0) == 0) return k.substr(prefix.size());
    return std::nullopt;
  };
  rename_keys(state_dict.dict(), strip);
  if (auto& attrs = state_dict.dict().attributes; attrs && attrs->contains("_metadata")) {
    std::string bare = prefix.size() && prefix.back() == '.' ? prefix.substr(0, prefix.size() - 1) : prefix;
    rename_keys((*attrs)["_metadata"].dict(), [&](const std::string& k) -> std::optional<std::string> {
      if (k == bare) return std::string();
      return strip(k);
    });
  }
}

void add_prefix_to_state_dict(io::Value& state_dict, const std::string& prefix) {
  rename_keys(state_dict.dict(), [&](const std::string& k) -> std::optional<std::string> { return prefix + k; });
  if (auto& attrs = state_dict.dict().attributes; attrs && attrs->contains("_metadata")) {
    std::string bare = prefix.size() && prefix.back() == '.' ? prefix.substr(0, prefix.size() - 1) : prefix;
    rename_keys((*attrs)["_metadata"].dict(), [&](const std::string& k) -> std::optional<std::string> {
      return k.empty() ? bare : prefix + k;
    });
  }
}

}  // namespace ember::nn
