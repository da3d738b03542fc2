// torch.save's zip format: data.pkl (protocol 2, the opcodes Python's pickler uses), one record per
// storage in the order the pickler meets them, 64-byte aligned, and the records PyTorch 2.x adds.
#include <unordered_map>

#include "io/pickle.h"
#include "io/torch_format.h"
#include "io/zip.h"

namespace ember::io {

namespace {

class TorchPickler {
 public:
  Pickler p;
  struct Saved {
    Storage storage;
    DType dtype;
    int64_t numel;
  };
  std::vector<Saved> storages;  // index = key

  void write(const Value& v, int depth) {
    EMBER_CHECK_VALUE(depth < 1000, "save: values nested deeper than 1000 levels");
    switch (v.kind()) {
      case Value::Kind::None: return p.none();
      case Value::Kind::Bool: return p.boolean(v.to_bool());
      case Value::Kind::Int: return p.integer(v.to_int());
      case Value::Kind::Double: return p.floating(v.to_double());
      case Value::Kind::String: return p.string(v.to_string());
      case Value::Kind::Tensor: return v.is_parameter() ? parameter(v.to_tensor()) : tensor(v.to_tensor());
      case Value::Kind::Bytes: return bytes(v.to_bytes());
      case Value::Kind::Storage: return persistent_id(storage_key(v.storage(), v.storage_dtype()));
      case Value::Kind::List: {
        p.empty_list();
        batched(v.list(), depth, [&](const Value& item) { write(item, depth + 1); });
        return;
      }
      case Value::Kind::Tuple: {
        const auto& items = v.tuple();
        if (items.size() > 3) p.mark();
        for (const Value& item : items) write(item, depth + 1);
        return p.tuple(items.size());
      }
      case Value::Kind::Dict: return dict(v.dict(), depth);
      case Value::Kind::Size: {
        p.global("torch", "Size");
        const Shape& s = v.torch_size();
        if (s.size() > 3) p.mark();
        for (int64_t d : s) p.integer(d);
        p.tuple(s.size());
        p.tuple(1);
        return p.reduce();
      }
      case Value::Kind::Device: {
        p.global("torch", "device");
        Device d(v.torch_device());
        p.string(d.is_cpu() ? "cpu" : "cuda");
        if (d.is_cuda()) p.integer(d.index);
        p.tuple(d.is_cpu() ? 1 : 2);
        return p.reduce();
      }
      case Value::Kind::DType: return p.global("torch", v.torch_dtype());
    }
  }

 private:
  std::unordered_map<const void*, uint32_t> storage_keys_;
  std::unordered_map<const TensorImpl*, uint32_t> tensor_memo_, parameter_memo_;
  uint32_t next_memo_ = 0;

  template <class Items, class F>
  void batched(const Items& items, int, F each) {  // MARK ... APPENDS in batches of 1000, as Python
    for (size_t i = 0; i < items.size(); i += 1000) {
      p.mark();
      for (size_t j = i; j < std::min(items.size(), i + 1000); ++j) each(items[j]);
      p.appends();
    }
  }

  void dict(const Dict& d, int depth) {
    if (d.ordered()) {
      p.global("collections", "OrderedDict");
      p.tuple(0);
      p.reduce();
    } else {
      if (d.counter()) p.global("collections", "Counter");  // Counter({...}), as Counter.__reduce__
      p.empty_dict();
    }
    std::vector<const Dict::Item*> items;
    for (const auto& item : d) items.push_back(&item);
    for (size_t i = 0; i < items.size(); i += 1000) {
      p.mark();
      for (size_t j = i; j < std::min(items.size(), i + 1000); ++j) {
        const Key& k = items[j]->first;
        if (k.is_string()) p.string(k.str());
        else p.integer(k.to_int());
        write(items[j]->second, depth + 1);
      }
      p.setitems();
    }
    if (d.counter()) {
      p.tuple(1);
      p.reduce();
    }
    if (d.attributes && !d.attributes->empty()) {  // OrderedDict attributes (_metadata) via BUILD
      Dict attrs = *d.attributes;
      write(Value(std::move(attrs)), depth + 1);
      p.build();
    }
  }

  uint32_t storage_key(const Storage& storage, DType dtype) {
    auto it = storage_keys_.find(storage.id());
    if (it != storage_keys_.end()) {
      EMBER_CHECK_VALUE(storages[it->second].dtype == dtype, "save: one storage is viewed as both ", storages[it->second].dtype,
                        " and ", dtype, "; a storage can be saved under one dtype only");
      return it->second;
    }
    uint32_t key = static_cast<uint32_t>(storages.size());
    storage_keys_[storage.id()] = key;
    storages.push_back({storage, dtype, static_cast<int64_t>(storage.nbytes() / element_size(dtype))});
    return key;
  }

  // ('storage', class, key, location, numel), by reference to its record: a storage, wherever it appears.
  // PyTorch 2.x's newer dtypes have no storage class: torch.UntypedStorage, numel counted in bytes.
  void persistent_id(uint32_t key) {
    const Saved& s = storages[key];
    bool untyped = needs_untyped_storage(s.dtype);
    p.mark();
    p.string("storage");
    p.global("torch", untyped ? "UntypedStorage" : storage_class_name(s.dtype));
    p.string(std::to_string(key));
    const std::string& saved = s.storage.saved_location();
    p.string(saved.empty() ? s.storage.device().str() : saved);
    p.integer(untyped ? s.numel * static_cast<int64_t>(element_size(s.dtype)) : s.numel);
    p.op('t');
    p.binpersid();
  }

  // Python bytes as protocol 2 pickles them: bytes() for b'', else _codecs.encode(latin-1 text, 'latin1').
  void bytes(const std::string& b) {
    if (b.empty()) {
      p.global("__builtin__", "bytes");
      p.tuple(0);
      return p.reduce();
    }
    std::string text;  // each octet as the code point of the same value, in UTF-8
    for (unsigned char c : b) {
      if (c < 0x80) {
        text += static_cast<char>(c);
      } else {
        text += static_cast<char>(0xC0 | (c >> 6));
        text += static_cast<char>(0x80 | (c & 0x3F));
      }
    }
    p.global("_codecs", "encode");
    p.string(text);
    p.string("latin1");
    p.tuple(2);
    p.reduce();
  }

  // nn.Parameter: _rebuild_parameter(data, requires_grad, OrderedDict()), its data saved as a
  // plain tensor (as Parameter.__reduce_ex__ does).
  void parameter(const Tensor& t) {
    if (auto it = parameter_memo_.find(t.impl()); it != parameter_memo_.end()) return p.memo_get(it->second);
    p.global("torch._utils", "_rebuild_parameter");
    tensor(t, /*requires_grad=*/false, /*memoize=*/false);
    p.boolean(t.requires_grad());
    p.global("collections", "OrderedDict");
    p.tuple(0);
    p.reduce();
    p.tuple(3);
    p.reduce();
    uint32_t memo = next_memo_++;
    p.memo_put(memo);
    parameter_memo_[t.impl()] = memo;
  }

  void tensor(const Tensor& t) { tensor(t, t.requires_grad(), true); }
  void tensor(const Tensor& t, bool requires_grad, bool memoize) {
    if (auto it = tensor_memo_.find(t.impl()); memoize && it != tensor_memo_.end()) return p.memo_get(it->second);
    uint32_t key = storage_key(t.storage(), t.dtype());
    // As torch 2.x: _rebuild_tensor_v3(untyped storage, offset, size, stride, requires_grad, hooks,
    // dtype) for the dtypes without a storage class, _rebuild_tensor_v2 for the rest.
    const bool v3 = needs_untyped_storage(t.dtype());
    p.global("torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2");
    p.mark();
    persistent_id(key);
    p.integer(t.storage_offset());
    auto shape_tuple = [&](const Shape& s) {
      if (s.size() > 3) p.mark();
      for (int64_t x : s) p.integer(x);
      p.tuple(s.size());
    };
    shape_tuple(t.sizes());
    shape_tuple(t.strides());
    p.boolean(requires_grad);
    p.global("collections", "OrderedDict");
    p.tuple(0);
    p.reduce();
    if (v3) p.global("torch", dtype_name(t.dtype()));
    p.op('t');
    p.reduce();
    if (!memoize) return;
    uint32_t memo = next_memo_++;
    p.memo_put(memo);
    tensor_memo_[t.impl()] = memo;
  }
};

void add_text(ZipWriter& zip, const std::string& name, const std::string& text) { zip.add(name, text.data(), text.size()); }

}  // namespace

void save_torch(const Value& value, ByteSink& sink, const std::string& prefix) {
  TorchPickler tp;
  tp.p.proto();
  tp.write(value, 0);
  tp.p.stop();
  ZipWriter zip(sink);
  zip.add(prefix + "/data.pkl", tp.p.bytes.data(), tp.p.bytes.size());
  add_text(zip, prefix + "/.format_version", "1");
  add_text(zip, prefix + "/.storage_alignment", "64");
  add_text(zip, prefix + "/byteorder", "little");
  for (size_t key = 0; key < tp.storages.size(); ++key) {
    const auto& s = tp.storages[key];
    uint64_t nbytes = static_cast<uint64_t>(s.numel) * element_size(s.dtype);
    if (s.storage.device().is_cpu()) {
      zip.add(prefix + "/data/" + std::to_string(key), s.storage.data(), nbytes);
    } else {  // device memory: stage through the host
      Tensor host = Tensor::make(s.storage, {s.numel}, {1}, 0, s.dtype).to(kCPU);
      zip.add(prefix + "/data/" + std::to_string(key), host.data(), nbytes);
    }
  }
  add_text(zip, prefix + "/version", "3\n");
  zip.finish();
}

}  // namespace ember::io
