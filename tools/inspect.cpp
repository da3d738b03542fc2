// ember inspect: a readable tree or JSON of what a checkpoint holds.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/serialize.h"
#include "jit/onnx/onnx.h"
#include "tools/commands.h"

namespace ember::tools {

namespace {

// Where the file says a tensor lives ("cuda:0" for a GPU checkpoint read on this CPU).
std::string location_of(const Tensor& t) {
  const std::string& saved = t.storage().saved_location();
  return saved.empty() ? t.device().str() : saved;
}

using json = nlohmann::ordered_json;

// Storages in order of first appearance, with the path that first used each.
struct StorageTable {
  std::map<const void*, int64_t> index;
  std::vector<std::pair<std::string, Tensor>> first;
  int64_t key(const Tensor& t, const std::string& path) {
    auto [it, inserted] = index.emplace(t.storage().id(), static_cast<int64_t>(first.size()));
    if (inserted) first.emplace_back(path, t);
    return it->second;
  }
  uint64_t total_bytes() const {
    uint64_t n = 0;
    for (const auto& [path, t] : first) n += t.storage().nbytes();
    return n;
  }
};

std::string human_bytes(uint64_t n) {
  std::ostringstream os;
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  os << std::setprecision(u ? 3 : 0) << std::fixed << v << " " << units[u];
  return os.str();
}

std::string key_text(const io::Key& k) { return k.repr(); }


void tree(const io::Value& v, const std::string& path, const std::string& indent, StorageTable& storages, std::ostream& os) {
  switch (v.kind()) {
    case io::Value::Kind::Tensor: {
      const Tensor& t = v.to_tensor();
      size_t before = storages.first.size();
      int64_t key = storages.key(t, path);
      os << (v.is_parameter() ? "Parameter " : "Tensor ") << t.dtype() << " " << t.sizes() << " " << location_of(t);
      if (!t.is_contiguous()) os << " stride " << t.strides();
      if (t.storage_offset()) os << " offset " << t.storage_offset();
      if (t.requires_grad()) os << " requires_grad";
      if (storages.first.size() == before) os << "  (shares storage " << key << " with " << storages.first[key].first << ")";
      os << "\n";
      return;
    }
    case io::Value::Kind::Dict:
    case io::Value::Kind::List:
    case io::Value::Kind::Tuple: {
      size_t n = v.size();
      os << v.type_name() << " (" << n << (n == 1 ? " item" : " items") << ")\n";
      std::vector<std::pair<std::string, const io::Value*>> children;
      if (v.is_dict())
        for (const auto& [k, item] : v.dict()) children.emplace_back(key_text(k), &item);
      else
        for (size_t i = 0; i < n; ++i) children.emplace_back("[" + std::to_string(i) + "]", &v.at_index(i));
      for (size_t i = 0; i < children.size(); ++i) {
        bool last = i + 1 == children.size();
        os << indent << (last ? "└── " : "├── ") << children[i].first << ": ";
        std::string child_path = path + (v.is_dict() ? "[" + children[i].first + "]" : children[i].first);
        tree(*children[i].second, child_path, indent + (last ? "    " : "│   "), storages, os);
      }
      return;
    }
    case io::Value::Kind::Storage: {
      Tensor t = v.storage_as_tensor();
      size_t before = storages.first.size();
      int64_t key = storages.key(t, path);
      os << "TypedStorage " << t.dtype() << " [" << t.numel() << "] " << location_of(t);
      if (storages.first.size() == before) os << "  (storage " << key << ", shared with " << storages.first[key].first << ")";
      os << "\n";
      return;
    }
    default:
      os << v.type_name() << " " << io::summary(v) << "\n";
  }
}

json number(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return d;
}

// The elements in row-major order as JSON numbers.
json tensor_values(const Tensor& t) {
  json vals = json::array();
  Tensor c = t.to(kCPU);
  if (is_complex(t.dtype())) {  // [real, imaginary] pairs
    std::vector<double> parts = c.view_as_real().to_vector<double>();
    for (size_t i = 0; i + 1 < parts.size(); i += 2) vals.push_back(json::array({number(parts[i]), number(parts[i + 1])}));
  } else if (t.dtype() == kBool) {
    for (bool b : c.to_vector<bool>()) vals.push_back(b);
  } else if (is_integral(t.dtype())) {
    for (int64_t x : c.to_vector<int64_t>()) vals.push_back(x);
  } else {
    for (double x : c.to_vector<double>()) vals.push_back(number(x));  // float16/bfloat16 convert exactly
  }
  return vals;
}

json to_json(const io::Value& v, const std::string& path, StorageTable& storages, bool values) {
  switch (v.kind()) {
    case io::Value::Kind::None: return {{"type", "none"}};
    case io::Value::Kind::Bool: return {{"type", "bool"}, {"value", v.to_bool()}};
    case io::Value::Kind::Int: return {{"type", "int"}, {"value", v.to_int()}};
    case io::Value::Kind::Double: return {{"type", "float"}, {"value", number(v.to_double())}};
    case io::Value::Kind::String: return {{"type", "str"}, {"value", v.to_string()}};
    case io::Value::Kind::Size: return {{"type", "torch.Size"}, {"value", v.torch_size()}};
    case io::Value::Kind::Device: return {{"type", "torch.device"}, {"value", v.torch_device()}};
    case io::Value::Kind::DType: return {{"type", "torch.dtype"}, {"value", v.torch_dtype()}};
    case io::Value::Kind::Bytes: {
      std::string hex;
      for (unsigned char c : v.to_bytes()) hex += {"0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
      return {{"type", "bytes"}, {"length", v.to_bytes().size()}, {"hex", hex}};
    }
    case io::Value::Kind::Storage: {
      Tensor t = v.storage_as_tensor();
      json j = {{"type", "storage"}, {"dtype", dtype_name(t.dtype())}, {"numel", t.numel()}, {"storage", storages.key(t, path)},
                {"location", location_of(t)}};
      if (values) j["values"] = tensor_values(t);
      return j;
    }
    case io::Value::Kind::Tensor: {
      const Tensor& t = v.to_tensor();
      json j = {{"type", v.is_parameter() ? "parameter" : "tensor"}, {"dtype", dtype_name(t.dtype())}, {"shape", t.sizes()}, {"stride", t.strides()},
                {"storage_offset", t.storage_offset()}, {"storage", storages.key(t, path)}, {"location", location_of(t)},
                {"requires_grad", t.requires_grad()}};
      if (values) j["values"] = tensor_values(t);
      return j;
    }
    case io::Value::Kind::List:
    case io::Value::Kind::Tuple: {
      json items = json::array();
      for (size_t i = 0; i < v.size(); ++i) items.push_back(to_json(v.at_index(i), path + "[" + std::to_string(i) + "]", storages, values));
      return {{"type", v.is_list() ? "list" : "tuple"}, {"items", std::move(items)}};
    }
    case io::Value::Kind::Dict: {
      json items = json::array();
      for (const auto& [k, item] : v.dict()) {
        json key = k.is_string() ? json(k.str()) : json(k.to_int());  // int keys are JSON numbers
        items.push_back(json::array({key, to_json(item, path + "[" + k.repr() + "]", storages, values)}));
      }
      json j = {{"type", v.dict().ordered() ? "ordered_dict" : v.dict().counter() ? "counter" : "dict"}, {"items", std::move(items)}};
      if (v.dict().attributes && !v.dict().attributes->empty())
        j["attributes"] = to_json(io::Value(*v.dict().attributes), path + ".attributes", storages, values)["items"];
      return j;
    }
  }
  return nullptr;
}

}  // namespace

int inspect(const std::vector<std::string>& args) {
  std::string file;
  bool as_json = false, values = false;
  for (const std::string& a : args) {
    if (a == "--json") as_json = true;
    else if (a == "--values") values = true;
    else if (!a.empty() && a[0] == '-') throw UsageError{"unknown option " + a};
    else if (file.empty()) file = a;
    else throw UsageError{"expected one FILE"};
  }
  if (file.empty()) throw UsageError{"expected a FILE"};
  if (values && !as_json) throw UsageError{"--values needs --json"};
  if (jit::looks_like_onnx(file)) return inspect_graph(file);
  std::string format = io::detect_format(file);
  io::Value v = io::load(file, io::LoadOptions().keep_saved_locations());  // any file, on any build
  StorageTable storages;
  if (as_json) {
    json object = to_json(v, "root", storages, values);
    json storage_list = json::array();
    for (size_t i = 0; i < storages.first.size(); ++i) {
      const Tensor& t = storages.first[i].second;
      storage_list.push_back({{"storage", i}, {"dtype", dtype_name(t.dtype())}, {"nbytes", t.storage().nbytes()},
                              {"location", location_of(t)}, {"first_used_by", storages.first[i].first}});
    }
    json out = {{"file", file}, {"format", format}, {"total_bytes", storages.total_bytes()},
                {"storages", std::move(storage_list)}, {"object", std::move(object)}};
    std::cout << out.dump(1) << "\n";
    return 0;
  }
  std::ostringstream body;
  tree(v, "root", "", storages, body);
  std::cout << file << ": " << format << ", " << storages.first.size() << " storage(s), "
            << human_bytes(storages.total_bytes()) << " of tensor data\n"
            << body.str();
  return 0;
}

}  // namespace ember::tools
