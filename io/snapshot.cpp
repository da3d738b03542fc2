#include "io/snapshot.h"

#include <cstring>
#include <unordered_map>

namespace ember::io {

namespace {

struct Copier {
  std::unordered_map<const void*, Storage> copies;
  std::unordered_map<const TensorImpl*, Tensor> tensors;  // the same tensor twice stays one object

  Tensor tensor(const Tensor& t) {
    if (auto it = tensors.find(t.impl()); it != tensors.end()) return it->second;
    auto [it, inserted] = copies.try_emplace(t.storage().id());
    if (inserted) {
      const Storage& src = t.storage();
      Storage host = Storage::allocate(src.nbytes(), kCPU);
      if (src.device().is_cpu()) {
        if (src.nbytes()) std::memcpy(host.data(), src.data(), src.nbytes());
      } else {
        int64_t n = static_cast<int64_t>(src.nbytes() / t.element_size());
        Tensor h = Tensor::make(src, {n}, {1}, 0, t.dtype()).to(kCPU);
        std::memcpy(host.data(), h.data(), src.nbytes());
      }
      // A device storage staged to the host is still saved with its device's location.
      host.set_saved_location(!src.saved_location().empty() ? src.saved_location()
                              : src.device().is_cpu()        ? std::string()
                                                             : src.device().str());
      it->second = host;
    }
    Tensor copy = Tensor::make(it->second, t.sizes(), t.strides(), t.storage_offset(), t.dtype());
    copy.impl()->requires_grad = t.requires_grad();
    tensors[t.impl()] = copy;
    return copy;
  }

  Value value(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::Tensor: return v.is_parameter() ? Value::parameter(tensor(v.to_tensor())) : Value(tensor(v.to_tensor()));
      case Value::Kind::Storage: return Value::storage(tensor(v.storage_as_tensor()).storage(), v.storage_dtype());
      case Value::Kind::List: {
        List l;
        for (const Value& x : v.list()) l.push_back(value(x));
        return l;
      }
      case Value::Kind::Tuple: {
        Tuple t;
        for (const Value& x : v.tuple()) t.items.push_back(value(x));
        return t;
      }
      case Value::Kind::Dict: {
        Dict d(v.dict().ordered());
        d.set_counter(v.dict().counter());
        for (const auto& [k, x] : v.dict()) d.insert(k, value(x));
        if (v.dict().attributes) d.attributes = std::make_shared<Dict>(value(Value(*v.dict().attributes)).dict());
        return d;
      }
      default: return v;  // scalars are immutable
    }
  }
};

void count(const Value& v, std::unordered_map<const void*, uint64_t>& seen) {
  if (v.is_tensor()) seen.emplace(v.to_tensor().storage().id(), v.to_tensor().storage().nbytes());
  else if (v.is_list() || v.is_tuple())
    for (size_t i = 0; i < v.size(); ++i) count(v.at_index(i), seen);
  else if (v.is_dict())
    for (const auto& [k, x] : v.dict()) count(x, seen);
}

}  // namespace

Value snapshot(const Value& value) { return Copier().value(value); }

uint64_t snapshot_bytes(const Value& value) {
  std::unordered_map<const void*, uint64_t> seen;
  count(value, seen);
  uint64_t n = 0;
  for (const auto& [id, bytes] : seen) n += bytes;
  return n;
}

}  // namespace ember::io
