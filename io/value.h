// io::Value: what save() writes and load() returns — the currency of every state dict.
//
// A Value is None, bool, int (int64), double, string, bytes, Tensor (or nn.Parameter), List, Tuple
// or Dict (ordered; keys are strings or ints), plus the torch values checkpoints carry:
// torch.Size, torch.device, torch.dtype and a bare typed storage (torch.save([t.storage()])). Containers have reference semantics, as in Python: copying a Value that holds a
// Dict shares the Dict. A Dict remembers whether it was an OrderedDict (or a Counter) and keeps the attributes
// that PyTorch sets on one (a state_dict's `_metadata`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace ember::io {

class Value;
class Dict;
using List = std::vector<Value>;
struct Tuple {
  std::vector<Value> items;
};

// A dict key: a string or an int (optimizer state is keyed by parameter index).
class Key {
 public:
  Key(std::string s) : v_(std::move(s)) {}  // NOLINT
  Key(const char* s) : v_(std::string(s)) {}  // NOLINT
  Key(int64_t i) : v_(i) {}                   // NOLINT
  Key(int i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_int() const { return !is_string(); }
  const std::string& str() const;
  int64_t to_int() const;
  bool operator==(const Key& o) const { return v_ == o.v_; }
  // "'name'" for strings, "3" for ints: as Python prints keys in a path.
  std::string repr() const;

 private:
  std::variant<int64_t, std::string> v_;
};

class Value {
 public:
  enum class Kind { None, Bool, Int, Double, String, Tensor, List, Tuple, Dict, Size, Device, DType, Bytes, Storage };

  Value() = default;
  Value(bool b) : v_(b) {}                                  // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}             // NOLINT
  Value(int64_t i) : v_(i) {}                               // NOLINT
  Value(double d) : v_(d) {}                                // NOLINT
  Value(const char* s) : v_(std::string(s)) {}              // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                // NOLINT
  Value(Tensor t) : v_(std::move(t)) {}                     // NOLINT
  Value(List l);                                            // NOLINT
  Value(Tuple t);                                           // NOLINT
  Value(Dict d);                                            // NOLINT
  static Value torch_size(Shape sizes);
  static Value torch_device(std::string location);  // "cpu", "cuda:0", ...
  static Value torch_dtype(std::string name);       // "float32", ...
  static Value bytes(std::string data);              // Python bytes (any octets), not str
  // An nn.Parameter saved outside a state dict: a tensor that pickles as torch._utils._rebuild_parameter
  // (its requires_grad is the tensor's). is_tensor() and to_tensor() work as for any tensor.
  static Value parameter(Tensor t);
  // A bare storage (torch.FloatStorage, ...): its bytes viewed as `dtype`; tensors that view the
  // same Storage share it in the file.
  static Value storage(Storage storage, DType dtype);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_none() const { return kind() == Kind::None; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_double() const { return kind() == Kind::Double; }
  bool is_string() const { return kind() == Kind::String; }
  bool is_tensor() const { return kind() == Kind::Tensor; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_tuple() const { return kind() == Kind::Tuple; }
  bool is_dict() const { return kind() == Kind::Dict; }
  bool is_bytes() const { return kind() == Kind::Bytes; }
  bool is_parameter() const { return parameter_; }
  bool is_storage() const { return kind() == Kind::Storage; }
  // Python's name for the kind: "NoneType", "int", "dict", "Tensor", "torch.Size", ...
  std::string type_name() const;

  // Typed access; each throws ValueError naming the expected and the found kind.
  bool to_bool() const;
  int64_t to_int() const;
  double to_double() const;  // an int is accepted
  const std::string& to_string() const;
  const Tensor& to_tensor() const;
  List& list();
  const List& list() const;
  std::vector<Value>& tuple();
  const std::vector<Value>& tuple() const;
  Dict& dict();
  const Dict& dict() const;
  const Shape& torch_size() const;
  const std::string& torch_device() const;
  const std::string& torch_dtype() const;
  const std::string& to_bytes() const;
  const Storage& storage() const;
  DType storage_dtype() const;
  // A bare storage's elements as a flat tensor over all of them, sharing the bytes.
  Tensor storage_as_tensor() const;

  // Dict shortcuts: v["epoch"] = 3 (inserts), v.at("epoch") (throws naming the key if missing).
  Value& operator[](const Key& key);
  const Value& at(const Key& key) const;
  bool contains(const Key& key) const;
  // List/tuple element.
  const Value& at_index(size_t i) const;
  // Elements of a list, tuple or dict.
  size_t size() const;

 private:
  struct Tagged {  // the torch-specific scalar kinds
    Shape size;
    std::string name;
  };
  struct BareStorage {
    Storage storage;
    DType dtype;
  };
  std::variant<std::monostate, bool, int64_t, double, std::string, Tensor, std::shared_ptr<List>,
               std::shared_ptr<Tuple>, std::shared_ptr<Dict>, std::shared_ptr<Tagged>,
               std::shared_ptr<Tagged>, std::shared_ptr<Tagged>, std::shared_ptr<Tagged>, std::shared_ptr<BareStorage>>
      v_;
  bool parameter_ = false;  // with Kind::Tensor: an nn.Parameter
};

// An insertion-ordered dict. Lookup is by hash; iteration is in insertion order.
class Dict {
 public:
  using Item = std::pair<Key, Value>;
  Dict() = default;
  explicit Dict(bool ordered) : ordered_(ordered) {}

  bool ordered() const { return ordered_; }  // an OrderedDict (PyTorch state_dicts are)
  void set_ordered(bool o) { ordered_ = o; }
  // A collections.Counter (MultiStepLR's milestones): pickled as Counter({...}) so that PyTorch
  // gets the class it indexes with missing keys. Mutually exclusive with ordered().
  bool counter() const { return counter_; }
  void set_counter(bool c) { counter_ = c; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool contains(const Key& key) const { return find(key) != nullptr; }
  Value* find(const Key& key);
  const Value* find(const Key& key) const;
  const Value& at(const Key& key) const;  // throws ValueError naming the key
  Value& operator[](const Key& key);      // inserts None when missing
  // Sets key to value (replacing in place, keeping the position, if present).
  void insert(const Key& key, Value value);
  bool erase(const Key& key);
  void clear();
  std::vector<Item>::iterator begin() { return items_.begin(); }
  std::vector<Item>::iterator end() { return items_.end(); }
  std::vector<Item>::const_iterator begin() const { return items_.begin(); }
  std::vector<Item>::const_iterator end() const { return items_.end(); }
  std::vector<std::string> string_keys() const;

  // Attributes set on an OrderedDict by pickle's BUILD (a state_dict's `_metadata`); null if none.
  std::shared_ptr<Dict> attributes;

 private:
  static std::string index_key(const Key& k);
  bool ordered_ = false, counter_ = false;
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;
};

// Empties every container reachable from `value` and resets it: breaks the reference cycles a
// rejected (hostile) pickle may have built, which shared ownership would otherwise leak.
void release(Value& value);

// A readable one-line summary for errors and debugging: {'a': Tensor[float32, [2, 3]], 'b': 1}.
std::string summary(const Value& v);

}  // namespace ember::io
