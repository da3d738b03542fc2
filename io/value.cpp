#include "io/value.h"

#include <algorithm>
#include <sstream>

namespace ember::io {

const std::string& Key::str() const {
  EMBER_CHECK_VALUE(is_string(), "dict key: expected a string key, found int ", std::get<int64_t>(v_));
  return std::get<std::string>(v_);
}

int64_t Key::to_int() const {
  EMBER_CHECK_VALUE(is_int(), "dict key: expected an int key, found '", std::get<std::string>(v_), "'");
  return std::get<int64_t>(v_);
}

std::string Key::repr() const {
  return is_string() ? "'" + std::get<std::string>(v_) + "'" : std::to_string(std::get<int64_t>(v_));
}

Value::Value(List l) : v_(std::make_shared<List>(std::move(l))) {}
Value::Value(Tuple t) : v_(std::make_shared<Tuple>(std::move(t))) {}
Value::Value(Dict d) : v_(std::make_shared<Dict>(std::move(d))) {}

Value Value::torch_size(Shape sizes) {
  Value v;
  v.v_.emplace<static_cast<size_t>(Kind::Size)>(std::make_shared<Tagged>(Tagged{std::move(sizes), ""}));
  return v;
}
Value Value::torch_device(std::string location) {
  Value v;
  v.v_.emplace<static_cast<size_t>(Kind::Device)>(std::make_shared<Tagged>(Tagged{{}, std::move(location)}));
  return v;
}
Value Value::torch_dtype(std::string name) {
  Value v;
  v.v_.emplace<static_cast<size_t>(Kind::DType)>(std::make_shared<Tagged>(Tagged{{}, std::move(name)}));
  return v;
}

Value Value::bytes(std::string data) {
  Value v;
  v.v_.emplace<static_cast<size_t>(Kind::Bytes)>(std::make_shared<Tagged>(Tagged{{}, std::move(data)}));
  return v;
}
Value Value::parameter(Tensor t) {
  Value v(std::move(t));
  v.parameter_ = true;
  return v;
}
Value Value::storage(Storage storage, DType dtype) {
  Value v;
  v.v_.emplace<static_cast<size_t>(Kind::Storage)>(std::make_shared<BareStorage>(BareStorage{std::move(storage), dtype}));
  return v;
}

std::string Value::type_name() const {
  static const char* names[] = {"NoneType", "bool",  "int",  "float",      "str",          "Tensor", "list",
                                "tuple",    "dict",  "torch.Size", "torch.device", "torch.dtype", "bytes", "storage"};
  if (parameter_) return "Parameter";
  if (is_storage()) return "TypedStorage";
  if (is_dict() && dict().ordered()) return "OrderedDict";
  if (is_dict() && dict().counter()) return "Counter";
  return names[v_.index()];
}

namespace {
[[noreturn]] void wrong_kind(const Value& v, const char* expected) {
  throw ValueError(str("expected a value of type ", expected, ", found ", v.type_name()));
}
}  // namespace

bool Value::to_bool() const {
  if (!is_bool()) wrong_kind(*this, "bool");
  return std::get<bool>(v_);
}
int64_t Value::to_int() const {
  if (!is_int()) wrong_kind(*this, "int");
  return std::get<int64_t>(v_);
}
double Value::to_double() const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(v_));
  if (!is_double()) wrong_kind(*this, "float");
  return std::get<double>(v_);
}
const std::string& Value::to_string() const {
  if (!is_string()) wrong_kind(*this, "str");
  return std::get<std::string>(v_);
}
const Tensor& Value::to_tensor() const {
  if (!is_tensor()) wrong_kind(*this, "Tensor");
  return std::get<Tensor>(v_);
}
List& Value::list() {
  if (!is_list()) wrong_kind(*this, "list");
  return *std::get<std::shared_ptr<List>>(v_);
}
const List& Value::list() const { return const_cast<Value*>(this)->list(); }
std::vector<Value>& Value::tuple() {
  if (!is_tuple()) wrong_kind(*this, "tuple");
  return std::get<std::shared_ptr<Tuple>>(v_)->items;
}
const std::vector<Value>& Value::tuple() const { return const_cast<Value*>(this)->tuple(); }
Dict& Value::dict() {
  if (!is_dict()) wrong_kind(*this, "dict");
  return *std::get<std::shared_ptr<Dict>>(v_);
}
const Dict& Value::dict() const { return const_cast<Value*>(this)->dict(); }
const Shape& Value::torch_size() const {
  if (kind() != Kind::Size) wrong_kind(*this, "torch.Size");
  return std::get<static_cast<size_t>(Kind::Size)>(v_)->size;
}
const std::string& Value::torch_device() const {
  if (kind() != Kind::Device) wrong_kind(*this, "torch.device");
  return std::get<static_cast<size_t>(Kind::Device)>(v_)->name;
}
const std::string& Value::torch_dtype() const {
  if (kind() != Kind::DType) wrong_kind(*this, "torch.dtype");
  return std::get<static_cast<size_t>(Kind::DType)>(v_)->name;
}
const std::string& Value::to_bytes() const {
  if (kind() != Kind::Bytes) wrong_kind(*this, "bytes");
  return std::get<static_cast<size_t>(Kind::Bytes)>(v_)->name;
}
const Storage& Value::storage() const {
  if (kind() != Kind::Storage) wrong_kind(*this, "storage");
  return std::get<static_cast<size_t>(Kind::Storage)>(v_)->storage;
}
Tensor Value::storage_as_tensor() const {
  int64_t numel = static_cast<int64_t>(storage().nbytes() / element_size(storage_dtype()));
  return Tensor::make(storage(), {numel}, {1}, 0, storage_dtype());
}
DType Value::storage_dtype() const {
  if (kind() != Kind::Storage) wrong_kind(*this, "storage");
  return std::get<static_cast<size_t>(Kind::Storage)>(v_)->dtype;
}

Value& Value::operator[](const Key& key) { return dict()[key]; }
const Value& Value::at(const Key& key) const { return dict().at(key); }
bool Value::contains(const Key& key) const { return is_dict() && dict().contains(key); }

const Value& Value::at_index(size_t i) const {
  const std::vector<Value>& items = is_list() ? list() : tuple();
  EMBER_CHECK_INDEX(i < items.size(), "index ", i, " out of range for a ", type_name(), " of ", items.size(),
                    " items");
  return items[i];
}

size_t Value::size() const {
  if (is_list()) return list().size();
  if (is_tuple()) return tuple().size();
  if (is_dict()) return dict().size();
  wrong_kind(*this, "list, tuple or dict");
}

std::string Dict::index_key(const Key& k) { return k.is_string() ? "s" + k.str() : "i" + std::to_string(k.to_int()); }

Value* Dict::find(const Key& key) {
  auto it = index_.find(index_key(key));
  return it == index_.end() ? nullptr : &items_[it->second].second;
}
const Value* Dict::find(const Key& key) const { return const_cast<Dict*>(this)->find(key); }

const Value& Dict::at(const Key& key) const {
  const Value* v = find(key);
  EMBER_CHECK_VALUE(v != nullptr, "missing key ", key.repr());
  return *v;
}

Value& Dict::operator[](const Key& key) {
  if (Value* v = find(key)) return *v;
  index_[index_key(key)] = items_.size();
  items_.emplace_back(key, Value());
  return items_.back().second;
}

void Dict::insert(const Key& key, Value value) { (*this)[key] = std::move(value); }

bool Dict::erase(const Key& key) {
  auto it = index_.find(index_key(key));
  if (it == index_.end()) return false;
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (size_t i = 0; i < items_.size(); ++i) index_[index_key(items_[i].first)] = i;
  return true;
}

void Dict::clear() {
  items_.clear();
  index_.clear();
  attributes = nullptr;
}

std::vector<std::string> Dict::string_keys() const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : items_) keys.push_back(k.is_string() ? k.str() : std::to_string(k.to_int()));
  return keys;
}

void release(Value& root) {
  std::vector<Value> pending{root};
  root = Value();
  while (!pending.empty()) {
    Value v = std::move(pending.back());
    pending.pop_back();
    if (v.is_list()) {
      for (Value& x : v.list()) pending.push_back(std::move(x));
      v.list().clear();
    } else if (v.is_tuple()) {
      for (Value& x : v.tuple()) pending.push_back(std::move(x));
      v.tuple().clear();
    } else if (v.is_dict()) {
      for (auto& [k, x] : v.dict()) pending.push_back(std::move(x));
      if (v.dict().attributes)
        for (auto& [k, x] : *v.dict().attributes) pending.push_back(std::move(x));
      v.dict().clear();
    }
  }
}

std::string summary(const Value& v) {
  std::ostringstream os;
  switch (v.kind()) {
    case Value::Kind::None: os << "None"; break;
    case Value::Kind::Bool: os << (v.to_bool() ? "True" : "False"); break;
    case Value::Kind::Int: os << v.to_int(); break;
    case Value::Kind::Double: os << v.to_double(); break;
    case Value::Kind::String: os << "'" << v.to_string() << "'"; break;
    case Value::Kind::Tensor: os << (v.is_parameter() ? "Parameter[" : "Tensor[") << v.to_tensor().dtype() << ", " << v.to_tensor().sizes() << "]"; break;
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      const auto& items = v.is_list() ? v.list() : v.tuple();
      os << (v.is_list() ? '[' : '(');
      for (size_t i = 0; i < items.size(); ++i) os << (i ? ", " : "") << summary(items[i]);
      os << (v.is_list() ? ']' : ')');
      break;
    }
    case Value::Kind::Dict: {
      os << '{';
      bool first = true;
      for (const auto& [k, item] : v.dict()) {
        os << (first ? "" : ", ") << k.repr() << ": " << summary(item);
        first = false;
      }
      os << '}';
      break;
    }
    case Value::Kind::Size: os << "torch.Size(" << v.torch_size() << ")"; break;
    case Value::Kind::Device: os << "device('" << v.torch_device() << "')"; break;
    case Value::Kind::DType: os << "torch." << v.torch_dtype(); break;
    case Value::Kind::Bytes: {  // as Python prints it, up to 64 bytes
      const std::string& b = v.to_bytes();
      os << "b'";
      for (size_t i = 0; i < std::min<size_t>(b.size(), 64); ++i) {
        unsigned char c = static_cast<unsigned char>(b[i]);
        if (c == '\\' || c == '\'') os << '\\' << c;
        else if (c >= 32 && c < 127) os << c;
        else os << "\\x" << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
      }
      os << (b.size() > 64 ? str("'... (", b.size(), " bytes)") : std::string("'"));
      break;
    }
    case Value::Kind::Storage:
      os << "TypedStorage[" << v.storage_dtype() << ", " << v.storage().nbytes() / element_size(v.storage_dtype()) << "]";
      break;
  }
  return os.str();
}

}  // namespace ember::io
